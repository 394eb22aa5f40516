"""Which statements wait for a row lock, and how often: samples PostgreSQL's `pg_stat_activity` while a benchmark
runs beside it, and prints the statements most often seen waiting (per database: each peer has its own).

    .venv/bin/python bench/lock_waits.py --seconds 85 &
    BENCH_RUSH_PROVIDERS=manual .venv/bin/python bench/run.py --only rush

A count is the number of samples in which one backend was waiting on that statement, summed over backends: 600
samples with two backends waiting on the same UPDATE count 1,200. Sampling every 20 ms costs PostgreSQL a few per
cent of a core, enough to stretch the run it watches a little."""

from __future__ import annotations

import argparse
import asyncio
import collections
import time

import asyncpg

_ACTIVE = (
    "SELECT datname, wait_event_type, left(query, 90) AS query FROM pg_stat_activity "
    "WHERE state = 'active' AND pid <> pg_backend_pid()"
)


async def sample(dsn: str, seconds: float, interval: float) -> tuple[int, int, collections.Counter[tuple[str, str]]]:
    """(samples taken, samples with at least one backend waiting for a lock, waits per (database, statement))."""
    connection = await asyncpg.connect(dsn)
    waits: collections.Counter[tuple[str, str]] = collections.Counter()
    samples = with_waits = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            rows = await connection.fetch(_ACTIVE)
            samples += 1
            locked = [(row["datname"], row["query"]) for row in rows if row["wait_event_type"] == "Lock"]
            waits.update(locked)
            with_waits += bool(locked)
            await asyncio.sleep(interval)
    finally:
        await connection.close()
    return samples, with_waits, waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    samples, with_waits, waits = asyncio.run(sample(args.dsn, args.seconds, args.interval))
    print(f"{samples} samples, {with_waits} with a backend waiting for a lock")
    for (database, query), count in waits.most_common(args.top):
        print(f"{count:7d}  {database}  {' '.join(query.split())}")


if __name__ == "__main__":
    main()
