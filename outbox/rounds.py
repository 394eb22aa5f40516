"""One round of the delivery worker in the store: record the finished sends and lease the next due deliveries
in one transaction, with the bodies of activities the worker has not loaded yet.

What to write and which rows to take is decided in Python by the worker (outbox/worker.py); this module only
runs the statements. On PostgreSQL they go to asyncpg directly, each prepared once for any batch size (the rows
go as arrays, `unnest`): through SQLAlchemy, compiling and binding a round's five statements cost more CPU than
the round's sends apart from their signatures. SQLite runs the same statements through `Store.write()`, whose
single writer and `BEGIN IMMEDIATE` it needs."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text

from outbox.results import Claimed
from outbox.states import DeliveryState
from outbox.unseen import unseen_write
from store.db import Store
from store.driver import driver_connection

# A finished send's row: every key always present, so that one statement serves every outcome. `counted` is
# False for a send deferred before it was made (its host asked for a pause): only its lease and due time change.
RESULT_KEYS = ("delivery_id", "counted", "state", "attempts", "last_status", "last_error", "next_attempt_at")
ATTEMPT_KEYS = ("delivery_id", "at", "status", "error", "duration_ms")


@dataclass(frozen=True)
class Lease:
    """What to claim: up to `limit` due at `now`, none to `busy` hosts, chosen by `choose` from the oldest due
    (id, host) pairs it is shown, leased until `until`. `choose` may be shown several scans; it answers the
    ids it takes of each, `limit` in all."""

    limit: int
    now: float
    until: float
    busy: Sequence[str]
    choose: Callable[[Iterable[tuple[int, str]]], list[int]]


@dataclass(frozen=True)
class Round:
    """One round of `worker`: the rows of its finished sends (`RESULT_KEYS`, written at `now`) and of their
    attempts (`ATTEMPT_KEYS`), then what to claim, if anything."""

    worker: str
    now: float
    results: list[dict[str, Any]]
    attempts: list[dict[str, Any]]
    lease: Lease | None


Claim = tuple[list[Claimed], dict[str, dict[str, Any]]]


async def run_round(store: Store, work: Round, loaded: Callable[[str], bool]) -> Claim:
    """Record the results (of deliveries still leased to the worker: a late result must not overwrite what
    another worker did since) and take the lease: the claimed deliveries, oldest first, and the stored
    documents of their activities for which `loaded` is false."""
    if store.dialect == "postgresql":
        return await _postgres(store, work, loaded)
    return await _sqlalchemy(store, work, loaded)


# For the round's transaction: its commit does not wait for the WAL to reach the disk (lost in a crash of
# PostgreSQL itself, a result or a lease costs one delivery sent again, which receivers drop by its activity's
# id, never a delivery, whose row whoever emitted it committed); and its scans read the due index in order.
# The planner's statistics of a queue that was nearly empty until a fan-out wrote thousands of rows say a row
# or two until autovacuum comes round, and it then planned the scan as a read and sort of every pending row:
# 3 ms a scan at 6,000 rows, where the index read in order stops at the scan's limit.
_PG_ROUND = "SET LOCAL synchronous_commit TO OFF; SET LOCAL enable_seqscan TO OFF; SET LOCAL enable_bitmapscan TO OFF"
_PG_RECORD = """
UPDATE deliveries AS d SET
    attempts = CASE WHEN u.counted THEN u.attempts ELSE d.attempts END,
    last_status = CASE WHEN u.counted THEN u.last_status ELSE d.last_status END,
    last_error = CASE WHEN u.counted THEN u.last_error ELSE d.last_error END,
    state = CASE WHEN u.counted THEN u.state ELSE d.state END,
    updated_at = CASE WHEN u.counted THEN $8 ELSE d.updated_at END,
    next_attempt_at = coalesce(u.next_attempt_at, d.next_attempt_at),
    locked_until = 0, locked_by = NULL
FROM unnest($1::bigint[], $2::bool[], $3::varchar[], $4::int[], $5::int[], $6::text[], $7::float8[])
    AS u(id, counted, state, attempts, last_status, last_error, next_attempt_at)
WHERE d.id = u.id AND d.locked_by = $9
"""
_PG_ATTEMPTS = """
INSERT INTO delivery_attempts (delivery_id, at, status, error, duration_ms)
SELECT * FROM unnest($1::bigint[], $2::float8[], $3::int[], $4::text[], $5::float8[])
"""
# Locked for this short transaction, so that other workers' scans pass over them to the next rows.
_PG_SCAN = """
SELECT id, host FROM deliveries
WHERE state = $1 AND next_attempt_at <= $2 AND locked_until < $2 AND host <> ALL($3::varchar[])
ORDER BY next_attempt_at LIMIT $4
FOR UPDATE SKIP LOCKED
"""
_PG_LEASE = """
UPDATE deliveries SET locked_until = $2, locked_by = $3 WHERE id = ANY($1::bigint[])
RETURNING id, activity_id, actor, inbox, host, attempts, created_at
"""
_PG_BODIES = "SELECT id, data FROM objects WHERE id = ANY($1::varchar[])"


async def _postgres(store: Store, work: Round, loaded: Callable[[str], bool]) -> Claim:
    lease = work.lease
    async with driver_connection(store) as connection, connection.transaction():
        await connection.execute(_PG_ROUND)
        if work.results:
            results = [[row[key] for row in work.results] for key in RESULT_KEYS]
            await connection.execute(_PG_RECORD, *results, work.now, work.worker)
        if work.attempts:
            await connection.execute(_PG_ATTEMPTS, *([row[k] for row in work.attempts] for k in ATTEMPT_KEYS))
        if lease is None:
            return [], {}

        async def scan(excluded: list[str]) -> list[Any]:
            return await connection.fetch(  # type: ignore[no-any-return]
                _PG_SCAN, DeliveryState.PENDING.value, lease.now, excluded, lease.limit * WINDOW
            )

        chosen = await _choose(lease, scan)
        if not chosen:
            return [], {}
        claimed = _oldest_first(await connection.fetch(_PG_LEASE, chosen, lease.until, work.worker))
        wanted = _wanted(claimed, loaded)
        bodies = dict(await connection.fetch(_PG_BODIES, wanted)) if wanted else {}  # json decoded by the pool
        return claimed, bodies


_RECORD = text(
    """
UPDATE deliveries SET
    attempts = CASE WHEN :counted THEN :attempts ELSE attempts END,
    last_status = CASE WHEN :counted THEN :last_status ELSE last_status END,
    last_error = CASE WHEN :counted THEN :last_error ELSE last_error END,
    state = CASE WHEN :counted THEN :state ELSE state END,
    updated_at = CASE WHEN :counted THEN :updated_at ELSE updated_at END,
    next_attempt_at = coalesce(:next_attempt_at, next_attempt_at),
    locked_until = 0, locked_by = NULL
WHERE id = :delivery_id AND locked_by = :worker
"""
)
_ATTEMPTS = text(
    "INSERT INTO delivery_attempts (delivery_id, at, status, error, duration_ms) "
    "VALUES (:delivery_id, :at, :status, :error, :duration_ms)"
)
_SCAN = text(
    "SELECT id, host FROM deliveries WHERE state = :state AND next_attempt_at <= :now AND locked_until < :now "
    "AND host NOT IN :busy ORDER BY next_attempt_at LIMIT :limit"
).bindparams(bindparam("busy", expanding=True))
_LEASE = text(
    "UPDATE deliveries SET locked_until = :until, locked_by = :worker WHERE id IN :ids "
    "RETURNING id, activity_id, actor, inbox, host, attempts, created_at"
).bindparams(bindparam("ids", expanding=True))
_BODIES = text("SELECT id, data FROM objects WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))


async def _sqlalchemy(store: Store, work: Round, loaded: Callable[[str], bool]) -> Claim:
    lease = work.lease
    async with unseen_write(store) as session:
        connection = await session.connection()
        if work.results:
            extra = {"updated_at": work.now, "worker": work.worker}
            await connection.execute(_RECORD, [{**row, **extra} for row in work.results])
        if work.attempts:
            await connection.execute(_ATTEMPTS, work.attempts)
        if lease is None:
            return [], {}
        # SQLite's single writer (BEGIN IMMEDIATE) is the lock that FOR UPDATE SKIP LOCKED is on PostgreSQL.
        due = {"state": DeliveryState.PENDING.value, "now": lease.now, "limit": lease.limit * WINDOW}

        async def scan(excluded: list[str]) -> list[Any]:
            return list(await connection.execute(_SCAN, {**due, "busy": excluded}))

        chosen = await _choose(lease, scan)
        if not chosen:
            return [], {}
        rows = await connection.execute(_LEASE, {"ids": chosen, "until": lease.until, "worker": work.worker})
        claimed = _oldest_first(rows)
        wanted = _wanted(claimed, loaded)
        if not wanted:
            return claimed, {}
        found = await connection.execute(_BODIES, {"ids": wanted})
        return claimed, {activity_id: json.loads(data) for activity_id, data in found}


WINDOW = 4  # a scan looks at this many due rows per delivery wanted
SCANS = 4  # at most this many scans per claim


async def _choose(lease: Lease, scan: Callable[[list[str]], Awaitable[list[Any]]]) -> list[int]:
    """The ids `lease.choose` takes from scans of the oldest due rows. A fan-out's rows take its hosts in turn
    (outbox/expand.py HostTurns), but retries and rows written by other means can still bunch up by host, and a
    window full of one host at its cap would yield a delivery or two per claim and leave the others idle: when
    a scan fills its window without filling the claim, the next one passes over the hosts it saw."""
    excluded = list(lease.busy)
    chosen: list[int] = []
    for _ in range(SCANS):
        rows = await scan(excluded)
        chosen += lease.choose((row[0], row[1]) for row in rows)
        if len(chosen) >= lease.limit or len(rows) < lease.limit * WINDOW:
            break
        excluded += {row[1] for row in rows}
    return chosen


def _oldest_first(rows: Iterable[Sequence[Any]]) -> list[Claimed]:
    # RETURNING gives no order: oldest first again (the oldest purchases have waited longest).
    return sorted((Claimed(*row) for row in rows), key=lambda delivery: delivery.id)


def _wanted(claimed: list[Claimed], loaded: Callable[[str], bool]) -> list[str]:
    return [activity_id for activity_id in {d.activity_id for d in claimed} if not loaded(activity_id)]
