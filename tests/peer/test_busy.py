"""A peer whose database connections are all taken answers a sentence and 503 with Retry-After, for a person
and for a server alike, instead of a bare 500: a rush or a flood can make it slow, and then it says so. The
connections are taken for real: the test locks every table from its own PostgreSQL session, so the peer's
requests wait inside the database while holding their connections, as they do behind slow queries."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx
import pytest

from store.models import Base
from store.outage import BUSY
from tests.hostile.helpers import AS2
from tests.support.actors import RemoteActor, key_pair
from tests.support.admin import eventually
from tests.support.databases import Databases
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess

POOL = {"ROSE_ASH_DB_POOL_SIZE": "1", "ROSE_ASH_DB_WAIT_SECONDS": "1", "ROSE_ASH_INPROCESS_WORKER": "0"}


class TableLock:
    """Every table of the peer's database locked by a transaction of the test's own, until `release()`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.locked = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._hold()), daemon=True)

    async def _hold(self) -> None:
        connection = await asyncpg.connect(self.url)
        try:
            async with connection.transaction():
                tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
                await connection.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
                self.locked.set()
                await asyncio.to_thread(self._release.wait)
        finally:
            await connection.close()

    def __enter__(self) -> TableLock:
        self._thread.start()
        assert self.locked.wait(10), "the test could not lock the peer's tables"
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(10)

    def __exit__(self, *_: object) -> None:
        self.release()


@pytest.fixture
def crowded(databases: Databases, processes: Callable[..., PeerProcess]) -> Iterator[tuple[PeerProcess, str]]:
    url = databases.new("events")
    yield processes("events", database_url=url, env=POOL), url


@pytest.fixture
def remote() -> Iterator[FakeServer]:
    server = FakeServer()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_peer_out_of_database_connections_says_it_is_busy(
    crowded: tuple[PeerProcess, str], remote: FakeServer
) -> None:
    peer, url = crowded
    alice = RemoteActor(remote, "alice", key_pair(91))
    follow = alice.activity("Follow", peer.actor_id)
    outbox = f"{peer.url}/actor/outbox"
    with httpx.Client(trust_env=False, timeout=30) as http, ThreadPoolExecutor(2) as pool:
        assert http.get(outbox, headers={"accept": AS2}).status_code == 200
        with TableLock(url) as lock:
            # the pool holds two connections (twice ROSE_ASH_DB_POOL_SIZE): two reads wait on the lock with them
            waiting = [pool.submit(http.get, f"{outbox}?page={n}", headers={"accept": AS2}) for n in (1, 2)]
            eventually(lambda: waiting_on_locks(url) == 2, timeout=10, what="two requests to wait on the lock")
            page = http.get(f"{peer.url}/calendars", headers={"accept": "text/html"})
            document = http.get(outbox, headers={"accept": AS2})
            delivered = alice.post(http, peer.inbox, follow)
            lock.release()
            answered = [future.result(timeout=30) for future in waiting]
        after = http.get(outbox, headers={"accept": AS2})
        redelivered = alice.post(http, peer.inbox, follow)
        followers = http.get(f"{peer.url}/actor/followers", headers={"accept": AS2}).json()

    assert page.status_code == 503, page.text
    assert page.headers["retry-after"] == "5"
    assert page.headers["content-type"].startswith("text/html")
    assert BUSY in page.text
    assert document.status_code == 503, document.text
    assert document.headers["retry-after"] == "5"
    assert document.json() == {"error": BUSY}
    # a server is told to deliver again later (Mastodon and the others retry a 503), and its retry is taken
    assert delivered.status_code == 503, delivered.text
    assert delivered.headers["retry-after"] == "5"
    assert redelivered.status_code == 202, redelivered.text
    assert followers["totalItems"] == 1  # the Follow counted once
    assert [response.status_code for response in answered] == [200, 200]  # the requests that held them finish
    assert after.status_code == 200  # and the peer is well again


def waiting_on_locks(url: str) -> int:
    """The peer's database sessions that wait for a lock (the test's own holds it)."""

    async def count() -> int:
        connection = await asyncpg.connect(url)
        try:
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return int(await connection.fetchval(query))
        finally:
            await connection.close()

    return asyncio.run(count())
