"""Verify an incoming request's HTTP signature: RFC 9421 when `Signature-Input` is present (as Fedify
sends first), draft-cavage otherwise (as Mastodon sends). bovine's verifier is bypassed on both
paths: it drops the query from `(request-target)` and crashes on `Signature-Input` with current
http-sf, so RFC 9421 goes to `http-message-signatures`."""

from __future__ import annotations

import datetime
import functools
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum
from urllib.parse import urlsplit

from http_message_signatures import HTTPMessageVerifier, InvalidSignature, algorithms
from http_message_signatures.resolvers import HTTPSignatureKeyResolver
from http_message_signatures.signatures import HTTPSignatureHandler

from activities.httpsig import (
    SignatureFormatError,
    digest_header,
    parse_signature_header,
    rsa_verify,
    signing_string,
)
from inbox.directory import PublicKey
from inbox.errors import FetchError, Unauthorized, unfetchable

MAX_AGE = 12 * 3600
CLOCK_SKEW = 3600

KeyLookup = Callable[..., Awaitable[PublicKey]]


class Scheme(Enum):
    CAVAGE = "draft-cavage"
    RFC9421 = "rfc9421"


@dataclass(frozen=True)
class Verified:
    key_id: str
    owner: str
    scheme: Scheme


@dataclass(frozen=True)
class SignedRequest:
    method: str
    url: str  # the absolute URL as the sender addressed it
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


async def verify(request: SignedRequest, lookup: KeyLookup, now: float) -> Verified:
    """Verify, re-fetching the key once when the cached one fails (the sender may have rotated it)."""
    if "signature-input" in request.headers:
        return await _verify_rfc9421(request, lookup, now)
    if "signature" in request.headers:
        return await _verify_cavage(request, lookup, now)
    raise Unauthorized("the request is not signed")


async def _key(lookup: KeyLookup, key_id: str, refresh: bool) -> PublicKey:
    try:
        return await lookup(key_id, refresh=refresh)
    except FetchError as exc:
        raise Unauthorized(unfetchable(f"key {key_id}", exc)) from None


async def _verify_cavage(request: SignedRequest, lookup: KeyLookup, now: float) -> Verified:
    try:
        signature = parse_signature_header(request.headers["signature"])
    except SignatureFormatError as exc:
        raise Unauthorized(str(exc)) from None
    fields = signature.headers
    if "(request-target)" not in fields:
        raise Unauthorized("the signature must cover (request-target)")
    if "host" not in fields:
        raise Unauthorized("the signature must cover host")
    if not _is_our_authority(request.headers.get("host", ""), request.url):
        # A signature captured from a delivery to another server would verify here as well.
        raise Unauthorized("the signed host is not this server's")
    if request.method == "POST" and "digest" not in fields:
        raise Unauthorized("a POST signature must cover digest")
    _check_time(request, signature.created, signature.expires, fields, now)
    if "digest" in fields:
        _check_digest(request)
    try:
        message = signing_string(
            fields,
            method=request.method,
            path=request.path,
            query=request.query,
            headers=dict(request.headers),
            created=signature.created,
            expires=signature.expires,
        ).encode()
    except KeyError as exc:
        raise Unauthorized(f"signed header {exc.args[0]} is missing") from None
    for refresh in (False, True):
        key = await _key(lookup, signature.key_id, refresh)
        if rsa_verify(key.key, signature.signature, message):
            return Verified(key.key_id, key.owner, Scheme.CAVAGE)
    raise Unauthorized("the signature does not verify")


@functools.lru_cache(maxsize=256)
def _is_our_authority(host: str, our_url: str) -> bool:
    """Cached: a peer is addressed under a handful of Host values (the parsing cost more than the check)."""
    ours = urlsplit(our_url)
    default = {"http": 80, "https": 443}.get(ours.scheme)
    try:
        theirs = urlsplit(f"{ours.scheme}://{host.strip()}")
        return (theirs.hostname, theirs.port or default) == (ours.hostname, ours.port or default)
    except ValueError:
        return False


def _check_time(
    request: SignedRequest, created: int | None, expires: int | None, fields: tuple[str, ...], now: float
) -> None:
    if "(created)" in fields and created is not None:
        sent = float(created)
    elif "date" in fields and "date" in request.headers:
        sent = _date_seconds(request.headers["date"])
    else:
        raise Unauthorized("the signature must cover date or (created)")
    _check_window(sent, now)
    if expires is not None and expires < now - CLOCK_SKEW:
        raise Unauthorized("the signature has expired")


@functools.lru_cache(maxsize=64)
def _date_seconds(date: str) -> float:
    """Senders under load date many requests alike: parse each Date once."""
    try:
        return parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        raise Unauthorized("the Date header is malformed") from None


def _check_window(sent: float, now: float) -> None:
    if sent > now + CLOCK_SKEW:
        raise Unauthorized("the signature is dated in the future")
    if sent < now - MAX_AGE - CLOCK_SKEW:
        raise Unauthorized("the signature is too old")


def _check_digest(request: SignedRequest) -> None:
    claimed = request.headers.get("digest", "")
    expected = digest_header(request.body)
    for part in claimed.split(","):
        algorithm, _, value = part.strip().partition("=")
        if algorithm.lower() == "sha-256":
            if hmac.compare_digest(f"SHA-256={value}", expected):
                return
            raise Unauthorized("the Digest does not match the body")
    raise Unauthorized("the Digest header must carry SHA-256")


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key_id: str, key: PublicKey) -> None:
        self.key_id, self.key = key_id, key

    def resolve_public_key(self, key_id: str) -> object:
        return self.key.key if key_id == self.key_id else None


class _Message:
    """The request shape `http-message-signatures` reads."""

    def __init__(self, request: SignedRequest) -> None:
        self.method = request.method.upper()
        self.url = request.url
        self.headers = dict(request.headers)


async def _verify_rfc9421(request: SignedRequest, lookup: KeyLookup, now: float) -> Verified:
    try:
        inputs = HTTPSignatureHandler._parse_signature_dictionary(request.headers["signature-input"])
        if len(inputs) != 1:
            raise Unauthorized("expected exactly one RFC 9421 signature")
        (params,) = [member.params for member in inputs.values()]
        key_id = params.get("keyid")
        created = params.get("created")
    except Unauthorized:
        raise
    except Exception:
        raise Unauthorized("Signature-Input is malformed") from None
    if not isinstance(key_id, str) or not isinstance(created, int):
        raise Unauthorized("Signature-Input needs keyid and created")
    _check_window(float(created), now)
    required = ["@method", "@target-uri"] + (["content-digest"] if request.method == "POST" else [])
    for refresh in (False, True):
        key = await _key(lookup, key_id, refresh)
        verifier = HTTPMessageVerifier(
            signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=_OneKey(key_id, key)
        )
        verifier.max_clock_skew = datetime.timedelta(seconds=CLOCK_SKEW)
        try:
            verifier.verify(
                _Message(request),
                max_age=datetime.timedelta(seconds=MAX_AGE),
                require_components=required,
                body=request.body if request.method == "POST" else None,
            )
        except InvalidSignature as exc:
            reason = str(exc)
            if "digest" in reason.lower():
                raise Unauthorized(f"the Content-Digest does not match: {reason}") from None
            continue
        except Exception as exc:
            raise Unauthorized(f"the RFC 9421 signature is malformed: {exc}") from None
        return Verified(key.key_id, key.owner, Scheme.RFC9421)
    raise Unauthorized("the signature does not verify")
