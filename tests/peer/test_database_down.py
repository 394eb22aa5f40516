"""A peer whose PostgreSQL goes away (restarted, or unreachable) answers 503 with Retry-After and a sentence, to a
person and to a server alike, and is well again as soon as the database is back, without a restart of its own.
The peer reaches its database through a TCP gate the test cuts: its open connections are closed and new ones
refused, as a restart of PostgreSQL does, and then the gate opens again on the same port."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from store.outage import DATABASE_DOWN
from tests.hostile.helpers import AS2
from tests.support.actors import RemoteActor, key_pair
from tests.support.databases import Databases
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess
from tests.support.tcp_gate import TcpGate


@pytest.fixture
def gated(databases: Databases, processes: Callable[..., PeerProcess]) -> Iterator[tuple[PeerProcess, TcpGate]]:
    url = make_url(databases.new("events"))
    gate = TcpGate(url.host or "127.0.0.1", url.port or 5432)
    try:
        through_gate = url.set(host="127.0.0.1", port=gate.port).render_as_string(hide_password=False)
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
