"""Fan-out: one C2S activity to many followers, timed until every delivery is recorded, against the RSA signing
rate measured beside it; events with its in-process worker and with 1 and 2 worker processes, and the blog's."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import asyncpg
import httpx

from bench.harness import free_ports, log, rss_mib, wait_healthy
from bench.measure import CpuMeter, Profiler, raw_rsa
from bench.phases.common import Run, c2s, ensure_blog, sink_stats
from bench.seeding import bench_event, seed_followers


async def fan_out(
    run: Run, base: str, dsn: str, expected: int, activity: dict[str, Any], label: str, pids: list[int]
) -> dict[str, Any]:
    """POST one C2S activity to followers; time until every delivery is recorded as delivered."""
    conn = await asyncpg.connect(dsn)
    profile = Profiler(run.cluster, "fanout-" + re.sub(r"\W+", "-", label), pids)
    async with httpx.AsyncClient(timeout=30.0) as client:
        await sink_stats(client, run.sink_ports[0], reset=True)
        before = await conn.fetchval("SELECT coalesce(max(id), 0) FROM fanouts")
        yardstick = raw_rsa(0.8)  # taken right next to the run it divides
        signs = yardstick["signs_per_s"]
        meter = CpuMeter(run.cluster, dsn, pids)
        await meter.start()
        profile.__enter__()
        started = time.perf_counter()
        await c2s(client, base, activity)
        activity_id = await conn.fetchval("SELECT activity_id FROM fanouts WHERE id > $1 ORDER BY id LIMIT 1", before)
        deadline = time.monotonic() + 180
        states: dict[str, int] = {}
        while time.monotonic() < deadline:
            rows = await conn.fetch(
                "SELECT state, count(*) AS n FROM deliveries WHERE activity_id = $1 GROUP BY state", activity_id
            )
            states = {r["state"]: r["n"] for r in rows}
            if states.get("delivered", 0) >= expected or (sum(states.values()) >= expected and "pending" not in states):
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        profile.__exit__()
        cpu = await meter.stop()
        stats = await sink_stats(client, run.sink_ports[0])
    attempts = await conn.fetchval(
        "SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.activity_id = $1",
        activity_id,
    )
    await conn.close()
    delivered = states.get("delivered", 0)
    send_span = (stats["last"] - stats["first"]) if stats.get("posts") else 0.0
    result = {
        "label": label,
        "deliveries": delivered,
        "expected": expected,
        "states": states,
        "attempts_recorded": attempts,
        "sink_posts": stats.get("posts", 0),
        "elapsed_s": round(elapsed, 3),
        "deliveries_per_s": round(delivered / elapsed, 1) if elapsed else 0.0,
        "send_span_s": round(send_span, 3),
        "send_rate_per_s": round(delivered / send_span, 1) if send_span else 0.0,
        "signs_per_s_adjacent": signs,
        "sign_cpu_ms_adjacent": yardstick["sign_cpu_ms"],
        "cpu": cpu,
        "worker_cpu_ms_per_delivery": round(cpu["focus_cpu_s"] * 1000 / delivered, 3) if delivered else None,
    }
    # The same ratio from CPU time: the share of the workers' CPU that is the signature itself. Other load on a
    # shared machine stretches wall-clock rates but hardly CPU time, so this one is stable from run to run.
    if delivered and cpu["focus_cpu_s"]:
        result["cpu_ratio"] = round(yardstick["sign_cpu_ms"] / result["worker_cpu_ms_per_delivery"], 3)
    log(
        f"fan-out {label}: {delivered}/{expected} in {elapsed:.2f}s = {result['deliveries_per_s']}/s, "
        f"{result['worker_cpu_ms_per_delivery']} ms CPU/delivery (sign {1000 / signs:.2f} ms), {cpu}"
    )
    return result


async def phase_fanout(run: Run) -> None:
    """Events with N followers on M inboxes: in-process worker, then 1 and 2 `rose-ash worker` processes."""
    sizes, cluster = run.sizes, run.cluster
    database = await cluster.new_database("fanout")
    dsn = cluster.raw_db_url(database)
    (port,) = free_ports(1)
    base = f"http://127.0.0.1:{port}"
    events = cluster.peer("events-fanout", "events", port, database)
    await wait_healthy(events, base)
    memory = run.results.setdefault("memory", {})
    memory["events_idle_mib"] = rss_mib(events.pid)
    expected = await seed_followers(dsn, f"{base}/actor/followers", run.sink_ports, sizes.followers, sizes.inboxes)
    runs = []
    result = await fan_out(run, base, dsn, expected, bench_event("In-process"), "in-process worker", [events.pid])
    result["workers"] = 1
    runs.append(result)
    memory["events_after_fanout_mib"] = rss_mib(events.pid)
    cluster.stop(events)

    events = cluster.peer("events-web", "events", port, database, ROSE_ASH_INPROCESS_WORKER="0")
    await wait_healthy(events, base)
    workers = []
    for n in (1, 2):
        workers.append(cluster.peer(f"events-worker{n}", "events", port, database, command="worker"))
        await asyncio.sleep(1.5)  # the worker migrates (a no-op), loads its key and starts polling
        if not workers[-1].alive():
            raise RuntimeError(f"worker {n} exited:\n{workers[-1].tail()}")
        label = f"{n} worker process{'es' if n > 1 else ''}"
        result = await fan_out(run, base, dsn, expected, bench_event(f"Workers {n}"), label, [w.pid for w in workers])
        result["workers"] = n
        runs.append(result)
    memory["events_worker_after_fanout_mib"] = [rss_mib(w.pid) for w in workers]
    for proc in [*workers, events]:
        cluster.stop(proc)
    run.results["fanout"] = {"followers": sizes.followers, "inboxes": expected, "hosts": sizes.hosts, "runs": runs}


async def phase_blog_fanout(run: Run) -> None:
    """The blog's memory after a fan-out of a new post to 10k followers (its in-process worker). Its rate is not a
    target (the events runs measure that), so the followers share fewer inboxes here to keep the run short."""
    sizes = run.sizes
    blog, blog_base, dsn = await ensure_blog(run)
    inboxes = min(sizes.inboxes, 1_000)
    expected = await seed_followers(dsn, f"{blog_base}/actor/followers", run.sink_ports, sizes.followers, inboxes)
    article = {"type": "Create", "object": {"type": "Article", "name": "Fan-out", "content": "Hello, followers."}}
    label = "blog, in-process worker pinned to one core"
    run.results["blog_fanout"] = await fan_out(run, blog_base, dsn, expected, article, label, [blog.pid])
    run.results.setdefault("memory", {})["blog_after_fanout_mib"] = rss_mib(blog.pid)
    run.cluster.stop(blog)
    run.blog = None
