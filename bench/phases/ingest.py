"""Inbox ingest: pre-signed Creates from bench/loadgen.py into the blog's inbox, against a bare Starlette endpoint
(bench/bare.py) served the same way, measured before and after the peer; and the load generator's own ceiling."""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
from pathlib import Path
from typing import Any

import asyncpg

from bench.harness import REPO, Proc, cpus, free_ports, log, on_cpu, pinning, rss_mib, wait_healthy, wait_tcp
from bench.measure import CpuMeter, Profiler
from bench.phases.common import Run
from bench.seeding import presign


async def loadgen(
    run: Run,
    port: int,
    requests_file: Path,
    warmup: int,
    cpu: int | None,
    dsn: str | None = None,
    server: Proc | None = None,
) -> dict[str, Any]:
    args = [sys.executable, str(REPO / "bench" / "loadgen.py"), "--port", str(port), "--requests", str(requests_file)]
    args += ["--concurrency", str(run.sizes.concurrency), "--warmup", str(warmup), "--time-limit", "90"]
    meter = CpuMeter(run.cluster, dsn, [server.pid] if server else [])
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, preexec_fn=on_cpu(cpu)
    )
    run.cluster.child_pids.append(proc.pid)
    await meter.start()
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=240)
    finally:
        run.cluster.child_pids.remove(proc.pid)
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen failed: {err.decode()[-2000:]}")
    result = dict(json.loads(out))
    result["cpu"] = await meter.stop()  # includes the warm-up
    if server is not None:
        result["server_cpu_ms_per_request"] = round(result["cpu"]["focus_cpu_s"] * 1000 / (warmup + result["count"]), 3)
    return result


async def phase_inbox(run: Run) -> None:
    """Inbox ingest on blog vs a bare Starlette endpoint (measured before and after the peer, averaged)."""
    sizes, cluster = run.sizes, run.cluster
    server_cpu, client_cpu = pinning()
    bare_port, blog_port = free_ports(2)
    blog_base = f"http://127.0.0.1:{blog_port}"
    total = sizes.inbox_warmup + sizes.inbox_requests
    log(f"pre-signing {total} Create activities…")
    requests = presign(run.actor_keys, f"{blog_base}/inbox", total, max(1, len(cpus())))
    requests_file = cluster.logs / "inbox-requests.pickle"
    requests_file.write_bytes(pickle.dumps(requests))
    inbox: dict[str, Any] = {"concurrency": sizes.concurrency, "requests": sizes.inbox_requests}

    # The load generator's own ceiling, against the raw sink (which is cheaper than any Starlette app).
    inbox["loadgen_ceiling"] = await loadgen(run, run.sink_ports[0], requests_file, sizes.inbox_warmup, client_cpu)
    log(f"loadgen ceiling: {inbox['loadgen_ceiling']['rate']}/s")

    async def bare_run() -> dict[str, Any]:
        command = [sys.executable, str(REPO / "bench" / "bare.py"), "--port", str(bare_port)]
        bare = cluster.start("bare", command, cluster.env(), server_cpu)
        await wait_tcp(bare, bare_port)
        result = await loadgen(run, bare_port, requests_file, sizes.inbox_warmup, client_cpu, server=bare)
        cluster.stop(bare)
        log(f"bare Starlette: {result['rate']}/s, {result['server_cpu_ms_per_request']} ms CPU/req, {result['cpu']}")
        return result

    bare_before = await bare_run()
    database = await cluster.new_database("blog")
    dsn = cluster.raw_db_url(database)
    blog = cluster.peer("blog", "blog", blog_port, database, cpu=server_cpu)
    await wait_healthy(blog, blog_base)
    run.blog = (blog, blog_base, dsn)
    run.results.setdefault("memory", {})["blog_idle_mib"] = rss_mib(blog.pid)
    with Profiler(cluster, "inbox", [blog.pid]):
        peer = await loadgen(run, blog_port, requests_file, sizes.inbox_warmup, client_cpu, dsn, blog)
    conn = await asyncpg.connect(dsn)
    stored = await conn.fetchval("SELECT count(*) FROM inbox_activities")
    await conn.close()
    accepted = peer["statuses"].get("202", 0)
    peer["stored"] = stored
    peer["every_202_stored"] = stored >= accepted + sizes.inbox_warmup
    log(
        f"blog inbox: {peer['rate']}/s, {peer['server_cpu_ms_per_request']} ms CPU/req, statuses {peer['statuses']}, "
        f"stored {stored}, cpu {peer['cpu']}"
    )
    bare_after = await bare_run()
    bare = dict(bare_after)
    for key in ("rate", "p50_ms", "p90_ms", "p99_ms"):
        bare[key] = round((bare_before[key] + bare_after[key]) / 2, 3)
    inbox.update(peer=peer, bare=bare, bare_before=bare_before, bare_after=bare_after)
    inbox["ratio"] = round(peer["rate"] / bare["rate"], 3)
    bare["server_cpu_ms_per_request"] = round(
        (bare_before["server_cpu_ms_per_request"] + bare_after["server_cpu_ms_per_request"]) / 2, 4
    )
    inbox["cpu_ratio"] = round(bare["server_cpu_ms_per_request"] / peer["server_cpu_ms_per_request"], 3)
    run.results["inbox"] = inbox
