"""The idle peer: CPU each of blog, events and shop uses while nobody asks anything of it (and its PostgreSQL
backends beside it), its resident memory idle, and the events peer's after a fan-out to 10,000 followers."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import asyncpg

from bench.harness import Proc, free_ports, log, rss_mib, wait_healthy
from bench.phases.common import Run
from bench.phases.fanout import fan_out
from bench.seeding import bench_event, seed_followers

SETTLE_S = 5.0  # after start: the seeds' activities are sent, the first rounds are done
AFTER_FANOUT_S = 10.0  # after the fan-out: time for the peer to come to rest before its memory is read again
KINDS = ("blog", "events", "shop")


def cpu_seconds(pid: int) -> float:
    """CPU time of all the process's threads, in seconds (nanosecond counters, not clock ticks)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            pass  # a thread that ended meanwhile
    return total / 1e9


def backend_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass  # a backend that ended meanwhile
    return total


async def backends(dsn: str) -> list[int]:
    """The PostgreSQL server processes serving the peer's database (this connection's excepted)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def measure_idle(peers: dict[str, tuple[Proc, str]], seconds: float) -> dict[str, Any]:
    """Each peer's CPU over the same window, as a percentage of one core."""
    pg = {kind: await backends(dsn) for kind, (_, dsn) in peers.items()}
    before = {kind: cpu_seconds(proc.pid) for kind, (proc, _) in peers.items()}
    ticks = {kind: backend_ticks(pids) for kind, pids in pg.items()}
    started = asyncio.get_running_loop().time()
    await asyncio.sleep(seconds)
    elapsed = asyncio.get_running_loop().time() - started
    hz = os.sysconf("SC_CLK_TCK")
    out: dict[str, Any] = {}
    for kind, (proc, _) in peers.items():
        used = cpu_seconds(proc.pid) - before[kind]
        backend = (backend_ticks(pg[kind]) - ticks[kind]) / hz
        out[kind] = {
            "cpu_s": round(used, 4),
            "cpu_percent": round(100 * used / elapsed, 3),
            "postgres_backends": len(pg[kind]),
            "postgres_cpu_percent": round(100 * backend / elapsed, 3),
        }
    out["window_s"] = round(elapsed, 1)
    return out


async def phase_idle(run: Run) -> None:
    """Three peers that know each other, left alone; then the events peer fans out to 10,000 followers."""
    cluster, sizes = run.cluster, run.sizes
    ports = dict(zip(KINDS, free_ports(len(KINDS)), strict=True))
    urls = {kind: f"http://127.0.0.1:{port}" for kind, port in ports.items()}
    peers: dict[str, tuple[Proc, str]] = {}
    for kind in KINDS:
        database = await cluster.new_database(f"idle_{kind}")
        others = {k: u for k, u in urls.items() if k != kind}
        proc = cluster.peer(f"idle-{kind}", kind, ports[kind], database, peers=others)
        peers[kind] = (proc, cluster.raw_db_url(database))
    for kind, (proc, _) in peers.items():
        await wait_healthy(proc, urls[kind])
    await asyncio.sleep(SETTLE_S)
    memory = {kind: rss_mib(proc.pid) for kind, (proc, _) in peers.items()}
    log(f"idle peers: {memory} MiB; measuring their CPU for {sizes.idle_seconds:g} s…")
    result: dict[str, Any] = {"cpu": await measure_idle(peers, sizes.idle_seconds), "idle_mib": memory}
    log(f"idle CPU: {result['cpu']}")

    events, dsn = peers["events"]
    expected = await seed_followers(
        dsn, f"{urls['events']}/actor/followers", run.sink_ports, sizes.followers, sizes.inboxes
    )
    idle_before = rss_mib(events.pid)
    fanned = await fan_out(
        run, urls["events"], dsn, expected, bench_event("Idle, then busy"), "idle events", [events.pid]
    )
    right_after = rss_mib(events.pid)
    await asyncio.sleep(AFTER_FANOUT_S)
    settled = rss_mib(events.pid)
    result["fanout"] = {
        "followers": sizes.followers,
        "inboxes": expected,
        "delivered": fanned["deliveries"],
        "events_before_mib": idle_before,
        "events_right_after_mib": right_after,
        "events_after_mib": settled,
        "events_peak_mib": peak_mib(events.pid),
        "growth": round(settled / idle_before - 1, 3) if idle_before else None,
    }
    log(f"events memory: {result['fanout']}")
    for proc, _ in peers.values():
        cluster.stop(proc)
    run.results["idle"] = result
