"""What the delivery worker needs of a POST (`Poster`); the signed POST with double knock (`post_signed`);
and the httpx poster used when deliveries must go through an HTTP proxy from the environment (otherwise
outbox/connections.py sends them: httpx's pool re-checks every pooled connection on each request, several
RSA signatures' worth of CPU per POST with dozens of hosts in flight)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

import httpx

from activities.httpsig import RequestSigner
from net.guard import Refused
from net.knock import REFUSED, SchemeMemory

ERROR_TEXT = 500
# Bytes an inbox URL may carry into a request line or Host header: printable ASCII without spaces.
_URL_BYTES = frozenset(range(0x21, 0x7F))


@dataclass(frozen=True)
class Answer:
    status: int
    text: str | None  # the start of the body when the status is not 2xx
    retry_after: str | None


class PostFailed(Exception):
    """No HTTP answer (refused, reset, timed out): the message reads "ExceptionType: detail"."""


class NotSent(PostFailed):
    """Refused before anything went out (a URL or header that cannot be sent, an address the guard refuses):
    the fault is this delivery's, not its host's."""


def check_sendable(url: str, headers: dict[str, str]) -> None:
    """NotSent for an inbox URL or a header value that cannot go on the wire as it is."""
    if not _URL_BYTES.issuperset(url.encode("utf-8", errors="replace")):
        raise NotSent("InvalidURL: an inbox URL must be printable ASCII without spaces")
    if any("\r" in value or "\n" in value for value in headers.values()):
        raise NotSent("InvalidHeader: a header value holds a line break")


class Poster(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str], within: float) -> Answer:
        """POST `body`: the answer, or PostFailed (a timeout included), within `within` seconds."""
        ...

    async def aclose(self) -> None: ...


async def post_signed(
    poster: Poster, signer: RequestSigner, knocks: SchemeMemory, url: str, body: bytes, now: float, within: float
) -> Answer:
    """POST signed with the scheme `knocks` gives for the inbox's origin; when the inbox refuses it (400, 401,
    403), once more signed with the other scheme, in what is left of `within`. The scheme that got an answer
    other than a refusal is remembered for the origin."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    first, fallback = knocks.order(url)
    answer = await poster.post(url, body, signer.headers_for("POST", url, body, now, scheme=first), within)
    scheme = first
    if answer.status in REFUSED and deadline - loop.time() > 0:
        scheme = fallback
        headers = signer.headers_for("POST", url, body, now, scheme=fallback)
        answer = await poster.post(url, body, headers, deadline - loop.time())
    knocks.answered(url, scheme, answer.status)
    return answer


class HttpxPoster:
    """POST through the peer's httpx client, on the guarded transport (which goes through the environment's
    proxy after resolving and checking the inbox's host). Redirects are not followed."""

    def __init__(self, client: httpx.AsyncClient, *, owns_client: bool = False) -> None:
        self.client = client
        self.owns_client = owns_client

    async def post(self, url: str, body: bytes, headers: dict[str, str], within: float) -> Answer:
        check_sendable(url, headers)
        try:
            async with (
                asyncio.timeout(within),
                self.client.stream("POST", url, content=body, headers=headers, follow_redirects=False) as response,
            ):
                content = b""
                async for chunk in response.aiter_bytes():  # the status matters, not the body
                    content += chunk
                    if len(content) >= ERROR_TEXT * 4:
                        break
                text = None
                if response.status_code >= 300:
                    text = content.decode(response.encoding or "utf-8", errors="replace")[:ERROR_TEXT]
                return Answer(response.status_code, text, response.headers.get("retry-after"))
        except Refused as exc:
            raise NotSent(f"BlockedAddress: {exc.reason}") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise NotSent(f"InvalidURL: {exc}") from None
        except (httpx.HTTPError, TimeoutError) as exc:
            raise PostFailed(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        if self.owns_client:  # otherwise the client is the peer's, closed by its owner
            await self.client.aclose()
