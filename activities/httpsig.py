"""HTTP signatures as pure functions: the draft-cavage signing string, header parsing, digests.

Sending, key look-up and the clock live elsewhere; this module only computes and checks bytes.
bovine's verifier is not used: it drops the query string from `(request-target)`. Nor are its small
helpers imported here, because importing any part of bovine loads its aiohttp client (about a second of
every process start); the signing string is the same `name: value` lines bovine's HttpSignature builds.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNED_POST_HEADERS = ("(request-target)", "host", "date", "digest", "content-type")
SIGNED_GET_HEADERS = ("(request-target)", "host", "date", "accept")
ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})

_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))\s*(?:,|$)')


class SignatureFormatError(ValueError):
    """A Signature header that cannot be parsed."""


@dataclass(frozen=True)
class CavageSignature:
    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None


def digest_header(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


@functools.lru_cache(maxsize=32)
def _outgoing_digest(body: bytes) -> str:
    """A fan-out sends one body to many inboxes: hash it once (bytes cache their own hash for the look-up)."""
    return digest_header(body)


def content_digest_header(body: bytes) -> str:
    """RFC 9530 Content-Digest."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def parse_signature_header(header: str) -> CavageSignature:
    if len(header) > 8192:
        raise SignatureFormatError("Signature header too long")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(header):
        match = _PARAM.match(header, pos)
        if not match or match.end() == pos:
            raise SignatureFormatError('Signature header is not a list of key="value" pairs')
        params[match.group(1)] = match.group(2) if match.group(2) is not None else match.group(3)
        pos = match.end()
    for required in ("keyId", "signature"):
        if not params.get(required):
            raise SignatureFormatError(f"Signature header lacks {required}")
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in ALGORITHMS:
        raise SignatureFormatError(f"unsupported signature algorithm {algorithm}")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
        created = int(params["created"]) if params.get("created") else None
        expires = int(params["expires"]) if params.get("expires") else None
    except ValueError:
        raise SignatureFormatError("Signature header has a malformed value") from None
    headers = tuple(params.get("headers", "(created)" if created else "date").lower().split())
    return CavageSignature(params["keyId"], algorithm, headers, signature, created, expires)


def request_target(method: str, path: str, query: str) -> str:
    return f"{method.lower()} {path}{'?' + query if query else ''}"


def signing_string(
    fields: tuple[str, ...],
    *,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """The draft-cavage string. `headers` maps lower-case names to values; a missing one raises KeyError."""
    lines = []
    for name in fields:
        if name == "(request-target)":
            value = request_target(method, path, query)
        elif name == "(created)":
            if created is None:
                raise KeyError("(created)")
            value = str(created)
        elif name == "(expires)":
            if expires is None:
                raise KeyError("(expires)")
            value = str(expires)
        else:
            value = headers[name]
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("only RSA keys are supported")
    return key


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("only RSA keys are supported")
    return key


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def rsa_verify(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def sign_headers(
    *,
    key: rsa.RSAPrivateKey,
    key_id: str,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    fields: tuple[str, ...],
) -> str:
    """The Signature header value for a request whose (lower-case) `headers` are already set."""
    message = signing_string(fields, method=method, path=path, query=query, headers=headers)
    signature = base64.b64encode(rsa_sign(key, message.encode())).decode()
    return f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(fields)}",signature="{signature}"'


def http_date(now: float) -> str:
    return _http_date(int(now))


@functools.lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    """A fan-out signs hundreds of requests a second, all dated alike."""
    from email.utils import formatdate

    return formatdate(second, usegmt=True)


@dataclass(frozen=True)
class RequestSigner:
    """Signs outgoing requests as one actor, draft-cavage `rsa-sha256` as Mastodon requires."""

    key_id: str
    private_key: rsa.RSAPrivateKey

    def headers_for(
        self, method: str, url: str, body: bytes | None, now: float, accept: str | None = None
    ) -> dict[str, str]:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        headers = {"host": parts.netloc, "date": http_date(now)}
        if method.upper() == "POST":
            headers["digest"] = _outgoing_digest(body or b"")
            headers["content-type"] = "application/activity+json"
            fields = SIGNED_POST_HEADERS
        else:
            headers["accept"] = accept or "application/activity+json"
            fields = SIGNED_GET_HEADERS
        headers["signature"] = sign_headers(
            key=self.private_key,
            key_id=self.key_id,
            method=method,
            path=parts.path or "/",
            query=parts.query,
            headers=headers,
            fields=fields,
        )
        return headers
