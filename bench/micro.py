"""In-process micro-benchmarks for profiling: CPU milliseconds per inbox request and per delivery, measured with
`time.process_time()` in one process, so that other load on the machine barely moves them (unlike wall-clock rates).

    .venv/bin/python bench/micro.py inbox  [--requests 3000] [--concurrency 32]
    .venv/bin/python bench/micro.py fanout [--followers 10000] [--inboxes 2000]
    .venv/bin/py-spy record -o profile.svg -- .venv/bin/python bench/micro.py inbox

`inbox` drives the blog app's ASGI callable directly (no sockets) with pre-signed Create activities whose keys are
already stored; `fanout` makes the events actor emit a Create(Event) to N seeded followers and drains its delivery
worker against a loopback sink (bench/sink.py). Both use a fresh PostgreSQL database on BENCH_DATABASE_SERVER (as
bench/run.py does), dropped afterwards. The CPU figure covers this process only (the peer's Python work), not
PostgreSQL's or the sink's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.harness import (  # noqa: E402
    TOKEN,
    create_database,
    database_server,
    drop_databases,
    free_ports,
    plain_url,
    sink_command,
)
from bench.loop import run_fast  # noqa: E402
from bench.measure import raw_rsa  # noqa: E402
from bench.seeding import bench_event, make_actors, presign, seed_followers  # noqa: E402
from peer.app import create_app  # noqa: E402
from peer.settings import Settings  # noqa: E402


async def asgi_post(app: Any, raw: bytes) -> int:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, path, _ = lines[0].split(b" ")
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(b":") for line in lines[1:])]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.decode(),
        "scheme": "http",
        "path": path.decode(),
        "raw_path": path,
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 9),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def database(name: str) -> tuple[str, str]:
    db = f"micro_{name}_{int(time.time())}"
    await create_database(database_server(), db)
    return db, plain_url(database_server(), db)


async def drop(db: str) -> None:
    await drop_databases(database_server(), [db])


def settings(kind: str, dsn: str) -> Settings:
    return Settings(
        kind=kind,
        base_url="http://127.0.0.1:9",
        database_url=dsn,
        admin_token=TOKEN,
        allow_private=True,
        inprocess_worker=False,
    )


async def inbox(args: argparse.Namespace) -> dict[str, Any]:
    db, dsn = await database("inbox")
    try:
        app = create_app(settings("blog", dsn))
        docs, keys = make_actors(1, 4)
        total = args.warmup + args.requests
        requests = presign(keys, "http://127.0.0.1:9/inbox", total, 2)
        async with app.router.lifespan_context(app):
            conn = await asyncpg.connect(dsn)
            for doc in docs.values():
                key = doc["publicKey"]
                await conn.execute(
                    "INSERT INTO remote_keys (key_id, owner, public_pem, fetched_at) VALUES ($1, $2, $3, $4)",
                    key["id"],
                    doc["id"],
                    key["publicKeyPem"],
                    time.time(),
                )
            await conn.close()
            statuses: dict[int, int] = {}
            position = 0

            async def client(limit: int) -> None:
                nonlocal position
                while position < limit:
                    raw = requests[position]
                    position += 1
                    status = await asgi_post(app, raw)
                    statuses[status] = statuses.get(status, 0) + 1

            await asyncio.gather(*(client(args.warmup) for _ in range(args.concurrency)))
            statuses.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(client(total) for _ in range(args.concurrency)))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        sign_ms = raw_rsa(1.0)["sign_ms"]
        return {
            "requests": args.requests,
            "statuses": statuses,
            "cpu_ms_per_request": round(cpu * 1000 / args.requests, 3),
            "sign_ms": sign_ms,
            "cpu_per_request_in_signs": round(cpu * 1000 / args.requests / sign_ms, 3),
            "wall_rate": round(args.requests / wall, 1),
        }
    finally:
        await drop(db)


async def fanout(args: argparse.Namespace) -> dict[str, Any]:
    db, dsn = await database("fanout")
    ports = free_ports(args.hosts)
    sink = await asyncio.create_subprocess_exec(*sink_command(ports))
    await asyncio.sleep(1.0)
    try:
        app = create_app(settings("events", dsn))
        async with app.router.lifespan_context(app):
            inboxes = await seed_followers(
                dsn, "http://127.0.0.1:9/actor/followers", ports, args.followers, args.inboxes
            )
            worker = app.state.worker
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9") as client:
                response = await client.post(
                    "/actor/outbox",
                    json=bench_event("Micro"),
                    headers={"authorization": f"Bearer {TOKEN}"},
                )
                assert response.status_code == 201, response.text
            cpu, wall = time.process_time(), time.perf_counter()
            await worker.drain(300)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            conn = await asyncpg.connect(dsn)
            states = dict(await conn.fetch("SELECT state, count(*) FROM deliveries GROUP BY state"))
            await conn.close()
        signs = raw_rsa(1.0)["sign_ms"]
        return {
            "deliveries": inboxes,
            "states": states,
            "cpu_ms_per_delivery": round(cpu * 1000 / inboxes, 3),
            "sign_ms": signs,
            "cpu_per_delivery_in_signs": round(cpu * 1000 / inboxes / signs, 3),
            "wall_rate": round(inboxes / wall, 1),
        }
    finally:
        sink.terminate()
        await sink.wait()
        await drop(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["inbox", "fanout"])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--inboxes", type=int, default=2_000)
    parser.add_argument("--hosts", type=int, default=16)
    args = parser.parse_args()
    coro = inbox(args) if args.what == "inbox" else fanout(args)
    print(json.dumps(run_fast(coro)))


if __name__ == "__main__":
    main()
