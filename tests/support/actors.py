"""A remote actor the tests control: its document and key are served by a real loopback HTTP server
(so the peers under test fetch them the way they fetch any fediverse actor), and it signs requests
for real: draft-cavage through `activities.httpsig`, RFC 9421 through `http-message-signatures`."""

from __future__ import annotations

import base64
import datetime
import functools
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import HTTPSignatureKeyResolver

from activities.httpsig import (
    RequestSigner,
    digest_header,
    http_date,
    load_private_key,
    load_public_key,
    rsa_sign,
    signing_string,
)
from activities.keys import new_key_pair
from activities.vocab import AS_CONTEXT
from inbox.directory import PublicKey
from tests.support.httpserver import FakeServer

AS2 = "application/activity+json"
CAVAGE_POST_FIELDS = ("(request-target)", "host", "date", "digest", "content-type")
RFC9421_POST_COMPONENTS = ("@method", "@target-uri", "content-digest")


@dataclass(frozen=True)
class KeyPair:
    public_pem: str
    private_pem: str

    @functools.cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        return load_private_key(self.private_pem)

    @functools.cached_property
    def public_key(self) -> rsa.RSAPublicKey:
        return load_public_key(self.public_pem)


@functools.cache
def key_pair(index: int) -> KeyPair:
    """RSA-2048 pairs, made once per test session (each takes tens of milliseconds)."""
    public_pem, private_pem = new_key_pair()
    return KeyPair(public_pem, private_pem)


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key

    def resolve_private_key(self, key_id: str) -> rsa.RSAPrivateKey:
        return self.key


class _Message:
    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method, self.url, self.headers = method.upper(), url, headers


class RemoteActor:
    """`/users/<name>` on a FakeServer, with `#main-key`, a personal inbox and (optionally) a shared inbox."""

    def __init__(self, server: FakeServer, name: str, key: KeyPair, *, shared_inbox: bool = True) -> None:
        self.server = server
        self.name = name
        self.key = key
        self.id = server.url(f"/users/{name}")
        self.key_id = f"{self.id}#main-key"
        self.inbox = f"{self.id}/inbox"
        self.shared_inbox = server.url("/inbox") if shared_inbox else None
        self.publish()

    # the served document
    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.name,
            "inbox": self.inbox,
            "outbox": f"{self.id}/outbox",
            "followers": f"{self.id}/followers",
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": self.key.public_pem},
        }
        if self.shared_inbox:
            doc["endpoints"] = {"sharedInbox": self.shared_inbox}
        return doc

    def publish(self) -> None:
        self.server.serve_json(urlsplit(self.id).path, self.document())

    def rotate(self, key: KeyPair) -> None:
        """Serve a new key under the same key id (what a key rotation looks like to a verifier)."""
        self.key = key
        self.publish()

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(self.key_id, self.id, self.key.public_key)

    @property
    def signer(self) -> RequestSigner:
        return RequestSigner(self.key_id, self.key.private_key)

    # activities
    def new_id(self) -> str:
        return self.server.url(f"/activities/{secrets.token_hex(8)}")

    def activity(self, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {"@context": AS_CONTEXT, "id": self.new_id(), "type": kind, "actor": self.id}
        if obj is not None:
            doc["object"] = obj
        doc.update(extra)
        return doc

    # signing
    def cavage_headers(
        self,
        method: str,
        url: str,
        body: bytes | None,
        *,
        now: float | None = None,
        algorithm: str = "rsa-sha256",
        fields: tuple[str, ...] | None = None,
        key_id: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> dict[str, str]:
        """Draft-cavage headers. The default (rsa-sha256, standard fields, this actor's key) is exactly
        `activities.httpsig.RequestSigner`; the options build the variants other servers send."""
        now = time.time() if now is None else now
        if algorithm == "rsa-sha256" and fields is None and key_id is None and key is None:
            return self.signer.headers_for(method, url, body, now)
        parts = urlsplit(url)
        headers = {"host": parts.netloc, "date": http_date(now)}
        if method.upper() == "POST":
            headers["digest"] = digest_header(body or b"")
            headers["content-type"] = AS2
        fields = fields or (CAVAGE_POST_FIELDS if method.upper() == "POST" else ("(request-target)", "host", "date"))
        message = signing_string(
            fields, method=method, path=parts.path or "/", query=parts.query, headers=headers
        ).encode()
        signature = base64.b64encode(rsa_sign(key or self.key.private_key, message)).decode()
        headers["signature"] = (
            f'keyId="{key_id or self.key_id}",algorithm="{algorithm}",'
            f'headers="{" ".join(fields)}",signature="{signature}"'
        )
        return headers

    def rfc9421_headers(
        self,
        method: str,
        url: str,
        body: bytes | None,
        *,
        created: float | None = None,
        components: tuple[str, ...] = RFC9421_POST_COMPONENTS,
        key_id: str | None = None,
    ) -> dict[str, str]:
        """RFC 9421 headers made by `http-message-signatures`' HTTPMessageSigner (rsa-v1_5-sha256)."""
        parts = urlsplit(url)
        headers = {"Host": parts.netloc, "Date": http_date(time.time()), "Content-Type": AS2}
        message = _Message(method, url, headers)
        when = datetime.datetime.fromtimestamp(time.time() if created is None else created, tz=datetime.UTC)
        HTTPMessageSigner(
            signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=_Keys(self.key.private_key)
        ).sign(
            message,
            key_id=key_id or self.key_id,
            created=when,
            covered_component_ids=components,
            body=body if method.upper() == "POST" else None,
        )
        return {k.lower(): v for k, v in message.headers.items()}

    def post(
        self,
        client: httpx.Client,
        url: str,
        activity: dict[str, Any] | bytes,
        *,
        scheme: str = "cavage",
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST a signed activity to an inbox."""
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        if scheme == "rfc9421":
            headers = self.rfc9421_headers("POST", url, body)
        else:
            headers = self.cavage_headers("POST", url, body)
        headers.update(extra_headers or {})
        return client.post(url, content=body, headers=headers)

    async def apost(
        self, client: httpx.AsyncClient, url: str, activity: dict[str, Any] | bytes, *, scheme: str = "cavage"
    ) -> httpx.Response:
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        headers = (
            self.rfc9421_headers("POST", url, body) if scheme == "rfc9421" else self.cavage_headers("POST", url, body)
        )
        return await client.post(url, content=body, headers=headers)
