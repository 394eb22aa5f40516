"""The delivery worker's POST. The peers send with aiohttp: with dozens of deliveries in flight to many hosts, an
httpx POST cost the worker several RSA signatures' worth of CPU (its pool re-checks every pooled connection on
each request), an aiohttp POST a fraction of one. A worker handed an httpx client (the tests) posts with it."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass_environment

import httpx

ERROR_TEXT = 500


@dataclass(frozen=True)
class Answer:
    status: int
    text: str | None  # the start of the body when the status is not 2xx
    retry_after: str | None


class PostFailed(Exception):
    """No HTTP answer (refused, reset, timed out): the message reads "ExceptionType: detail"."""


class Poster(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer: ...

    async def aclose(self) -> None: ...


class HttpxPoster:
    """POST with a caller's httpx client (which the caller closes)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise PostFailed(f"{type(exc).__name__}: {exc}") from exc
        text = response.text[:ERROR_TEXT] if response.status_code >= 300 else None
        return Answer(response.status_code, text, response.headers.get("retry-after"))

    async def aclose(self) -> None:
        pass


class AiohttpPoster:
    """POST with an aiohttp session opened on first use (importing aiohttp costs a start that sends nothing).
    Same behaviour as the peers' httpx client: certifi's CAs, proxies from the environment, no redirects
    followed, the same connect and read timeouts and User-Agent. The environment's proxies are read once, not
    per request as aiohttp's `trust_env` does (in a thread, with a .netrc look-up), and no cookies are kept."""

    def __init__(
        self, *, user_agent: str, connect_timeout: float = 5.0, read_timeout: float = 10.0, limit: int = 64
    ) -> None:
        self.user_agent = user_agent
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

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        import aiohttp

        session = self._session or self._open()
        try:
            proxy = self._proxy_for(url)
            async with session.post(url, data=body, headers=headers, allow_redirects=False, proxy=proxy) as response:
                content = await response.read()
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
