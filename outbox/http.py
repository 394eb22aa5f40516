"""What the delivery worker needs of a POST (`Poster`), and the aiohttp poster used when deliveries must go
through an HTTP proxy from the environment; otherwise outbox/connections.py sends them. (httpx was tried first:
its pool re-checks every pooled connection on each request, several RSA signatures' worth of CPU per POST with
dozens of hosts in flight.)"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass_environment

ERROR_TEXT = 500


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


class Poster(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str], within: float) -> Answer:
        """POST `body`: the answer, or PostFailed (a timeout included), within `within` seconds."""
        ...

    async def aclose(self) -> None: ...


class AiohttpPoster:
    """POST with an aiohttp session opened on first use (importing aiohttp costs a start that sends nothing).
    Same behaviour as the peers' httpx client: certifi's CAs, proxies from the environment, no redirects
    followed, the same connect and read timeouts and User-Agent. The environment's proxies are read once, not
    per request as aiohttp's `trust_env` does (in a thread, with a .netrc look-up), and no cookies are kept."""

    def __init__(
        self,
        *,
        user_agent: str,
        screen: Callable[[str, dict[str, str]], Awaitable[None]] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        limit: int = 64,
    ) -> None:
        self.user_agent = user_agent
        self.screen = screen  # the address guard's verdict and the URL checks, before anything is sent
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.limit = limit
        self._session: Any = None
        self._proxies: dict[str, str] = {}

    def _open(self) -> Any:
        import aiohttp
        import certifi

        connector = aiohttp.TCPConnector(
            limit=self.limit,
            ssl=ssl.create_default_context(cafile=certifi.where()),
            resolver=aiohttp.ThreadedResolver(),  # getaddrinfo, as httpx; not aiodns's extra polling thread
        )
        self._proxies = {k: v for k, v in getproxies().items() if k in ("http", "https")}
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout, sock_read=self.read_timeout),
            headers={"user-agent": self.user_agent},
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self._session

    def _proxy_for(self, url: str) -> str | None:
        if not self._proxies:
            return None
        parts = urlsplit(url)
        if proxy_bypass_environment(parts.hostname or ""):
            return None
        return self._proxies.get(parts.scheme)

    async def post(self, url: str, body: bytes, headers: dict[str, str], within: float) -> Answer:
        import aiohttp

        session = self._session or self._open()
        if self.screen is not None:
            await self.screen(url, headers)
        try:
            proxy = self._proxy_for(url)
            async with (
                asyncio.timeout(within),
                session.post(url, data=body, headers=headers, allow_redirects=False, proxy=proxy) as response,
            ):
                content = await response.content.read(ERROR_TEXT * 4)  # the status matters, not the body
                text = None
                if response.status >= 300:
                    text = content.decode(response.charset or "utf-8", errors="replace")[:ERROR_TEXT]
                return Answer(response.status, text, response.headers.get("retry-after"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PostFailed(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
