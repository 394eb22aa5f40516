"""The delivery POST on pooled connections, against scripted servers on real loopback sockets: what goes on the
wire, keep-alive reuse, a server that closed the idle connection, answers of every framing, hostile answers,
timeouts, and the address guard deciding before any connection is made."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from net import AddressGuard, guarded_client, is_guarded
from outbox.connections import DirectPoster
from outbox.http import HttpxPoster, NotSent, PostFailed
from peer.workers import make_poster

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Server"], Awaitable[None]]


@dataclass
class Server:
    port: int = 0
    connections: int = 0
    requests: list[tuple[bytes, bytes]] = field(default_factory=list)  # (head, body)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/inbox"


async def read_request(reader: asyncio.StreamReader, server: Server) -> bool:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return False
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    server.requests.append((head, await reader.readexactly(length)))
    return True


def answering(*replies: bytes, close_after: bool = False) -> Handler:
    """Answer each request on a connection with the next of `replies` (the last one repeats)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        n = 0
        while await read_request(reader, server):
            writer.write(replies[min(n, len(replies) - 1)])
            await writer.drain()
            n += 1
            if close_after:
                break

    return handle


@contextlib.asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[Server]:
    server = Server()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            await handler(reader, writer, server)
        finally:
            writer.close()

    listener = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


@pytest.fixture
async def poster() -> AsyncIterator[DirectPoster]:
    poster = DirectPoster(user_agent="rose-ash-test/1", connect_timeout=2.0, read_timeout=2.0)
    yield poster
    await poster.aclose()


OK = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
HEADERS = {"host": "placeholder", "date": "Fri, 27 Nov 2026 08:00:00 GMT", "signature": 'keyId="k"'}


def headers_for(server: Server) -> dict[str, str]:
    return {**HEADERS, "host": f"127.0.0.1:{server.port}"}


async def test_the_request_on_the_wire_and_one_connection_for_many_posts(poster: DirectPoster) -> None:
    async with serving(answering(OK)) as server:
        for n in range(3):
            answer = await poster.post(server.url + f"?n={n}", b'{"id":"x"}', headers_for(server), 5.0)
            assert (answer.status, answer.text, answer.retry_after) == (202, None, None)
    assert server.connections == 1
    head, body = server.requests[2]
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /inbox?n=2 HTTP/1.1"
    assert f"host: 127.0.0.1:{server.port}" in lines
    assert 'signature: keyId="k"' in lines
    assert "user-agent: rose-ash-test/1" in lines
    assert "content-length: 10" in lines
    assert sum(line.lower().startswith("host:") for line in lines) == 1
    assert body == b'{"id":"x"}'


async def test_concurrent_posts_open_their_own_connections_and_keep_a_few(poster: DirectPoster) -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        while await read_request(reader, server):
            await asyncio.sleep(0.05)
            writer.write(OK)

    poster.per_origin = 4
    async with serving(slow) as server:
        answers = await asyncio.gather(*(poster.post(server.url, b"{}", headers_for(server), 5.0) for _ in range(10)))
        assert [a.status for a in answers] == [202] * 10
        assert server.connections == 10
        await asyncio.gather(*(poster.post(server.url, b"{}", headers_for(server), 5.0) for _ in range(4)))
        assert server.connections == 10  # four were kept idle and reused


async def test_an_idle_connection_the_server_closed_is_replaced_without_failing(poster: DirectPoster) -> None:
    async with serving(answering(OK, close_after=True)) as server:
        assert (await poster.post(server.url, b"{}", headers_for(server), 5.0)).status == 202
        await asyncio.sleep(0.05)  # the server has closed the connection the poster keeps
        assert (await poster.post(server.url, b"{}", headers_for(server), 5.0)).status == 202
    assert server.connections == 2
    assert len(server.requests) == 2


async def test_a_reused_connection_closed_as_the_request_arrives_is_retried_on_a_new_one(
    poster: DirectPoster,
) -> None:
    async def close_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await read_request(reader, server)
        writer.write(OK)
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # the second request: hang up without a word

    async with serving(close_second) as server:
        await poster.post(server.url, b"{}", headers_for(server), 5.0)
        answer = await poster.post(server.url, b"{}", headers_for(server), 5.0)
    assert answer.status == 202
    assert server.connections == 2


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 429 Too Many\r\nRetry-After: 120\r\nContent-Length: 9\r\n\r\nslow down",
        b"HTTP/1.1 429 Too Many\r\nRetry-After: 120\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nslow\r\n5\r\n down\r\n0\r\n\r\n",
        b"HTTP/1.0 429 Too Many\r\nRetry-After: 120\r\n\r\nslow down",  # delimited by the end of the connection
    ],
    ids=["content-length", "chunked", "until-close"],
)
async def test_error_answers_of_every_framing(poster: DirectPoster, reply: bytes) -> None:
    async with serving(answering(reply, close_after=b"HTTP/1.0" in reply)) as server:
        answer = await poster.post(server.url, b"{}", headers_for(server), 5.0)
        assert (answer.status, answer.text, answer.retry_after) == (429, "slow down", "120")
        assert (await poster.post(server.url, b"{}", headers_for(server), 5.0)).status == 429


async def test_an_endless_answer_is_cut_off_and_its_connection_dropped(poster: DirectPoster) -> None:
    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await read_request(reader, server)
        writer.write(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            while True:  # until the poster hangs up
                writer.write(b"10000\r\n" + b"x" * 65536 + b"\r\n")
                await writer.drain()

    async with serving(flood) as server:
        answer = await poster.post(server.url, b"{}", headers_for(server), 5.0)
        assert answer.status == 500
        assert answer.text is not None and len(answer.text) <= 500
        assert not poster._idle.get(("http", "127.0.0.1", server.port))


@pytest.mark.parametrize(
    "reply", [b"NOT HTTP AT ALL\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n"], ids=["garbage", "length"]
)
async def test_a_malformed_answer_fails_the_post(poster: DirectPoster, reply: bytes) -> None:
    async with serving(answering(reply)) as server:
        with pytest.raises(PostFailed, match="malformed answer"):
            await poster.post(server.url, b"{}", headers_for(server), 5.0)


async def test_a_server_that_never_answers_times_out_on_time(poster: DirectPoster) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await read_request(reader, server)
        await asyncio.sleep(30)

    async with serving(silent) as server:
        started = time.monotonic()
        with pytest.raises(PostFailed, match="ReadTimeout"):
            await poster.post(server.url, b"{}", headers_for(server), 0.3)  # the caller's bound wins
        assert time.monotonic() - started < 1.5
        assert not poster._idle.get(("http", "127.0.0.1", server.port))


async def test_a_refused_connection_fails_the_post(poster: DirectPoster) -> None:
    async with serving(answering(OK)) as server:
        port = server.port
    with pytest.raises(PostFailed, match="ConnectError"):
        await poster.post(f"http://127.0.0.1:{port}/inbox", b"{}", {}, 5.0)


async def test_the_address_check_decides_before_any_connection() -> None:
    seen: list[tuple[str, list[ipaddress.IPv4Address | ipaddress.IPv6Address]]] = []

    def refuse_loopback(host: str, addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> str | None:
        seen.append((host, addresses))
        return f"{host} is loopback" if any(a.is_loopback for a in addresses) else None

    poster = DirectPoster(user_agent="t", check=refuse_loopback)
    try:
        async with serving(answering(OK)) as server:
            for url in (server.url, f"http://localhost:{server.port}/inbox"):
                with pytest.raises(PostFailed, match=r"BlockedAddress: .* is loopback"):
                    await poster.post(url, b"{}", {}, 5.0)
        assert server.connections == 0
        assert seen[0] == ("127.0.0.1", [ipaddress.ip_address("127.0.0.1")])
        assert seen[1][0] == "localhost"
    finally:
        await poster.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/in box",
        "http://127.0.0.1:9/inbox\r\nX-Injected: 1",
        "http://127.0.0.1:9/inbóx",
        "ftp://127.0.0.1/inbox",
        "http:///inbox",
        "http://127.0.0.1:99999/inbox",
    ],
)
async def test_inbox_urls_that_cannot_go_on_the_wire_as_they_are(poster: DirectPoster, url: str) -> None:
    with pytest.raises(PostFailed, match="InvalidURL"):
        await poster.post(url, b"{}", {}, 5.0)


async def test_a_header_value_with_a_line_break_is_refused(poster: DirectPoster) -> None:
    async with serving(answering(OK)) as server:
        with pytest.raises(PostFailed, match="InvalidHeader"):
            await poster.post(server.url, b"{}", {"signature": "a\r\nx-injected: 1"}, 5.0)
    assert server.requests == []


@dataclass(frozen=True)
class PublicGuard(AddressGuard):
    """Takes every address for a public one (here: the documentation address 192.0.2.7)."""

    def refusal(self, host: str, addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> str | None:
        return None


def services_with(guard: AddressGuard) -> Any:
    return SimpleNamespace(fetcher=SimpleNamespace(guard=guard))


async def test_through_a_proxy_from_the_environment_deliveries_go_by_httpx_after_the_same_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serving(answering(OK)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.delenv("no_proxy", raising=False)
        guard = PublicGuard()
        async with guarded_client(guard, user_agent="rose-ash-test") as client:
            poster = make_poster(services_with(guard), client)
            assert isinstance(poster, HttpxPoster) and poster.client is client
            answer = await poster.post("http://192.0.2.7/users/a/inbox", b"{}", {"signature": "s"}, 5.0)
        assert answer.status == 202
        head = proxy.requests[0][0].split(b"\r\n")
        assert head[0] == b"POST http://192.0.2.7/users/a/inbox HTTP/1.1"
        assert b"user-agent: rose-ash-test" in [line.lower() for line in head]

        # The production guard: an internal address is refused before anything is sent, proxied or not; a
        # client that is not on the guarded transport is replaced by one that is.
        guarded = make_poster(services_with(AddressGuard()), httpx.AsyncClient())
        assert isinstance(guarded, HttpxPoster) and is_guarded(guarded.client)
        try:
            for url in (
                f"http://127.0.0.1:{proxy.port}/admin",
                "http://10.0.0.1/inbox",
                "http://in box/",
                "ftp://192.0.2.7/inbox",
            ):
                with pytest.raises(NotSent, match=r"BlockedAddress|InvalidURL"):
                    await guarded.post(url, b"{}", {}, 5.0)
        finally:
            await guarded.aclose()
    assert len(proxy.requests) == 1


def test_without_a_proxy_deliveries_go_on_our_connections_through_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    guard = AddressGuard()
    poster = make_poster(services_with(guard), httpx.AsyncClient())
    assert isinstance(poster, DirectPoster)
    assert poster.check == guard.refusal


async def test_interim_1xx_answers_are_skipped_and_the_connection_stays_in_step(poster: DirectPoster) -> None:
    continue_then = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    async with serving(answering(continue_then + OK, b"HTTP/1.1 401 No\r\nContent-Length: 0\r\n\r\n")) as server:
        first = await poster.post(server.url, b"{}", headers_for(server), 5.0)
        second = await poster.post(server.url, b"{}", headers_for(server), 5.0)
    assert (first.status, second.status) == (202, 401)
    assert server.connections == 1


async def test_a_slow_inbox_is_not_sent_the_post_twice(poster: DirectPoster) -> None:
    async def slow_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await read_request(reader, server)
        writer.write(OK)
        await read_request(reader, server)
        await read_request(reader, server)  # a retry would arrive here; none should

    async with serving(slow_second) as server:
        await poster.post(server.url, b"{}", headers_for(server), 5.0)
        with pytest.raises(PostFailed, match="ReadTimeout"):
            await poster.post(server.url, b"{}", headers_for(server), 0.5)
    assert len(server.requests) == 2  # the first POST and one more: no retry after a timeout


async def test_a_name_that_takes_forever_to_resolve_is_bounded_by_the_callers_time(
    poster: DirectPoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()

    async def slow_getaddrinfo(*_args: object, **_kwargs: object) -> list[object]:
        await asyncio.sleep(30)
        return []

    monkeypatch.setattr(loop, "getaddrinfo", slow_getaddrinfo)  # a resolver outside the system, stalled
    started = time.monotonic()
    with pytest.raises(PostFailed, match="ConnectTimeout"):
        await poster.post("http://slow.example/inbox", b"{}", {}, 0.3)
    assert time.monotonic() - started < 2.0


async def test_origins_leave_no_trace_in_the_pool_once_their_connections_are_gone(poster: DirectPoster) -> None:
    async with serving(answering(OK, close_after=True)) as server:
        for _ in range(3):
            await poster.post(server.url, b"{}", headers_for(server), 5.0)
            await asyncio.sleep(0.05)
        await poster.post(server.url, b"{}", headers_for(server), 5.0)
        await asyncio.sleep(0.05)
        poster._take_idle(("http", "127.0.0.1", server.port))  # finds the closed one and drops it
    assert poster._idle == {}
