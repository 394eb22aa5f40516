"""The delivery worker, in-process on a real store (SQLite and PostgreSQL), POSTing to real loopback sinks:
one signed POST per inbox, blind copies stripped, retries with backoff and Retry-After, a hanging host that
holds up nobody else, 410 followers dropped, the give-up horizon, and every attempt on record."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from activities.httpsig import RequestSigner
from activities.identity import LocalActor
from activities.vocab import PUBLIC
from inbox.directory import PublicKey
from outbox.addressing import Target
from outbox.connections import DirectPoster
from outbox.retry import RetryPolicy
from outbox.worker import DeliveryWorker
from store import Store, collections
from store.models import Follow
from store.models import RemoteActor as RemoteActorRow
from tests.support.actors import RemoteActor, key_pair
from tests.support.databases import terminate_backends
from tests.support.fanout import add_followers, attempts_of, delivery_rows, emit_note, until
from tests.support.httpserver import FakeServer, Reply
from tests.support.verify import verify_post_async

ME = LocalActor("blog", "http://blog.test")


@dataclass
class Rig:
    store: Store
    worker: DeliveryWorker
    key: PublicKey
    actors: dict[str, RemoteActor]

    def remote(self, server: FakeServer, name: str, *, shared_inbox: bool = True) -> RemoteActor:
        actor = RemoteActor(server, name, key_pair(0), shared_inbox=shared_inbox)
        self.actors[actor.id] = actor
        return actor

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.worker.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
async def rig(store: Store) -> AsyncIterator[Rig]:
    keys = key_pair(5)
    actors: dict[str, RemoteActor] = {}

    async def resolve(actor_id: str) -> Target:
        actor = actors[actor_id]
        return Target(actor.id, actor.inbox, actor.shared_inbox)

    poster = DirectPoster(user_agent="rose-ash-test", connect_timeout=2.0, read_timeout=10.0)
    try:
        worker = DeliveryWorker(
            store=store,
            poster=poster,
            actors={ME.name: ME},
            signers={ME.name: RequestSigner(ME.key_id, keys.private_key)},
            resolve=resolve,
            policy=RetryPolicy(base_delay=0.2, max_delay=5.0, horizon=60.0),
            lease=30.0,
            poll_interval=0.05,
        )
        yield Rig(store, worker, PublicKey(ME.key_id, ME.id, keys.public_key), actors)
    finally:
        await poster.aclose()


async def assert_every_attempt_recorded(rig: Rig, sinks: dict[str, FakeServer]) -> None:
    """Each delivery's attempt rows match, one for one, the POSTs its inbox received."""
    for delivery in await delivery_rows(rig.store):
        server = sinks[delivery.host]
        path = httpx.URL(delivery.inbox).path
        posts = [r for r in server.posts(path) if r.activity_id == delivery.activity_id]
        # An RFC 9421 knock the inbox refused, signed again as draft-cavage at once, is one attempt.
        received = [
            r
            for r, after in zip(posts, [*posts[1:], None], strict=True)
            if not ("signature-input" in r.headers and r.status in (400, 401, 403) and after is not None)
        ]
        attempts = await attempts_of(rig.store, delivery.id)
        assert len(attempts) == len(received) == delivery.attempts, delivery.inbox
        assert [a.status for a in attempts] == [r.status for r in received], delivery.inbox
        assert attempts[-1].status == delivery.last_status


async def test_fan_out_one_signed_post_per_inbox_without_blind_copies(
    rig: Rig, fake_server: Callable[[], FakeServer]
) -> None:
    shared_hosts = [fake_server() for _ in range(3)]  # three servers with shared inboxes, 3 followers each
    followers = [rig.remote(server, f"u{i}") for server in shared_hosts for i in range(3)]
    lonely = fake_server()  # a server without shared inboxes: one POST per follower
    followers += [rig.remote(lonely, f"p{i}", shared_inbox=False) for i in range(2)]
    await add_followers(rig.store, ME, followers)
    secret_friend = rig.remote(shared_hosts[0], "friend")  # bcc'd, on a server that already gets a POST
    elsewhere = rig.remote(fake_server(), "boss")  # bto'd, on a server of its own

    sent = await emit_note(rig.store, ME, bto=[elsewhere.id], bcc=[secret_friend.id])
    await rig.worker.drain()

    sinks = {s.netloc: s for s in [*shared_hosts, lonely, elsewhere.server]}
    for server in [*shared_hosts, elsewhere.server]:
        assert [r.path for r in server.posts()] == ["/inbox"]
    assert sorted(r.path for r in lonely.posts()) == ["/users/p0/inbox", "/users/p1/inbox"]

    for server in sinks.values():
        for post in server.posts():
            body = post.json()
            assert body["id"] == sent["id"] and body["object"]["content"] == "hello"
            assert "bto" not in body and "bcc" not in body, body
            assert body["to"] == [PUBLIC] and body["cc"] == [ME.followers]
            verified = await verify_post_async(server, post, rig.key)
            assert verified.owner == ME.id
            assert post.headers["content-type"] == "application/activity+json"

    rows = await delivery_rows(rig.store, sent["id"])
    assert len(rows) == 6 and {r.state for r in rows} == {"delivered"}
    by_inbox = {r.inbox: r for r in rows}
    assert sorted(by_inbox[shared_hosts[0].url("/inbox")].recipients) == sorted(
        [f.id for f in followers[:3]] + [secret_friend.id]
    )
    await assert_every_attempt_recorded(rig, sinks)


async def test_followers_expanded_a_page_at_a_time_get_one_row_per_inbox_with_all_its_recipients(
    rig: Rig, fake_server: Callable[[], FakeServer]
) -> None:
    rig.worker.follower_page = 2  # inboxes per page: the 5 inboxes below take three pages
    shared_hosts = [fake_server() for _ in range(3)]
    followers = [rig.remote(server, f"u{i}") for server in shared_hosts for i in range(3)]
    lonely = fake_server()
    followers += [rig.remote(lonely, f"p{i}", shared_inbox=False) for i in range(2)]
    await add_followers(rig.store, ME, followers)
    friends = [rig.remote(server, "friend") for server in shared_hosts]  # bcc'd, behind each shared inbox
    elsewhere = rig.remote(fake_server(), "boss")  # on a server no follower is on

    sent = await emit_note(rig.store, ME, bto=[elsewhere.id], bcc=[f.id for f in friends])
    await rig.worker.drain()

    rows = await delivery_rows(rig.store, sent["id"])
    assert len(rows) == 6 and {r.state for r in rows} == {"delivered"}
    by_inbox = {r.inbox: sorted(r.recipients) for r in rows}
    for n, server in enumerate(shared_hosts):
        assert by_inbox[server.url("/inbox")] == sorted([f.id for f in followers[3 * n : 3 * n + 3]] + [friends[n].id])
        assert [r.path for r in server.posts()] == ["/inbox"], "one POST per shared inbox"
    assert by_inbox[elsewhere.server.url("/inbox")] == [elsewhere.id]
    assert sorted(r.path for r in lonely.posts()) == ["/users/p0/inbox", "/users/p1/inbox"]


async def test_429_retry_after_is_honoured(rig: Rig, fake_server: Callable[[], FakeServer]) -> None:
    server = fake_server()
    server.reply_sequence([Reply(429, {"retry-after": "1"}), Reply(202)])
    await add_followers(rig.store, ME, [rig.remote(server, "busy")])
    await emit_note(rig.store, ME)
    async with rig.running():
        await until(lambda: len(server.posts()) == 2, what="the retry")
        (row,) = await until(lambda: _delivered(rig.store), what="delivered")
    first, second = server.posts()
    assert second.received_at - first.received_at >= 1.0  # not the 0.2 s backoff: Retry-After wins
    assert [a.status for a in await attempts_of(rig.store, row.id)] == [429, 202]
    await assert_every_attempt_recorded(rig, {server.netloc: server})


async def test_500_is_retried_with_exponential_backoff(rig: Rig, fake_server: Callable[[], FakeServer]) -> None:
    server = fake_server()
    server.reply_sequence([500, 502, 500, 202])
    await add_followers(rig.store, ME, [rig.remote(server, "flaky")])
    await emit_note(rig.store, ME)
    async with rig.running():
        (row,) = await until(lambda: _delivered(rig.store), what="delivered after retries")
    times = [p.received_at for p in server.posts()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4
    for gap, backoff in zip(gaps, (0.2, 0.4, 0.8), strict=True):
        assert gap >= backoff, gaps
    assert [a.status for a in await attempts_of(rig.store, row.id)] == [500, 502, 500, 202]
    assert row.attempts == 4 and row.last_status == 202


async def test_a_hanging_host_does_not_delay_the_others(rig: Rig, fake_server: Callable[[], FakeServer]) -> None:
    stuck = fake_server()
    stuck.hang()
    healthy = [fake_server() for _ in range(5)]
    await add_followers(rig.store, ME, [rig.remote(stuck, "stuck")] + [rig.remote(s, "ok") for s in healthy])
    sent = await emit_note(rig.store, ME)
    async with rig.running():

        async def others_delivered() -> bool:
            rows = await delivery_rows(rig.store, sent["id"])
            return sum(r.state == "delivered" for r in rows) == 5

        await until(others_delivered, what="the healthy hosts")
        # ... while the stuck host still holds its request, unanswered
        assert len(stuck.posts()) == 1 and stuck.posts()[0].answered_at is None
        stuck.release()
        await until(lambda: _all_delivered(rig.store, 6), what="the stuck host, once released")
    assert all(len(s.posts()) == 1 for s in healthy)


async def test_per_host_concurrency_is_capped(rig: Rig, fake_server: Callable[[], FakeServer]) -> None:
    crowded = fake_server()
    crowded.hang()
    await add_followers(rig.store, ME, [rig.remote(crowded, f"c{i}", shared_inbox=False) for i in range(20)])
    other = fake_server()
    cap, depth = rig.worker.per_host, rig.worker.claim_depth
    async with rig.running():
        sent = await emit_note(rig.store, ME)
        await until(lambda: len(crowded.posts()) == cap, what="the first eight")

        async def leased() -> int:
            rows = await delivery_rows(rig.store, sent["id"])
            return sum(r.locked_by == rig.worker.name and r.state == "pending" for r in rows)

        # Eight more are claimed to start the moment a slot frees; the last four stay unclaimed for any worker.
        await until(lambda: _equals(leased(), cap * depth), what="sixteen claimed")
        # The worker keeps going (another host's delivery gets through) while the crowded host stays at 8.
        await emit_note(rig.store, ME, cc=[], to=[rig.remote(other, "elsewhere").id])
        await until(lambda: len(other.posts()) == 1, what="the other host")
        assert len(crowded.posts()) == cap == 8
        assert await leased() == cap * depth == 16
        crowded.release()
        await until(lambda: _all_delivered(rig.store, 21), what="everything")
    assert len(crowded.posts()) == 20


async def _equals(count: Awaitable[int], expected: int) -> bool:
    return await count == expected


async def test_410_drops_the_follower(rig: Rig, fake_server: Callable[[], FakeServer]) -> None:
    gone_server, kept_server, shared_gone = fake_server(), fake_server(), fake_server()
    gone = rig.remote(gone_server, "gone", shared_inbox=False)
    kept = rig.remote(kept_server, "kept", shared_inbox=False)
    behind_shared = rig.remote(shared_gone, "behind")
    gone_server.reply_with(410)
    shared_gone.reply_with(410)
    await add_followers(rig.store, ME, [gone, kept, behind_shared])
    await emit_note(rig.store, ME)
    await rig.worker.drain()

    assert len(gone_server.posts()) == 1  # 410 is final: no retry
    async with rig.store.read() as session:
        followers = {r.item for r in await collections.all_items(session, ME.followers)}
        follower_count = await collections.count(session, ME.followers)
        follow_states = {f.remote_actor: f.state for f in await session.scalars(select(Follow))}
    assert gone.id not in followers and kept.id in followers
    assert follower_count == len(followers) == 2  # the followers' totalItems went down with them
    assert follow_states[gone.id] == "gone" and follow_states[kept.id] == "accepted"
    # A 410 from a shared inbox says nothing about one follower: they stay.
    assert behind_shared.id in followers
    states = {r.inbox: r.state for r in await delivery_rows(rig.store)}
    assert states[gone.inbox] == "gone" and states[kept.inbox] == "delivered"
    await assert_every_attempt_recorded(rig, {s.netloc: s for s in (gone_server, kept_server, shared_gone)})


async def test_gives_up_at_the_horizon(rig: Rig, fake_server: Callable[[], FakeServer]) -> None:
    policy = rig.worker.policy = RetryPolicy(base_delay=0.2, max_delay=5.0, horizon=2.0)
    down, refusing = fake_server(), fake_server()
    down.reply_with(503)
    refusing.reply_with(403)
    await add_followers(rig.store, ME, [rig.remote(down, "down"), rig.remote(refusing, "no")])
    sent = await emit_note(rig.store, ME)
    async with rig.running():

        async def settled() -> bool:
            return {r.state for r in await delivery_rows(rig.store)} == {"failed"}

        await until(settled, what="both deliveries to fail")
    rows = {r.host: r for r in await delivery_rows(rig.store, sent["id"])}
    # 403: given up at once, no retry (the one attempt knocked with both signature schemes).
    assert len(refusing.posts()) == 2 and rows[refusing.netloc].attempts == 1
    # 503: retried after 0.2, 0.4, 0.8 s ... while the next try still lands inside the 2 s horizon (about four
    # tries; fewer when the worker runs late on a busy machine), then given up: nothing more is sent.
    row = rows[down.netloc]
    attempts = await attempts_of(rig.store, row.id)
    assert len(down.posts()) == row.attempts == len(attempts) >= 2
    for number, attempt in enumerate(attempts[:-1], start=1):  # each retry was scheduled inside the horizon
        assert attempt.at + policy.base_delay * 2 ** (number - 1) - row.created_at <= policy.horizon
    await assert_every_attempt_recorded(rig, {down.netloc: down, refusing.netloc: refusing})


async def test_unreachable_inbox_is_retried_and_recorded(rig: Rig, fake_server: Callable[[], FakeServer]) -> None:
    server = fake_server()
    actor = rig.remote(server, "later")
    server.close()  # nobody listens there any more
    await add_followers(rig.store, ME, [actor])
    await emit_note(rig.store, ME)
    async with rig.running():

        async def tried_twice() -> list[object]:
            rows = await delivery_rows(rig.store)
            attempts = await attempts_of(rig.store, rows[0].id) if rows else []
            return attempts if len(attempts) >= 2 else []

        attempts = await until(tried_twice, what="two failed attempts")
    assert all(a.status is None and "ConnectError" in (a.error or "") for a in attempts)
    (row,) = await delivery_rows(rig.store)
    assert row.state == "pending" and row.last_status is None


async def _delivered(store: Store) -> list[object]:
    rows = await delivery_rows(store)
    return rows if rows and all(r.state == "delivered" for r in rows) else []


async def _all_delivered(store: Store, n: int) -> bool:
    rows = await delivery_rows(store)
    return len(rows) == n and all(r.state == "delivered" for r in rows)


@pytest.mark.postgres
async def test_the_worker_outlives_a_database_restart(
    rig: Rig, fake_server: Callable[[], FakeServer], backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("a PostgreSQL server restart, as all its backends terminated")
    server = fake_server()
    await add_followers(rig.store, ME, [rig.remote(server, "u")])
    async with asyncio.timeout(90), rig.running():  # a hang fails the test instead of holding up the suite
        await emit_note(rig.store, ME)
        await until(lambda: len(server.posts()) == 1, what="the first note")
        await terminate_backends(rig.store.url)
        await asyncio.sleep(0.5)  # the worker's rounds (every 50 ms) meet the dead connection first

        async def emit_after_restart() -> bool:
            try:  # the emitting caller meets a dead pooled connection too; it tries again, as a user would
                async with asyncio.timeout(5.0):
                    await emit_note(rig.store, ME)
            except Exception:
                return False
            return True

        await until(emit_after_restart, what="an emit after the restart")
        await until(lambda: len(server.posts()) == 2, what="the second note, sent by the same running worker")
    assert {r.state for r in await delivery_rows(rig.store)} == {"delivered"}


async def test_an_inbox_url_that_cannot_be_sent_does_not_pause_its_host(
    rig: Rig, fake_server: Callable[[], FakeServer]
) -> None:
    server = fake_server()
    broken, fine = rig.remote(server, "broken", shared_inbox=False), rig.remote(server, "fine", shared_inbox=False)
    await add_followers(rig.store, ME, [broken, fine])
    async with rig.store.write() as session:  # a remote actor document that named an unsendable inbox
        row = await session.get(RemoteActorRow, broken.id)
        assert row is not None
        row.inbox = f"http://{server.netloc}/users/broken inbox"
    await emit_note(rig.store, ME)
    await rig.worker.drain()

    states = {r.inbox: (r.state, r.last_error or "") for r in await delivery_rows(rig.store)}
    assert states[fine.inbox][0] == "delivered"
    state, error = states[f"http://{server.netloc}/users/broken inbox"]
    assert state == "pending" and error.startswith("InvalidURL")
    assert server.netloc not in rig.worker._host_paused_until
    assert [r.path for r in server.posts()] == ["/users/fine/inbox"]
