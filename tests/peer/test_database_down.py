"""A peer whose PostgreSQL goes away (restarted, or unreachable) answers 503 with Retry-After and a sentence, to a
person and to a server alike, and is well again as soon as the database is back, without a restart of its own.
The peer reaches its database through a TCP gate the test cuts: its open connections are closed and new ones
refused, as a restart of PostgreSQL does, and then the gate opens again on the same port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from store.outage import DATABASE_DOWN
from tests.hostile.helpers import AS2
from tests.support.actors import RemoteActor, key_pair
from tests.support.app import BASE, running_app
from tests.support.databases import Databases
from tests.support.httpserver import FakeServer, Recorded, Reply
from tests.support.processes import PeerProcess
from tests.support.tcp_gate import TcpGate

INBOX = f"{BASE}/actor/inbox"


@pytest.fixture
def gated(databases: Databases, processes: Callable[..., PeerProcess]) -> Iterator[tuple[PeerProcess, TcpGate]]:
    gate, through_gate = TcpGate.before_database(databases.new("events"))
    try:
        yield processes("events", database_url=through_gate, env={"ROSE_ASH_INPROCESS_WORKER": "0"}), gate
    finally:
        gate.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_peer_without_its_database_says_so_and_recovers(gated: tuple[PeerProcess, TcpGate]) -> None:
    peer, gate = gated
    remote = FakeServer()
    alice = RemoteActor(remote, "alice", key_pair(92))
    follow = alice.activity("Follow", peer.actor_id)
    outbox = f"{peer.url}/actor/outbox"
    try:
        with httpx.Client(trust_env=False, timeout=30) as http:
            assert http.get(outbox, headers={"accept": AS2}).status_code == 200
            gate.cut()
            try:
                page = http.get(f"{peer.url}/calendars", headers={"accept": "text/html"})
                document = http.get(outbox, headers={"accept": AS2})
                delivered = alice.post(http, peer.inbox, follow)
            finally:
                gate.restore()
            after = http.get(f"{peer.url}/calendars", headers={"accept": "text/html"})
            redelivered = alice.post(http, peer.inbox, follow)
            followers = http.get(f"{peer.url}/actor/followers", headers={"accept": AS2}).json()
    finally:
        remote.close()

    assert page.status_code == 503, page.text
    assert page.headers["retry-after"] == "5"
    assert page.headers["content-type"].startswith("text/html")
    assert DATABASE_DOWN in page.text
    assert document.status_code == 503, document.text
    assert document.json() == {"error": DATABASE_DOWN}
    assert delivered.status_code == 503, delivered.text  # a sender delivers again later
    assert delivered.headers["retry-after"] == "5"
    assert after.status_code == 200, after.text
    assert redelivered.status_code == 202, redelivered.text
    assert followers["totalItems"] == 1


async def test_requests_waiting_on_one_key_fetch_all_hear_the_database_is_away(
    postgres_databases: Databases, remote_actor: Callable[..., RemoteActor]
) -> None:
    """Sixteen signed requests on a cold key cache share one fetch of the key; the database goes away while
    that fetch is answered, so storing the key fails. Each sender must hear 503 (deliver again later), not 401
    (which a server takes as a refusal of the signature and does not retry)."""
    gate, through_gate = TcpGate.before_database(postgres_databases.new())
    alice = remote_actor("alice")
    key_path = urlsplit(alice.id).path

    def cut_on_key_fetch(request: Recorded) -> Reply | None:
        if request.method == "GET" and request.path == key_path:
            time.sleep(0.5)  # meanwhile the other fifteen miss the store too, and wait on this fetch
            gate.cut()
        return None

    try:
        async with running_app(through_gate) as peer:
            alice.server.gate = cut_on_key_fetch
            likes = [alice.activity("Like", f"{BASE}/posts/{n}") for n in range(16)]
            try:
                answers = await asyncio.gather(*(alice.apost(peer.client, INBOX, like) for like in likes))
            finally:
                alice.server.gate = lambda _request: None
                gate.restore()
            again = await alice.apost(peer.client, INBOX, likes[0])
    finally:
        gate.close()

    assert [answer.status_code for answer in answers] == [503] * 16, [answer.text for answer in answers]
    assert {answer.json()["error"] for answer in answers} == {DATABASE_DOWN}
    assert again.status_code == 202, again.text  # the sender's retry, once the database is back
