"""Deadlines for slow clients, which uvicorn does not have: a connection must send its request headers
within `header_seconds` of opening (or of its first byte after a response), and its body within
`body_seconds` of the headers; one client address may hold at most `per_client` connections.

Waiting for our answer is not slow sending: the ticket page's long poll (a GET held open for a while)
is untouched, since nothing is being read from the client meanwhile. Nor is our own slowness: when the header
deadline falls due while bytes the client sent still wait unread in the kernel (a busy event loop that has not
come round to the socket yet; uvloop runs due timers before it polls for input), the client is given more time
instead of a 408, up to `busy_limit` times the deadline."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import struct
import termios
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("uvicorn.error")  # where uvicorn says what it does with connections, shown at info


@dataclass
class ClientLimits:
    header_seconds: float = 10.0
    body_seconds: float = 30.0
    per_client: int = 1000  # generous: behind a TLS proxy every connection comes from the proxy's address
    busy_grace: float = 1.0  # how long a client whose bytes we have not read yet is given before the next look
    busy_limit: float = 10.0  # times header_seconds: past it even unread bytes do not keep a connection open
    open: Counter[str] = field(default_factory=Counter)


def guarded_protocol(limits: ClientLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the header deadline and the per-address cap."""

    class GuardedProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None
        _header_started = 0.0
        _between_requests = False
        _address: str | None = None
        _read = 0  # bytes of the request read since the deadline was armed

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else ""
            if limits.open[address] >= limits.per_client:
                transport.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                transport.close()
                return
            limits.open[address] += 1
            self._address = address
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._between_requests:  # the first byte of the next request on a kept-alive connection
                self._between_requests = False
                self._arm()
            self._read += len(data)
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            self._between_requests = True
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._address is not None:
                limits.open[self._address] -= 1
                if limits.open[self._address] <= 0:
                    del limits.open[self._address]
                self._address = None
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_started = self.loop.time()
            self._read = 0
            self._header_timer = self.loop.call_later(limits.header_seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            waited = self.loop.time() - self._header_started
            if unread_bytes(self.transport) > 0 and waited < limits.header_seconds * limits.busy_limit:
                # The client has sent more than we have read: the delay is ours. Look again after the loop has
                # had time to read it (on_headers_complete disarms this if the headers were in it).
                self._header_timer = self.loop.call_later(limits.busy_grace, self._too_slow)
            else:
                log.info("408 to %s: %d bytes of request headers in %.1f s", self._address, self._read, waited)
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                self.transport.close()

    return GuardedProtocol


def unread_bytes(transport: asyncio.BaseTransport) -> int:
    """Bytes that arrived on the transport's socket and wait in the kernel for the event loop to read them."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    try:
        answer = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
    except (OSError, ValueError):  # closed meanwhile, or not a socket that can say
        return 0
    return int(struct.unpack("i", answer)[0])


class BodyDeadline:
    """ASGI middleware: a request body must arrive within `seconds` of the app first asking for it; a client
    that trickles it gets 408 (or, when the answer has begun, a closed connection)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        body_done = False
        started = False

        async def timed_receive() -> Message:
            nonlocal deadline, body_done
            if body_done:  # after the body, a receive only waits for the client to go: no deadline
                return await receive()
            deadline = deadline or loop.time() + self.seconds
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise SlowBody from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, tracking_send)
        except SlowBody:
            if started:
                raise
            await _answer_408(send)


class SlowBody(HTTPException):
    """The client did not send its body in time: the app's HTTPException handler answers 408."""

    def __init__(self) -> None:
        super().__init__(408, "the request body did not arrive in time")


async def _answer_408(send: Send) -> None:
    body = b'{"error": "the request body did not arrive in time"}'
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 408, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
