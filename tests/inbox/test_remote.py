"""The fetcher's SSRF guard, redirects, size cap and signed GETs, against real loopback servers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from activities.httpsig import parse_signature_header
from inbox.errors import BlockedAddress, FetchError
from inbox.remote import MAX_DOCUMENT_BYTES, AddressGuard, RemoteFetcher
from tests.support.actors import RemoteActor
from tests.support.httpserver import FakeServer, Reply

DOC = {"id": "x", "type": "Note"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as c:
        yield c


def fetcher(client: httpx.AsyncClient, **guard: object) -> RemoteFetcher:
    return RemoteFetcher(client, AddressGuard(**guard), time.time)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/actor",
        "http://127.5.6.7:8080/actor",
        "http://10.0.0.1/actor",
        "http://10.255.255.254/actor",
        "http://172.16.0.1/actor",
        "http://192.168.1.1/actor",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/actor",
        "http://[fe80::1]/actor",
        "http://[fc00::1]/actor",
        "http://0.0.0.0/actor",
        "http://localhost/actor",
        "http://224.0.0.1/actor",
        "http://[::ffff:127.0.0.1]/actor",  # IPv4-mapped
        "http://[64:ff9b::7f00:1]/actor",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a00:1]/actor",  # NAT64 of 10.0.0.1
        "http://[2002:7f00:1::1]/actor",  # 6to4 of 127.0.0.1
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/actor",  # Teredo, client 10.0.0.1
    ],
)
async def test_guard_refuses_non_public_addresses(url: str) -> None:
    with pytest.raises(BlockedAddress):
        await AddressGuard().check(url)
    await AddressGuard(allow_private=True).check(url)  # dev/test mode lets them through


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://example.org/", "data:text/plain,hi", "//x"]
)
async def test_guard_refuses_other_schemes_even_in_dev_mode(url: str) -> None:
    for guard in (AddressGuard(), AddressGuard(allow_private=True)):
        with pytest.raises(BlockedAddress):
            await guard.check(url)


async def test_guard_accepts_public_addresses_and_allowed_hosts() -> None:
    await AddressGuard().check("https://93.184.216.34/actor")
    await AddressGuard().check("https://[2606:2800:220:1:248:1893:25c8:1946]/actor")
    await AddressGuard(allowed_hosts=frozenset({"localhost"})).check("http://localhost:8001/actor")


async def test_fetcher_refuses_loopback_before_connecting(
    client: httpx.AsyncClient, fake_server: Callable[[], FakeServer]
) -> None:
    server = fake_server()
    server.serve_json("/doc", DOC)
    with pytest.raises(BlockedAddress):
        await fetcher(client).get_json(server.url("/doc"))
    assert server.requests == []  # refused before any connection
    assert await fetcher(client, allow_private=True).get_json(server.url("/doc")) == DOC


async def test_a_redirect_to_loopback_is_refused(
    client: httpx.AsyncClient, fake_server: Callable[[], FakeServer]
) -> None:
    """The first hop is allowed (here: `localhost` is an allowed host, standing in for a public server), the
    redirect points at 127.0.0.1 and is refused hop by hop."""
    server = fake_server()
    server.serve_json("/doc", DOC)
    server.serve("/hop", Reply(302, {"location": server.url("/doc")}))
    allowed = fetcher(client, allowed_hosts=frozenset({"localhost"}))
    with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1"):
        await allowed.get_json(f"http://localhost:{server.port}/hop")
    assert [r.path for r in server.requests] == ["/hop"]
    # with dev mode on, the same redirect is followed
    assert await fetcher(client, allow_private=True).get_json(f"http://localhost:{server.port}/hop") == DOC


async def test_redirect_chains_are_limited(client: httpx.AsyncClient, fake_server: Callable[[], FakeServer]) -> None:
    server = fake_server()
    for i in range(10):
        server.serve(f"/r{i}", Reply(301, {"location": f"/r{i + 1}"}))
    with pytest.raises(FetchError, match="too many redirects"):
        await fetcher(client, allow_private=True).get_json(server.url("/r0"))
    assert len(server.requests) == 4


async def test_oversize_body_is_refused(client: httpx.AsyncClient, fake_server: Callable[[], FakeServer]) -> None:
    server = fake_server()
    big = json.dumps({"id": "x", "padding": "x" * (MAX_DOCUMENT_BYTES + 10)}).encode()
    server.serve("/big", Reply(200, {"content-type": "application/activity+json"}, big))
    with pytest.raises(FetchError, match="too large"):
        await fetcher(client, allow_private=True).get_json(server.url("/big"))
    # a server that announces no length (chunked) is cut off while streaming
    server.serve(
        "/chunked", Reply(200, {"content-type": "application/activity+json", "transfer-encoding": "chunked"}, big)
    )
    with pytest.raises(FetchError, match="too large"):
        await fetcher(client, allow_private=True).get_json(server.url("/chunked"))
    # under the cap, a chunked document is read whole
    server.serve("/small", Reply(200, {"transfer-encoding": "chunked"}, json.dumps(DOC).encode() * 1))
    assert await fetcher(client, allow_private=True).get_json(server.url("/small")) == DOC


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(404, {}, b"{}"), "HTTP 404"),
        (Reply(500, {}, b"oops"), "HTTP 500"),
        (Reply(200, {}, b"<html>"), "not JSON"),
        (Reply(200, {}, b"[1, 2]"), "not a JSON object"),
    ],
)
async def test_bad_answers_are_fetch_errors(
    client: httpx.AsyncClient, fake_server: Callable[[], FakeServer], reply: Reply, reason: str
) -> None:
    server = fake_server()
    server.serve("/doc", reply)
    with pytest.raises(FetchError, match=reason):
        await fetcher(client, allow_private=True).get_json(server.url("/doc"))


async def test_connection_refused_is_a_fetch_error(client: httpx.AsyncClient) -> None:
    from tests.support.processes import free_port

    with pytest.raises(FetchError, match="ConnectError"):
        await fetcher(client, allow_private=True).get_json(f"http://127.0.0.1:{free_port()}/actor")


async def test_gets_are_signed_when_a_signer_is_set(
    client: httpx.AsyncClient, remote_actor: Callable[..., RemoteActor], fake_server: Callable[[], FakeServer]
) -> None:
    me = remote_actor("me")
    server = fake_server()
    server.serve_json("/doc", DOC)
    signed = RemoteFetcher(client, AddressGuard(allow_private=True), time.time, signer=me.signer)
    await signed.get_json(server.url("/doc"))
    await signed.get_json(server.url("/doc"), signed=False)
    first, second = server.gets("/doc")
    assert parse_signature_header(first.headers["signature"]).key_id == me.key_id
    assert "application/activity+json" in first.headers["accept"]
    assert "signature" not in second.headers
    assert signed.fetches == 2
