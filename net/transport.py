"""The httpx transport every fetch goes through: each new connection resolves its name once, has every address
checked by the guard, and connects to a checked address (TLS still verifies and sends the host name); a total
deadline per request, a limit of requests in flight per remote host, and a cap on the response's size.

Through an HTTP proxy from the environment the name is resolved and checked the same way first, but the
proxy resolves it again: an operator who sets a proxy trusts it with that."""

from __future__ import annotations

import asyncio
import ssl
import typing
from collections.abc import AsyncIterator, Iterable, Mapping
from urllib.request import getproxies, proxy_bypass_environment  # type: ignore[attr-defined]

import httpcore
import httpx

from net.guard import AddressGuard, Refused, Unresolvable
from net.limits import HostLimiter
from net.tls import client_context

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
DEADLINE_SECONDS = 15.0


class DeadlineExceeded(httpx.TimeoutException):
    """The request, its answer and its body did not all arrive within the total deadline."""


class ResponseTooLarge(httpx.TransportError):
    """The answer's body is over the size cap."""


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting to the addresses the guard checked instead of the name."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.guard.resolve(host, port)
        except Unresolvable as exc:
            raise httpcore.ConnectError(exc.reason) from None
        error: Exception | None = None
        for _, address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not for remote requests")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Bounded(httpx.AsyncByteStream):
    """The answer's body, read within the deadline and the cap; closing it frees the host's slot."""

    def __init__(self, stream: httpx.AsyncByteStream, deadline: float, max_bytes: int, done: typing.Callable[[], None]):
        self._stream, self._deadline, self._max_bytes, self._done = stream, deadline, max_bytes, done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        chunks = self._stream.__aiter__()
        while True:
            try:
                async with asyncio.timeout_at(self._deadline):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise DeadlineExceeded("the answer's body did not arrive within the deadline") from None
            size += len(chunk)
            if size > self._max_bytes:
                raise ResponseTooLarge(f"response too large (over {self._max_bytes} bytes)")
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._done()


class GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        guard: AddressGuard,
        *,
        deadline: float = DEADLINE_SECONDS,
        max_bytes: int = MAX_RESPONSE_BYTES,
        limiter: HostLimiter | None = None,
        limits: httpx.Limits = httpx.Limits(max_connections=200, max_keepalive_connections=100),  # noqa: B008
        ssl_context: ssl.SSLContext | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        self.guard = guard
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.limiter = limiter or HostLimiter()
        context = ssl_context or _default_ssl_context()
        self._direct = httpx.AsyncHTTPTransport(verify=context, trust_env=False)
        # httpx takes no network backend: its pool is replaced by one that connects through the guard.
        self._direct._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(guard),
        )
        if proxies is None:
            proxies = {k: v for k, v in getproxies().items() if k in ("http", "https")}
        self._proxied = {
            scheme: httpx.AsyncHTTPTransport(verify=context, trust_env=False, limits=limits, proxy=url)
            for scheme, url in proxies.items()
        }

    def _route(self, url: httpx.URL) -> httpx.AsyncHTTPTransport | None:
        """The proxy transport for `url`, or None to connect directly."""
        proxy = self._proxied.get(url.scheme)
        if proxy is None or proxy_bypass_environment(url.host):
            return None
        return proxy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise Refused(f"scheme {request.url.scheme} is not allowed")
        host = f"{request.url.host}:{request.url.port or (443 if request.url.scheme == 'https' else 80)}"
        deadline = asyncio.get_running_loop().time() + self.deadline
        try:
            async with asyncio.timeout_at(deadline):
                await self.limiter.acquire(host)
        except TimeoutError:
            raise DeadlineExceeded(f"too many requests in flight to {host}", request=request) from None
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.limiter.release(host)

        try:
            proxy = self._route(request.url)
            async with asyncio.timeout_at(deadline):
                if proxy is None:
                    response = await self._direct.handle_async_request(request)
                else:
                    try:
                        await self.guard.check(str(request.url))
                    except Unresolvable as exc:
                        raise httpx.ConnectError(exc.reason, request=request) from None
                    response = await proxy.handle_async_request(request)
        except TimeoutError:
            release()
            raise DeadlineExceeded(f"no answer from {host} within {self.deadline:g} s", request=request) from None
        except BaseException:
            release()
            raise
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await response.aclose()
            release()
            raise ResponseTooLarge(f"response too large ({declared} bytes)", request=request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Bounded(response.stream, deadline, self.max_bytes, release),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._direct.aclose()
        for proxy in self._proxied.values():
            await proxy.aclose()


def _default_ssl_context() -> ssl.SSLContext:
    return client_context()


def guarded_client(
    guard: AddressGuard,
    *,
    user_agent: str,
    timeout: httpx.Timeout = httpx.Timeout(10.0, connect=5.0),  # noqa: B008
    deadline: float = DEADLINE_SECONDS,
    max_bytes: int = MAX_RESPONSE_BYTES,
    limiter: HostLimiter | None = None,
    proxies: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """The peer's one HTTP client. `trust_env` is off because the transport reads the proxies itself: httpx's
    own proxy mounts would bypass the guard."""
    transport = GuardedTransport(
        guard, deadline=deadline, max_bytes=max_bytes, limiter=limiter, proxies=proxies, ssl_context=ssl_context
    )
    return httpx.AsyncClient(transport=transport, trust_env=False, timeout=timeout, headers={"user-agent": user_agent})


def is_guarded(client: httpx.AsyncClient) -> bool:
    return isinstance(getattr(client, "_transport", None), GuardedTransport) and not getattr(client, "_mounts", {})
