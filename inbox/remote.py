"""Fetch remote documents safely: signed GET (RFC 9421 first, draft-cavage when refused, the scheme that
worked remembered per origin), a size cap, redirects checked hop by hop. Addresses are checked where the
connection is made, by the guarded transport (net/transport.py) the client must be built on."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx

from activities.httpsig import RequestSigner, SignatureScheme
from activities.vocab import AS2_MEDIA_TYPE, LD_MEDIA_TYPE
from inbox.errors import BlockedAddress, FetchError
from net.guard import AddressGuard, Refused, url_origin
from net.knock import REFUSED, SchemeMemory
from net.transport import is_guarded

__all__ = ["ACCEPT", "MAX_DOCUMENT_BYTES", "AddressGuard", "RemoteFetcher"]

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
ACCEPT = f"{AS2_MEDIA_TYPE}, {LD_MEDIA_TYPE}"


@dataclass
class RemoteFetcher:
    """`client` must come from `net.guarded_client` (or be built on `net.GuardedTransport`), unless the
    guard lets every address through (dev mode), where there is nothing to enforce."""

    client: httpx.AsyncClient
    guard: AddressGuard
    clock: Callable[[], float]
    max_bytes: int = MAX_DOCUMENT_BYTES
    signer: RequestSigner | None = None
    knocks: SchemeMemory = field(default_factory=SchemeMemory)
    fetches: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not self.guard.allow_private and not is_guarded(self.client):
            raise ValueError("RemoteFetcher needs a client on the guarded transport (net.guarded_client)")

    async def get_json(self, url: str, *, signed: bool = True) -> dict[str, Any]:
        """GET an ActivityStreams document, following redirects only to guarded addresses."""
        for _ in range(MAX_REDIRECTS + 1):
            try:
                url_origin(url)
            except Refused as exc:
                raise BlockedAddress(url, exc.reason) from None
            response_url, status, headers, body = await self._get(url, signed)
            if status in (301, 302, 303, 307, 308) and "location" in headers:
                url = urljoin(response_url, headers["location"])
                continue
            if status != 200:
                raise FetchError(url, f"HTTP {status}")
            try:
                doc = json.loads(body)
            except ValueError:
                raise FetchError(url, "response is not JSON") from None
            if not isinstance(doc, dict):
                raise FetchError(url, "response is not a JSON object")
            return doc
        raise FetchError(url, "too many redirects")

    async def get_image(self, url: str) -> bytes:
        """GET an image (an avatar), unsigned, following redirects only to guarded addresses; its bytes."""
        for _ in range(MAX_REDIRECTS + 1):
            try:
                url_origin(url)
            except Refused as exc:
                raise BlockedAddress(url, exc.reason) from None
            response_url, status, headers, body = await self._get_once(url, {"accept": "image/*"})
            if status in (301, 302, 303, 307, 308) and "location" in headers:
                url = urljoin(response_url, headers["location"])
                continue
            if status != 200:
                raise FetchError(url, f"HTTP {status}")
            return body
        raise FetchError(url, "too many redirects")

    async def _get(self, url: str, signed: bool) -> tuple[str, int, dict[str, str], bytes]:
        if not (signed and self.signer):
            return await self._get_once(url, {"accept": ACCEPT})
        first, fallback = self.knocks.order(url)
        answer = await self._get_once(url, self._signed(url, first))
        if answer[1] in REFUSED:
            answer = await self._get_once(url, self._signed(url, fallback))
            self.knocks.answered(url, fallback, answer[1])
        else:
            self.knocks.answered(url, first, answer[1])
        return answer

    def _signed(self, url: str, scheme: SignatureScheme) -> dict[str, str]:
        assert self.signer is not None
        return self.signer.headers_for("GET", url, None, self.clock(), accept=ACCEPT, scheme=scheme)

    async def _get_once(self, url: str, headers: dict[str, str]) -> tuple[str, int, dict[str, str], bytes]:
        self.fetches += 1
        try:
            async with self.client.stream("GET", url, headers=headers, follow_redirects=False) as response:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(url, "response too large")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(url, "response too large")
                    chunks.append(chunk)
                return str(response.url), response.status_code, dict(response.headers), b"".join(chunks)
        except Refused as exc:
            raise BlockedAddress(url, exc.reason) from None
        except httpx.HTTPError as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from None
