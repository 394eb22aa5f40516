"""HTTP signatures as pure functions: the draft-cavage signing string, the RFC 9421 signature base, header
parsing, digests.

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
from enum import StrEnum
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNED_POST_HEADERS = ("(request-target)", "host", "date", "digest", "content-type")
SIGNED_GET_HEADERS = ("(request-target)", "host", "date", "accept")
ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
RFC9421_POST_COMPONENTS = ("@method", "@target-uri", "@authority", "content-digest")
RFC9421_GET_COMPONENTS = ("@method", "@target-uri", "@authority")
RFC9421_ALGORITHM = "rsa-v1_5-sha256"
RFC9421_LABEL = "sig1"

_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))\s*(?:,|$)')


class SignatureScheme(StrEnum):
    RFC9421 = "rfc9421"
    CAVAGE = "draft-cavage"


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


@functools.lru_cache(maxsize=32)
def _outgoing_content_digest(body: bytes) -> str:
    return content_digest_header(body)


def parse_signature_header(header: str) -> CavageSignature:
    if len(header) > 8192:
        raise SignatureFormatError("Signature header too long")
    params = _signature_params(header)
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


def _signature_params(header: str) -> dict[str, str]:
    """The `key="value"` pairs, each starting where the one before ended and the last at the end."""
    params: dict[str, str] = {}
    pos = 0
    for match in _PARAM.finditer(header):
        if match.start() != pos:
            break
        name, quoted, bare = match.groups()
        params[name] = quoted if quoted is not None else bare
        pos = match.end()
    if pos != len(header):
        raise SignatureFormatError('Signature header is not a list of key="value" pairs')
    return params


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


def authority(scheme: str, netloc: str) -> str:
    """RFC 9421 `@authority`: the host in lower case, the port only when it is not the scheme's default."""
    host, _, port = netloc.rpartition("@")[2].lower().rpartition(":")
    if not host or "]" in port:  # no port, or the tail of an IPv6 literal
        return netloc.rpartition("@")[2].lower()
    return host if port == {"http": "80", "https": "443"}.get(scheme.lower()) else f"{host}:{port}"


def target_uri(url: str) -> str:
    """RFC 9421 `@target-uri`, normalised as receivers rebuild it (WHATWG URL: lower-case scheme and host,
    no default port, `/` for an empty path)."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{authority(parts.scheme, parts.netloc)}{parts.path or '/'}{query}"


def _sf_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def signature_params(components: tuple[str, ...], *, created: int, key_id: str, alg: str = RFC9421_ALGORITHM) -> str:
    inner = " ".join(_sf_string(c) for c in components)
    return f"({inner});created={created};keyid={_sf_string(key_id)};alg={_sf_string(alg)}"


def signature_base(components: tuple[str, ...], *, method: str, url: str, headers: dict[str, str], params: str) -> str:
    """The RFC 9421 signature base for a request. `headers` maps lower-case names to values; a missing one
    raises KeyError."""
    lines = []
    for name in components:
        if name == "@method":
            value = method.upper()
        elif name == "@target-uri":
            value = target_uri(url)
        elif name == "@authority":
            parts = urlsplit(url)
            value = authority(parts.scheme, parts.netloc)
        elif name.startswith("@"):
            raise KeyError(name)
        else:
            value = headers[name].strip()
        lines.append(f"{_sf_string(name)}: {value}")
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines)


@dataclass(frozen=True)
class RequestSigner:
    """Signs outgoing requests as one actor: draft-cavage `rsa-sha256` as Mastodon requires, or RFC 9421
    `rsa-v1_5-sha256` as Fedify (and Mastodon since 2025) prefer."""

    key_id: str
    private_key: rsa.RSAPrivateKey

    def headers_for(
        self,
        method: str,
        url: str,
        body: bytes | None,
        now: float,
        accept: str | None = None,
        scheme: SignatureScheme = SignatureScheme.CAVAGE,
    ) -> dict[str, str]:
        parts = urlsplit(url)
        headers = {"host": parts.netloc, "date": http_date(now)}
        post = method.upper() == "POST"
        if post:
            headers["content-type"] = "application/activity+json"
        else:
            headers["accept"] = accept or "application/activity+json"
        if scheme is SignatureScheme.RFC9421:
            components = RFC9421_POST_COMPONENTS if post else RFC9421_GET_COMPONENTS
            if post:
                headers["content-digest"] = _outgoing_content_digest(body or b"")
            params = signature_params(components, created=int(now), key_id=self.key_id)
            base = signature_base(components, method=method, url=url, headers=headers, params=params)
            signature = base64.b64encode(rsa_sign(self.private_key, base.encode())).decode()
            headers["signature-input"] = f"{RFC9421_LABEL}={params}"
            headers["signature"] = f"{RFC9421_LABEL}=:{signature}:"
            return headers
        if post:
            headers["digest"] = _outgoing_digest(body or b"")
        headers["signature"] = sign_headers(
            key=self.private_key,
            key_id=self.key_id,
            method=method,
            path=parts.path or "/",
            query=parts.query,
            headers=headers,
            fields=SIGNED_POST_HEADERS if post else SIGNED_GET_HEADERS,
        )
        return headers
