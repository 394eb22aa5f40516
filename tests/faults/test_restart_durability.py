"""Pending deliveries survive a crash: kill -9 a peer in the middle of a fan-out, restart it on the same
database, and every inbox ends up with every activity exactly once (by activity id). On PostgreSQL, two
`rose-ash worker` processes share one queue and deliver each activity to each inbox once."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from activities.identity import LocalActor
from store import Store
from store.models import ActorKey, Delivery, DeliveryAttempt, FanOut
from tests.support.actors import RemoteActor, key_pair
from tests.support.admin import eventually
from tests.support.databases import Databases, Peek
from tests.support.fanout import add_followers, emit_note
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess, free_port
from tests.support.procnet import tcp_connections

pytestmark = pytest.mark.faults


@dataclass(frozen=True)
class Row:
    inbox: str
    activity_id: str
    state: str
    attempts: int
    locked_until: float


def rows(peek: Peek, activity_ids: list[str]) -> dict[tuple[str, str], Row]:
    async def work(store: Store) -> dict[tuple[str, str], Row]:
        async with store.read() as session:
            found = await session.scalars(select(Delivery).where(Delivery.activity_id.in_(activity_ids)))
            return {
                (d.inbox, d.activity_id): Row(d.inbox, d.activity_id, d.state, d.attempts, d.locked_until)
                for d in found
            }

    return peek(work)


def attempt_rows(peek: Peek, activity_ids: list[str]) -> int:
    async def work(store: Store) -> int:
        async with store.read() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(DeliveryAttempt)
                .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
                .where(Delivery.activity_id.in_(activity_ids))
            )
            return int(count or 0)

    return peek(work)


def no_fan_out_pending(peek: Peek) -> bool:
    async def work(store: Store) -> bool:
        async with store.read() as session:
            return not await session.scalar(select(func.count()).select_from(FanOut).where(FanOut.state == "pending"))

    return peek(work)


def test_kill_9_mid_fan_out_then_restart_delivers_everything_once(
    peer_process: Callable[..., PeerProcess], fake_server: Callable[[], FakeServer], peek: Callable[[str], Peek]
) -> None:
    # A 6 s lease: a POST may run 3 s; after the restart the dead process's leases lapse within seconds.
    peer = peer_process("blog", env={"ROSE_ASH_LEASE_SECONDS": "6"})
    db = peek(peer.database_url)
    me = LocalActor("blog", peer.url)
    eventually(lambda: no_fan_out_pending(db), what="the peer's own start-up fan-outs")

    fast = [fake_server() for _ in range(16)]  # answer at once
    slow = [fake_server() for _ in range(8)]  # hold every POST open until after the kill
    crowded = fake_server()  # 12 personal inboxes on one host: 8 in flight (the per-host cap), the rest waiting
    for server in [*slow, crowded]:
        server.hang()
    key = key_pair(0)
    followers = [RemoteActor(s, "f", key) for s in fast + slow]
    followers += [RemoteActor(crowded, f"c{i}", key, shared_inbox=False) for i in range(12)]
    sink_of = {f.shared_inbox or f.inbox: f.server for f in followers}

    async def setup(store: Store) -> list[str]:
        await add_followers(store, me, followers)
        return [(await emit_note(store, me, text=f"note {i}"))["id"] for i in range(2)]

    activity_ids = db(setup)
    expected = {(inbox, a) for inbox in sink_of for a in activity_ids}

    def mid_fan_out() -> bool:
        state = rows(db, activity_ids)
        fast_done = all(state.get((s.url("/inbox"), a), Row("", "", "", 0, 0.0)).state == "delivered"
                        for s in fast for a in activity_ids)  # fmt: skip
        return fast_done and all(len(s.posts()) >= 2 for s in slow) and len(crowded.posts()) >= 8

    eventually(mid_fan_out, timeout=30, interval=0.05, what="the fan-out to be half done")
    assert peer.kill(signal.SIGKILL) == -signal.SIGKILL
    killed_at = time.time()

    # The store as the dead process left it.
    at_death = rows(db, activity_ids)
    assert set(at_death) == expected
    posts_before = {k: _posts(sink_of, k) for k in expected}
    unanswered = {k for k in expected if any(p.answered_at is None for p in _post_records(sink_of, k))}
    delivered = {k for k, r in at_death.items() if r.state == "delivered"}
    leased = {k for k, r in at_death.items() if r.state == "pending" and r.locked_until > killed_at}
    waiting = {k for k, r in at_death.items() if r.state == "pending" and k not in leased and not posts_before[k]}
    # Really mid-way: some done, some in flight, some not yet started.
    assert len(delivered) >= 32 and unanswered & leased and waiting, (len(delivered), len(leased), len(waiting))

    for server in [*slow, crowded]:
        server.reply_with(202)
        server.release()  # the held requests get answered into dead sockets: the peer never sees them succeed

    peer.restart()
    eventually(
        lambda: {r.state for r in rows(db, activity_ids).values()} == {"delivered"},
        timeout=45,
        what="every delivery, after the restart",
    )
    final = rows(db, activity_ids)

    # Every inbox has every activity: receivers dedupe on the activity id, and none lacks one.
    for inbox, server in sink_of.items():
        assert set(server.activity_counts(urlsplit(inbox).path)) == set(activity_ids), inbox

    # Raw POSTs, exactly. Every POST's outcome is on record (one attempt row each) except a POST that was in
    # flight when the process died: only a delivery leased at that moment can have one, at most one, and such
    # a delivery is the only way a receiver sees an activity twice. One recorded as done is never re-sent.
    lost = {key: _posts(sink_of, key) - final[key].attempts for key in expected}
    for key in expected:
        assert lost[key] in ((0, 1) if key in leased else (0,)), (key, lost[key], at_death[key])
        if key in delivered:
            assert not [p for p in _post_records(sink_of, key) if p.received_at > killed_at], key
    assert sum(lost.values()) >= 1  # the crash really did cut POSTs short, and they were sent again
    assert attempt_rows(db, activity_ids) == sum(r.attempts for r in final.values())


def _post_records(sink_of: dict[str, FakeServer], key: tuple[str, str]) -> list[Any]:
    inbox, activity_id = key
    return [p for p in sink_of[inbox].posts(urlsplit(inbox).path) if p.activity_id == activity_id]


def _posts(sink_of: dict[str, FakeServer], key: tuple[str, str]) -> int:
    return len(_post_records(sink_of, key))


@pytest.mark.postgres
def test_two_workers_share_one_queue_on_postgres(
    postgres_databases: Databases,
    processes: Callable[..., PeerProcess],
    fake_server: Callable[[], FakeServer],
    peek: Callable[[str], Peek],
) -> None:
    url = postgres_databases.new("blog")
    base_url = f"http://127.0.0.1:{free_port()}"  # the peer's address; no web process is needed here
    # A long lease: no lease lapses here, so any duplicate would come from two workers claiming one row.
    env = {"ROSE_ASH_LEASE_SECONDS": "60"}
    workers = [processes("blog", database_url=url, command="worker", base_url=base_url, env=env) for _ in range(2)]
    pg_port = urlsplit(url).port or 5432

    def connected(worker: PeerProcess) -> bool:
        assert worker.running and worker.process is not None, worker.log_tail()
        return any(remote == pg_port for _, remote in tcp_connections(worker.process.pid))

    for worker in workers:
        eventually(lambda worker=worker: connected(worker), timeout=30, what="the worker to connect")
    db = peek(url)

    def ready() -> bool:
        async def work(store: Store) -> bool:
            async with store.read() as session:
                return await session.scalar(select(func.count()).select_from(ActorKey)) == 1

        try:
            return db(work)
        except Exception:  # the schema may not be there yet
            return False

    eventually(ready, timeout=30, what="the migrations and the key")

    sinks = [fake_server() for _ in range(20)]
    for sink in sinks:
        sink.delay = 0.5  # long enough that one worker alone could not finish before the other joins
    me = LocalActor("blog", base_url)
    followers = [RemoteActor(s, "f", key_pair(0)) for s in sinks]

    async def setup(store: Store) -> list[str]:
        await add_followers(store, me, followers)
        return [(await emit_note(store, me, text=f"note {i}"))["id"] for i in range(10)]

    activity_ids = db(setup)
    eventually(
        lambda: [r.state for r in rows(db, activity_ids).values()] == ["delivered"] * 200,
        timeout=60,
        what="200 deliveries",
    )
    for sink in sinks:
        counts = sink.activity_counts("/inbox")
        assert set(counts) == set(activity_ids) and set(counts.values()) == {1}, sink.base_url
    assert attempt_rows(db, activity_ids) == 200

    # Both processes did part of the work: the connections the sinks saw belong to one worker or the other.
    seen_ports = {r.client_port for sink in sinks for r in sink.posts()}
    per_worker = [{local for local, _ in tcp_connections(w.process.pid)} & seen_ports for w in workers if w.process]
    assert len(per_worker) == 2 and all(per_worker), per_worker
