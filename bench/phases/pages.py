"""Pages people read: /calendars with 200 events and the blog's index with 1,000 posts, each under 32 concurrent
readers (bench/loadgen.py, raw keep-alive GETs), p50/p99 per page. The events and posts are made through the
store by the peers' own functions (`schedule`, `create_post`) in this process, before the peer process starts."""

from __future__ import annotations

import pickle
import time
from typing import Any

from bench.harness import TOKEN, free_ports, log, pinning, wait_healthy
from bench.measure import Profiler
from bench.phases.common import Run
from bench.phases.ingest import loadgen
from peer.app import create_app
from peer.settings import Settings

EVENTS = 200
POSTS = 1_000
READS = 3_000
WARMUP = 200

EVENT_FORM = {"timezone": "Europe/London", "capacity": "100", "location": "The Hall", "price": "0"}


def _settings(kind: str, base: str, dsn: str) -> Settings:
    return Settings(kind=kind, base_url=base, database_url=dsn, admin_token=TOKEN, inprocess_worker=False)


async def seed_calendar(base: str, dsn: str, count: int) -> None:
    from activities.event import parse_event_input
    from actors.events.calendars import create_calendar
    from actors.events.schedule import schedule

    app = create_app(_settings("events", base, dsn))
    async with app.router.lifespan_context(app):
        services = app.state.services
        async with services.store.write() as session:
            calendar = await create_calendar(session, services, "Main hall")
        for i in range(count):
            day = 1 + i % 28
            form = {**EVENT_FORM, "name": f"Evening {i}", "start": f"2027-{1 + i % 12:02d}-{day:02d}T19:00"}
            form["end"] = f"2027-{1 + i % 12:02d}-{day:02d}T23:00"
            async with services.store.write() as session:
                await schedule(session, services, calendar, parse_event_input(form), None)


async def seed_blog(base: str, dsn: str, count: int) -> None:
    from actors.blog.posts import create_post

    app = create_app(_settings("blog", base, dsn))
    async with app.router.lifespan_context(app):
        services = app.state.services
        for i in range(count):
            async with services.store.write() as session:
                body = f"Post number {i}.\n\nA paragraph or two of words, as a blog post has."
                await create_post(session, services, f"Post {i}", body, slug=f"post-{i}")


async def read_page(run: Run, name: str, port: int, path: str, server: Any, dsn: str) -> dict[str, Any]:
    raw = f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\naccept: text/html\r\n\r\n".encode()
    requests_file = run.cluster.logs / f"pages-{name}.pickle"
    requests_file.write_bytes(pickle.dumps([raw] * (WARMUP + READS)))
    _, client_cpu = pinning()
    result = await loadgen(run, port, requests_file, WARMUP, client_cpu, dsn, server)
    result["path"] = path
    log(f"pages {name}: {result['rate']}/s p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms {result['statuses']}")
    return result


async def phase_pages(run: Run) -> None:
    cluster = run.cluster
    server_cpu, _ = pinning()
    out: dict[str, Any] = {"concurrency": run.sizes.concurrency, "event_count": EVENTS, "post_count": POSTS}
    out["reads"] = READS
    for kind, count, seed, path in (
        ("events", EVENTS, seed_calendar, "/calendars"),
        ("blog", POSTS, seed_blog, "/"),
    ):
        (port,) = free_ports(1)
        base = f"http://127.0.0.1:{port}"
        database = await cluster.new_database(f"pages_{kind}")
        dsn = cluster.raw_db_url(database)
        started = time.perf_counter()
        await seed(base, dsn, count)
        log(f"pages: seeded {count} on {kind} in {time.perf_counter() - started:.1f} s")
        peer = cluster.peer(f"pages-{kind}", kind, port, database, cpu=server_cpu)
        await wait_healthy(peer, base)
        with Profiler(cluster, f"pages-{kind}", [peer.pid]):
            out[kind] = await read_page(run, kind, port, path, peer, dsn)
        cluster.stop(peer)
    run.results["pages"] = out
