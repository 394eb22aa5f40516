"""The fetcher on the guarded transport: the SSRF guard, redirects, size cap and signed GETs with double
knock, against real loopback servers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from activities.httpsig import RequestSigner, SignatureScheme, parse_signature_header
from inbox.errors import BlockedAddress, FetchError
from inbox.remote import MAX_DOCUMENT_BYTES, AddressGuard, RemoteFetcher
from net import guarded_client
from tests.support.actors import RemoteActor
from tests.support.httpserver import FakeServer, Reply

DOC = {"id": "x", "type": "Note"}


@pytest.fixture
async def clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []
    yield made
    for client in made:
        await client.aclose()


@pytest.fixture
def fetcher(clients: list[httpx.AsyncClient]) -> Callable[..., RemoteFetcher]:
    def make(*, signer: RequestSigner | None = None, **options: Any) -> RemoteFetcher:
        guard = AddressGuard(**options)
        client = guarded_client(guard, user_agent="rose-ash-test", proxies={})
        clients.append(client)
        return RemoteFetcher(client, guard, time.time, signer=signer)

    return make


async def test_fetcher_refuses_loopback_before_connecting(
    fetcher: Callable[..., RemoteFetcher], fake_server: Callable[[], FakeServer]
) -> None:
    server = fake_server()
    server.serve_json("/doc", DOC)
    with pytest.raises(BlockedAddress):
        await fetcher().get_json(server.url("/doc"))
    assert server.requests == []  # refused before any connection
    assert await fetcher(allow_private=True).get_json(server.url("/doc")) == DOC


async def test_a_redirect_to_loopback_is_refused(
    fetcher: Callable[..., RemoteFetcher], fake_server: Callable[[], FakeServer]
) -> None:
    """The first hop is allowed (here: `localhost` is an allowed host, standing in for a public server), the
    redirect points at 127.0.0.1 and is refused hop by hop."""
    server = fake_server()
    server.serve_json("/doc", DOC)
    server.serve("/hop", Reply(302, {"location": server.url("/doc")}))
    allowed = fetcher(allowed_hosts=frozenset({"localhost"}))
    with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1"):
        await allowed.get_json(f"http://localhost:{server.port}/hop")
    assert [r.path for r in server.requests] == ["/hop"]
    # with dev mode on, the same redirect is followed
    assert await fetcher(allow_private=True).get_json(f"http://localhost:{server.port}/hop") == DOC


async def test_redirect_chains_are_limited(
    fetcher: Callable[..., RemoteFetcher], fake_server: Callable[[], FakeServer]
) -> None:
    server = fake_server()
    for i in range(10):
        server.serve(f"/r{i}", Reply(301, {"location": f"/r{i + 1}"}))
    with pytest.raises(FetchError, match="too many redirects"):
        await fetcher(allow_private=True).get_json(server.url("/r0"))
    assert len(server.requests) == 4


async def test_oversize_body_is_refused(
    fetcher: Callable[..., RemoteFetcher], fake_server: Callable[[], FakeServer]
) -> None:
    server = fake_server()
    big = json.dumps({"id": "x", "padding": "x" * (MAX_DOCUMENT_BYTES + 10)}).encode()
    server.serve("/big", Reply(200, {"content-type": "application/activity+json"}, big))
    with pytest.raises(FetchError, match="too large"):
        await fetcher(allow_private=True).get_json(server.url("/big"))
    # a server that announces no length (chunked) is cut off while streaming
    server.serve(
        "/chunked", Reply(200, {"content-type": "application/activity+json", "transfer-encoding": "chunked"}, big)
    )
    with pytest.raises(FetchError, match="too large"):
        await fetcher(allow_private=True).get_json(server.url("/chunked"))
    # under the cap, a chunked document is read whole
    server.serve("/small", Reply(200, {"transfer-encoding": "chunked"}, json.dumps(DOC).encode() * 1))
    assert await fetcher(allow_private=True).get_json(server.url("/small")) == DOC


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
    fetcher: Callable[..., RemoteFetcher], fake_server: Callable[[], FakeServer], reply: Reply, reason: str
) -> None:
    server = fake_server()
    server.serve("/doc", reply)
    with pytest.raises(FetchError, match=reason):
        await fetcher(allow_private=True).get_json(server.url("/doc"))


async def test_connection_refused_is_a_fetch_error(fetcher: Callable[..., RemoteFetcher]) -> None:
    from tests.support.processes import free_port

    with pytest.raises(FetchError, match="ConnectError"):
        await fetcher(allow_private=True).get_json(f"http://127.0.0.1:{free_port()}/actor")


async def test_gets_are_signed_when_a_signer_is_set(
    fetcher: Callable[..., RemoteFetcher],
    remote_actor: Callable[..., RemoteActor],
    fake_server: Callable[[], FakeServer],
) -> None:
    me = remote_actor("me")
    server = fake_server()
    server.serve_json("/doc", DOC)
    signed = fetcher(allow_private=True, signer=me.signer)
    await signed.get_json(server.url("/doc"))
    await signed.get_json(server.url("/doc"), signed=False)
    first, second = server.gets("/doc")
    assert f'keyid="{me.key_id}"' in first.headers["signature-input"]  # RFC 9421, the first knock
    assert first.headers["signature"].startswith("sig1=:")
    assert "application/activity+json" in first.headers["accept"]
    assert "signature" not in second.headers
    assert signed.fetches == 2


def knocking_client(log: list[dict[str, str]], accepts: Callable[[httpx.Request], bool]) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        log.append(dict(request.headers))
        return httpx.Response(200, json=DOC) if accepts(request) else httpx.Response(401)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def test_a_get_refused_as_rfc9421_is_signed_again_as_cavage_and_the_scheme_remembered(
    remote_actor: Callable[..., RemoteActor],
) -> None:
    me = remote_actor("me")
    sent: list[dict[str, str]] = []
    async with knocking_client(
        sent, lambda r: r.url.host != "cavage.example" or "signature-input" not in r.headers
    ) as client:
        fetcher = RemoteFetcher(client, AddressGuard(allow_private=True), time.time, signer=me.signer)
        assert await fetcher.get_json("https://cavage.example/doc") == DOC
        assert await fetcher.get_json("https://cavage.example/other") == DOC
        assert await fetcher.get_json("https://modern.example/doc") == DOC
    assert ["signature-input" in h for h in sent] == [True, False, False, True]
    assert parse_signature_header(sent[1]["signature"]).key_id == me.key_id
    assert fetcher.knocks.known("https://cavage.example/") is SignatureScheme.CAVAGE


async def test_a_get_refused_under_both_schemes_is_a_fetch_error(remote_actor: Callable[..., RemoteActor]) -> None:
    sent: list[dict[str, str]] = []
    async with knocking_client(sent, lambda r: False) as client:
        fetcher = RemoteFetcher(client, AddressGuard(allow_private=True), time.time, signer=remote_actor("me").signer)
        with pytest.raises(FetchError, match="HTTP 401"):
            await fetcher.get_json("https://closed.example/doc")
    assert len(sent) == 2
    assert fetcher.knocks.known("https://closed.example/") is None


def test_a_fetcher_outside_dev_mode_needs_the_guarded_transport() -> None:
    with pytest.raises(ValueError, match="guarded transport"):
        RemoteFetcher(httpx.AsyncClient(), AddressGuard(), time.time)
