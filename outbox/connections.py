"""The delivery worker's POST: HTTP/1.1 on pooled keep-alive connections, nothing else.

A delivery is one small signed POST whose answer only matters for its status (and `Retry-After`), so a general
HTTP client spends most of its time on features a delivery never uses: profiled at 0.26 ms of CPU per POST with
aiohttp, a quarter of a delivery's cost. Here a request is one `write` of bytes built with an f-string and the
answer is parsed by httptools (llhttp, the parser uvicorn serves with), in C.

It connects to what `net.guard.resolve_checked` answered, the same resolve-and-check the fetches' transport
uses: an inbox URL cannot make the worker POST to a private address, not even by a DNS answer that changes
between the check and the connect."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import OrderedDict
from urllib.parse import urlsplit

import httptools

from net.guard import AddressCheck, Refused, Resolver, Unresolvable, resolve_checked, system_resolver
from net.tls import client_context
from outbox.http import ERROR_TEXT, Answer, NotSent, PostFailed, check_sendable

MAX_ANSWER_BYTES = 1024 * 1024  # an inbox's answer is a status line; read no more than this of its body
IDLE_SECONDS = 30.0  # keep an idle connection this long (Mastodon's puma keeps them 20 s; a stale one is retried)
RESOLVE_SECONDS = 60.0


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.lost_unanswered = False  # the server closed the connection on a request without a byte of answer
        self.idle_since = 0.0
        self._answer: asyncio.Future[Answer] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._received = 0
        self._body: list[bytes] = []
        self._body_size = 0
        self._retry_after: str | None = None
        self._status: int | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports don't subclass asyncio's

    def data_received(self, data: bytes) -> None:
        if self._parser is None:  # bytes nobody asked for: the connection cannot be trusted any more
            self.close()
            return
        self._received += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(f"malformed answer: {exc}")
            self.close()
        else:
            if self._received > MAX_ANSWER_BYTES and self._answer is not None and not self._answer.done():
                self._finish(reusable=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost_unanswered = self._received == 0 and self._answer is not None
        if self._status is not None:  # an answer delimited by the end of the connection
            self._finish(reusable=False)
        else:
            self._fail(f"connection closed: {exc}" if exc else "connection closed before an answer")

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            self._retry_after = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        self._status = self._parser.get_status_code()
        if self._status == 101:  # we never ask to switch protocols
            self._fail("the server switched protocols")
            self.close()

    def on_body(self, body: bytes) -> None:
        if self._body_size < ERROR_TEXT * 4:
            self._body.append(body)
            self._body_size += len(body)

    def on_message_complete(self) -> None:
        assert self._parser is not None
        if self._status is not None and 100 <= self._status < 200:  # 100 Continue, 103 Early Hints: not the answer
            self._status = self._retry_after = None
            self._body, self._body_size = [], 0
            return
        self._finish(reusable=self._parser.should_keep_alive())

    # used by DirectPoster
    def request(self, data: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._parser = httptools.HttpResponseParser(self)
        self._received = self._body_size = 0
        self._body = []
        self._retry_after = self._status = None
        self.transport.write(data)
        return self._answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _finish(self, *, reusable: bool) -> None:
        answer, self._answer, self._parser = self._answer, None, None
        if answer is None or answer.done():
            return
        if not reusable:
            self.close()
        status = self._status or 0
        text = None
        if status >= 300:
            text = b"".join(self._body).decode("utf-8", errors="replace")[:ERROR_TEXT]
        answer.set_result(Answer(status, text, self._retry_after))

    def _fail(self, reason: str) -> None:
        answer, self._answer, self._parser = self._answer, None, None
        if answer is not None and not answer.done():
            answer.set_exception(PostFailed(f"ConnectionError: {reason}"))


class DirectPoster:
    """POST to inboxes over a pool of keep-alive connections, at most `per_origin` idle ones per origin and
    `max_idle` in all (the least recently used origin's are closed first). The whole answer must arrive within
    `read_timeout` of the request being sent, and all of it `within` the caller's bound."""

    def __init__(
        self,
        *,
        user_agent: str,
        check: AddressCheck | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        per_origin: int = 8,
        max_idle: int = 256,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.user_agent = user_agent
        self.check = check
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.per_origin = per_origin
        self.max_idle = max_idle
        self._ssl = ssl_context
        self._resolver = resolver
        self._idle: OrderedDict[tuple[str, str, int], list[_Connection]] = OrderedDict()
        self._idle_count = 0
        self._addresses: dict[tuple[str, int], tuple[float, list[tuple[int, str]]]] = {}

    async def post(self, url: str, body: bytes, headers: dict[str, str], within: float) -> Answer:
        deadline = asyncio.get_running_loop().time() + within
        check_sendable(url, headers)
        scheme, host, port, netloc, target = _parse(url)
        origin = (scheme, host, port)
        head = [f"POST {target} HTTP/1.1\r\n"]
        if "host" not in headers:
            head.append(f"host: {netloc}\r\n")
        head.extend(f"{name}: {value}\r\n" for name, value in headers.items())
        head.append(f"user-agent: {self.user_agent}\r\ncontent-length: {len(body)}\r\n\r\n")
        data = "".join(head).encode("latin-1") + body
        connection = self._take_idle(origin)
        if connection is not None:
            try:
                return await self._exchange(connection, origin, data, deadline)
            except PostFailed:
                if not connection.lost_unanswered:  # not after a timeout: the inbox may just be slow
                    raise
                # The server closed the idle connection as we reused it: once more on a new one. An inbox
                # that did get the POST ignores it the second time by the activity's id.
        try:
            # The name look-up runs in a thread pool that a fan-out to dead domains can queue up: bounded too.
            async with asyncio.timeout_at(deadline):
                connection = await self._connect(scheme, host, port, deadline)
        except TimeoutError:
            raise PostFailed(f"ConnectTimeout: no connection to {host}:{port} in time") from None
        return await self._exchange(connection, origin, data, deadline)

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        self._idle_count = 0

    async def _exchange(
        self, connection: _Connection, origin: tuple[str, str, int], data: bytes, deadline: float
    ) -> Answer:
        answer = connection.request(data)
        loop = asyncio.get_running_loop()
        seconds = max(0.0, min(self.read_timeout, deadline - loop.time()))
        timer = loop.call_later(seconds, _expire, answer, seconds)
        try:
            result = await answer
        except BaseException:
            connection.close()
            raise
        finally:
            timer.cancel()
        if not connection.closed:
            self._put_idle(origin, connection)
        return result

    def _take_idle(self, origin: tuple[str, str, int]) -> _Connection | None:
        connections = self._idle.get(origin)
        now = time.monotonic()
        while connections:
            connection = connections.pop()
            self._idle_count -= 1
            if not connections:
                del self._idle[origin]  # no entry left behind for each origin ever contacted
            if not connection.closed and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    def _put_idle(self, origin: tuple[str, str, int], connection: _Connection) -> None:
        connections = self._idle.setdefault(origin, [])
        self._idle.move_to_end(origin)
        if len(connections) >= self.per_origin:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        connections.append(connection)
        self._idle_count += 1
        while self._idle_count > self.max_idle:
            oldest_origin, oldest = next(iter(self._idle.items()))
            if oldest:
                oldest.pop(0).close()
                self._idle_count -= 1
            if not oldest:
                del self._idle[oldest_origin]

    async def _connect(self, scheme: str, host: str, port: int, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = None
        if scheme == "https":
            tls = self._ssl = self._ssl or client_context()
        last_error: Exception | None = None
        for family, address in await self._resolve(host, port):
            try:
                async with asyncio.timeout(min(self.connect_timeout, deadline - loop.time())):
                    sock = socket.socket(family, socket.SOCK_STREAM)
                    sock.setblocking(False)
                    try:
                        await loop.sock_connect(sock, (address, port))
                    except BaseException:
                        sock.close()
                        raise
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    _, connection = await loop.create_connection(
                        _Connection, sock=sock, ssl=tls, server_hostname=host if tls else None
                    )
                return connection
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                last_error = exc
        raise PostFailed(f"ConnectError: cannot connect to {host}:{port}: {last_error or 'no address'}")

    async def _resolve(self, host: str, port: int) -> list[tuple[int, str]]:
        cached = self._addresses.get((host, port))
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            found = await resolve_checked(host, port, self.check, self._resolver)
        except Unresolvable as exc:
            raise PostFailed(f"ConnectError: {exc.reason}") from None
        except Refused as exc:
            raise NotSent(f"BlockedAddress: {exc.reason}") from None
        if len(self._addresses) > 4096:
            self._addresses.clear()
        self._addresses[(host, port)] = (time.monotonic() + RESOLVE_SECONDS, found)
        return found


def _parse(url: str) -> tuple[str, str, int, str, str]:
    """scheme, host, port, netloc and request target of an inbox URL; NotSent when it cannot be sent as is."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise NotSent(f"InvalidURL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotSent(f"InvalidURL: {url}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), parts.netloc, target


def _expire(answer: asyncio.Future[Answer], seconds: float) -> None:
    if not answer.done():
        answer.set_exception(PostFailed(f"ReadTimeout: no complete answer within {seconds:g} s"))

