"""Slow clients cannot hold a peer's sockets: headers and bodies have deadlines, one address has a cap on its
connections, and the ticket page's long poll (waiting on us, not on the client) still works."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.hostile.helpers import Visitor, schedule_event, slug_of
from tests.support.processes import PeerProcess, free_port

DEADLINE = 1.5
CAP = 5
LIMITS = {
    "ROSE_ASH_HEADER_SECONDS": str(DEADLINE),
    "ROSE_ASH_BODY_SECONDS": str(DEADLINE),
    "ROSE_ASH_MAX_CONNECTIONS_PER_CLIENT": str(CAP),
}
PATIENCE = 10 * DEADLINE  # a test gives up (and fails) after this


@pytest.fixture
def events(peer_process: Callable[..., PeerProcess]) -> PeerProcess:
    # The shop is a port nobody listens on: purchases stay pending, which the long-poll test needs.
    return peer_process("events", env=LIMITS, peers={"shop": f"http://127.0.0.1:{free_port()}"})


def connect(peer: PeerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", peer.port), timeout=PATIENCE)
    return sock


def answer_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> bytes:
    """Send `trickle` a byte every tenth of a second (or nothing) until the server answers or closes; what it
    answered (b"" for a close). Fails when the server holds on past `seconds`."""
    sock.settimeout(0.1)
    ends = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < ends:
        if sent < len(trickle):
            try:
                sock.send(trickle[sent : sent + 1])
            except OSError:
                return b""
            sent += 1
        try:
            return sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return b""
    pytest.fail(f"the server still held the connection after {seconds} s")


def test_headers_trickled_a_byte_at_a_time_are_cut_off(events: PeerProcess) -> None:
    with connect(events) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        answer = answer_within(sock, PATIENCE, trickle=b"x-padding: " + b"a" * 1000)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:100]


def test_a_connection_that_sends_nothing_is_closed(events: PeerProcess) -> None:
    with connect(events) as sock:
        answer = answer_within(sock, PATIENCE)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:100]


def test_a_trickled_body_is_answered_408(events: PeerProcess) -> None:
    head = (
        b"POST /actor/inbox HTTP/1.1\r\nhost: x\r\ncontent-type: application/activity+json\r\n"
        b"content-length: 2000\r\n\r\n"
    )
    with connect(events) as sock:
        sock.sendall(head)
        answer = answer_within(sock, PATIENCE, trickle=b"{" + b" " * 1999)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_one_address_holds_at_most_the_cap(events: PeerProcess) -> None:
    held = [connect(events) for _ in range(CAP)]
    try:
        with connect(events) as extra:
            answer = answer_within(extra, DEADLINE / 2)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
    finally:
        for sock in held:
            sock.close()
    for _ in range(50):  # the server sees the closes soon after
        if httpx.get(f"{events.url}/healthz", timeout=5).status_code == 200:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the peer did not take connections again after the held ones closed")


def test_the_ticket_page_long_poll_outlasts_the_deadlines(events: PeerProcess) -> None:
    with httpx.Client(trust_env=False, timeout=30) as http:
        event = schedule_event(http, events, capacity=10)
    visitor = Visitor(events, f"/events/{slug_of(event)}")
    try:
        token = visitor.buy(event)
        started = time.monotonic()
        response = visitor.get(f"/tickets/{token}/status?wait={3 * DEADLINE}")
        waited = time.monotonic() - started
    finally:
        visitor.close()
    assert response.status_code == 200, response.text
    assert response.json()["fields"]["state"] == "pending"
    assert waited >= 2 * DEADLINE  # the poll was held past both deadlines and still answered


def test_headers_sent_while_the_peer_is_busy_are_answered_not_cut() -> None:
    """The client sent its headers, but the deadline fell due before the event loop read them (a ticket rush
    swamping the peer): our slowness, not the client's, so no 408 and the request is answered."""
    import asyncio

    import uvicorn
    import uvloop

    from peer.slow_clients import ClientLimits, guarded_protocol

    limits = ClientLimits(header_seconds=PATIENCE)  # the deadline does not run out by itself here
    protocols: list[Any] = []
    taken = asyncio.Event()
    guarded = guarded_protocol(limits)

    class Recorded(guarded):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: Any) -> None:
            protocols.append(self)
            super().connection_made(transport)
            taken.set()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def scenario() -> bytes:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, http=Recorded, lifespan="off")
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup()
        try:
            loop = asyncio.get_running_loop()
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.setblocking(False)
                await taken.wait()  # the server has taken the connection: its header deadline runs
                sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")  # in the server's kernel buffer at once
                protocols[0]._too_slow()  # the deadline falls due before the loop has come round to read it
                answer = b""
                while b"\r\n\r\n" not in answer:
                    chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), PATIENCE)
                    if not chunk:
                        break
                    answer += chunk
                return answer
        finally:
            await server.shutdown()

    answer = uvloop.run(scenario())
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
