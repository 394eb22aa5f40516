"""outbox/rounds.py on both stores: a round records its results only where the lease is still the worker's, a
deferred send changes only its lease and due time, the claim passes over busy hosts and leased rows and loads
only the bodies asked for."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update

from outbox.expand import HostTurns
from outbox.rounds import RESULT_KEYS, Lease, Round, run_round
from store import Store
from store.models import Delivery, DeliveryAttempt, StoredObject

NOW = 1_000.0


def pending_rows(hosts: list[str], since: float) -> list[Delivery]:
    """One pending delivery per host named, the first due at `since`, each next one a second later."""
    return [
        Delivery(
            activity_id="http://me.test/a/1",
            actor="me",
            inbox=f"http://{host}/inbox/{n}",
            host=host,
            recipients=[],
            state="pending",
            attempts=0,
            next_attempt_at=since + n,
            locked_until=0.0,
            created_at=since,
            updated_at=since,
        )
        for n, host in enumerate(hosts)
    ]


async def seed(store: Store) -> list[int]:
    async with store.write() as session:
        session.add(
            StoredObject(
                id="http://me.test/a/1",
                actor="me",
                type="Create",
                data={"type": "Create"},
                created_at=NOW,
                updated_at=NOW,
            )
        )
        rows = pending_rows(["a.test", "a.test", "b.test", "c.test"], since=NOW - 10)
        session.add_all(rows)
    return [row.id for row in rows]


def take_all(due: Iterable[tuple[int, str]]) -> list[int]:
    return [delivery_id for delivery_id, _host in due]


async def test_a_round_claims_passing_over_busy_hosts_and_loads_bodies_not_loaded(store: Store) -> None:
    ids = await seed(store)
    lease = Lease(limit=10, now=NOW, until=NOW + 60, busy=["b.test"], choose=take_all)
    claimed, bodies = await run_round(store, Round("w1", NOW, [], [], lease), lambda _activity: False)
    assert [d.id for d in claimed] == [ids[0], ids[1], ids[3]], "oldest first, none to the busy host"
    assert bodies == {"http://me.test/a/1": {"type": "Create"}}

    again, bodies = await run_round(store, Round("w2", NOW, [], [], lease), lambda _activity: True)
    assert again == [] and bodies == {}, "leased rows are not claimed by another worker"
    free = Lease(limit=10, now=NOW, until=NOW + 60, busy=[], choose=take_all)
    again, bodies = await run_round(store, Round("w2", NOW, [], [], free), lambda _activity: True)
    assert [d.id for d in again] == [ids[2]] and bodies == {}, "a body already loaded is not read again"


async def test_results_are_recorded_only_under_the_workers_own_lease(store: Store) -> None:
    ids = await seed(store)
    lease = Lease(limit=10, now=NOW, until=NOW + 60, busy=[], choose=take_all)
    await run_round(store, Round("w1", NOW, [], [], lease), lambda _activity: True)
    async with store.write() as session:  # the lease on ids[1] lapsed and another worker took it
        await session.execute(update(Delivery).where(Delivery.id == ids[1]).values(locked_by="w2"))

    def result(delivery_id: int, **values: object) -> dict[str, object]:
        return dict.fromkeys(RESULT_KEYS) | {"delivery_id": delivery_id, "counted": True} | values

    results = [
        result(ids[0], state="delivered", attempts=1, last_status=202),
        result(ids[1], state="delivered", attempts=1, last_status=202),
        result(ids[2], state="pending", attempts=1, last_status=None, last_error="refused", next_attempt_at=NOW + 5),
        dict.fromkeys(RESULT_KEYS) | {"delivery_id": ids[3], "counted": False, "next_attempt_at": NOW + 30},
    ]
    attempts = [
        {"delivery_id": i, "at": NOW, "status": s, "error": e, "duration_ms": 1.5}
        for i, s, e in [(ids[0], 202, None), (ids[1], 202, None), (ids[2], None, "refused")]
    ]
    claimed, _ = await run_round(store, Round("w1", NOW + 1, results, attempts, None), lambda _activity: True)
    assert claimed == []

    async with store.read() as session:
        rows = {row.id: row for row in await session.scalars(select(Delivery))}
        recorded = list(await session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)))
    delivered, taken, retried, deferred = (rows[i] for i in ids)
    assert (delivered.state, delivered.attempts, delivered.last_status, delivered.locked_by) == (
        "delivered",
        1,
        202,
        None,
    )
    assert delivered.updated_at == NOW + 1 and delivered.next_attempt_at == NOW - 10, "due time kept"
    assert (taken.state, taken.attempts, taken.locked_by) == ("pending", 0, "w2"), "another worker's lease: kept"
    assert (retried.state, retried.attempts, retried.last_error, retried.next_attempt_at) == (
        "pending",
        1,
        "refused",
        NOW + 5,
    )
    assert retried.locked_by is None and retried.locked_until == 0.0
    assert (deferred.attempts, deferred.last_status, deferred.next_attempt_at, deferred.locked_by) == (
        0,
        None,
        NOW + 30,
        None,
    ), "deferred: not counted, due later, lease released"
    assert deferred.updated_at == NOW - 10
    assert [(a.delivery_id, a.status, a.error) for a in recorded] == [
        (ids[0], 202, None),
        (ids[1], 202, None),
        (ids[2], None, "refused"),
    ]


async def test_a_claim_reaches_past_a_window_full_of_one_host_at_its_cap(store: Store) -> None:
    async with store.write() as session:
        session.add_all(pending_rows(["a.test"] * 40 + ["b.test"] * 3 + ["c.test"] * 3, since=NOW - 100))
    counts: dict[str, int] = {}

    def two_per_host(due: Iterable[tuple[int, str]]) -> list[int]:
        taken = []
        for delivery_id, host in due:
            if counts.get(host, 0) < 2:
                counts[host] = counts.get(host, 0) + 1
                taken.append(delivery_id)
        return taken

    lease = Lease(limit=6, now=NOW, until=NOW + 60, busy=[], choose=two_per_host)
    claimed, _ = await run_round(store, Round("w1", NOW, [], [], lease), lambda _activity: True)
    assert sorted(d.host for d in claimed) == ["a.test"] * 2 + ["b.test"] * 2 + ["c.test"] * 2


def test_a_fan_outs_rows_take_its_hosts_in_turn_across_pages() -> None:
    turns = HostTurns(NOW)
    first_page = [("a.test", turns.due("a.test")) for _ in range(3)] + [("b.test", turns.due("b.test"))]
    second_page = [("b.test", turns.due("b.test")) for _ in range(2)] + [("c.test", turns.due("c.test"))]
    in_due_order = [host for host, _due in sorted(first_page + second_page, key=lambda row: row[1])]
    assert sorted(in_due_order[:3]) == ["a.test", "b.test", "c.test"], "every host's first row first"
    assert sorted(in_due_order[3:5]) == sorted(in_due_order[5:]) == ["a.test", "b.test"]
    assert max(due for _host, due in first_page + second_page) - NOW < 1e-5, "microseconds, not seconds"
