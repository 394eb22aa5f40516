"""Purchases: concurrent buyers press Buy on the events peer's page (buy → Offer to the shop → Accept →
confirmed) and wait for the answer; afterwards sold, orders and confirmed purchases must all agree."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx

from bench.harness import log, rss_mib
from bench.measure import CpuMeter, Profiler
from bench.phases.common import JSON_ACCEPT, Run, c2s, csrf_of, events_and_shop, person_client
from bench.seeding import bench_event
from bench.stats import percentile


async def buyer(
    base: str, slug: str, index: int, count: int, latencies: list[float], outcomes: dict[str, int], asked: list[int]
) -> None:
    async with person_client(base, 30.0) as client:
        page = await client.get("/calendars")
        csrf = csrf_of(page.text)
        for n in range(count):
            started = time.perf_counter()
            response = await client.post(
                f"/events/{slug}/buy",
                data={"csrf": csrf, "name": f"Buyer {index}", "email": f"b{index}-{n}@example.test", "quantity": "1"},
            )
            if response.status_code != 303:
                outcomes["buy_failed"] = outcomes.get("buy_failed", 0) + 1
                continue
            status_url = response.headers["location"] + "/status"
            deadline = time.monotonic() + 60
            state, pause = "pending", 0.05
            while time.monotonic() < deadline:
                # `wait`: the events peer answers when the purchase is settled (or after 10 s), so the buyer learns
                # the outcome at once without polling. A peer that answers at once anyway (an older checkout,
                # `--code`) is polled as before: short pauses growing to 0.5 s.
                sent = time.monotonic()
                state = (await client.get(status_url, params={"wait": "10"})).json()["fields"]["state"]
                asked[0] += 1
                if state != "pending":
                    break
                if time.monotonic() - sent < 5:
                    await asyncio.sleep(pause)
                    pause = min(0.5, pause * 1.5)  # a browser polls every 2 s; finer, but not a flood of its own
            outcomes[state] = outcomes.get(state, 0) + 1
            if state == "confirmed":
                latencies.append((time.perf_counter() - started) * 1000)


async def phase_purchases(run: Run) -> None:
    sizes, cluster = run.sizes, run.cluster
    (events, events_base, events_db), (shop, shop_base, shop_db) = await events_and_shop(cluster)
    memory = run.results.setdefault("memory", {})
    memory["shop_idle_mib"] = rss_mib(shop.pid)
    async with httpx.AsyncClient(timeout=30.0) as client:
        event_id = await c2s(client, events_base, bench_event("Benchmark gig"))
    slug = event_id.rsplit("/", 1)[-1]
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    asked = [0]  # status requests the buyers made
    cpu0 = time.process_time()
    meter = CpuMeter(cluster, cluster.raw_db_url(events_db), [events.pid, shop.pid])
    await meter.start()
    started = time.perf_counter()
    with Profiler(cluster, "purchases", [events.pid, shop.pid]):
        await asyncio.gather(
            *(
                buyer(events_base, slug, i, sizes.purchases_per_buyer, latencies, outcomes, asked)
                for i in range(sizes.buyers)
            )
        )
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - cpu0
    peers_cpu = await meter.stop()
    econn = await asyncpg.connect(cluster.raw_db_url(events_db))
    sconn = await asyncpg.connect(cluster.raw_db_url(shop_db))
    bought = sum(outcomes.values()) - outcomes.get("buy_failed", 0)
    settle = time.monotonic() + 90  # a buyer gives up waiting after 60 s; the system still has to finish
    while time.monotonic() < settle:
        pending = await econn.fetchval(
            "SELECT count(*) FROM objects WHERE type = 'TicketPurchase' AND data->>'state' = 'pending'"
        )
        if not pending:
            break
        await asyncio.sleep(0.2)
    sold = await econn.fetchval("SELECT count(*) FROM collection_items WHERE collection = $1", f"{event_id}/sold")
    confirmed = await econn.fetchval(
        "SELECT count(*) FROM objects WHERE type = 'TicketPurchase' AND data->>'state' = 'confirmed'"
    )
    orders = await sconn.fetchval("SELECT count(*) FROM collection_items WHERE collection = $1", f"{shop_base}/orders")
    server_side = [
        (r["updated_at"] - r["created_at"]) * 1000
        for r in await econn.fetch(
            "SELECT created_at, updated_at FROM objects WHERE type = 'TicketPurchase' AND data->>'state' = 'confirmed'"
        )
    ]
    await econn.close()
    await sconn.close()
    async with httpx.AsyncClient(timeout=10.0, headers=JSON_ACCEPT) as client:
        sold_http = (await client.get(f"{events_base}/events/{slug}/sold")).json().get("totalItems")
    count = outcomes.get("confirmed", 0)
    run.results["purchases"] = {
        "buyers": sizes.buyers,
        "attempted": sizes.buyers * sizes.purchases_per_buyer,
        "outcomes": outcomes,
        "elapsed_s": round(elapsed, 3),
        "purchases_per_s": round(count / elapsed, 2) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "server_p50_ms": round(percentile(server_side, 0.5), 1),
        "server_p99_ms": round(percentile(server_side, 0.99), 1),
        "status_requests_per_purchase": round(asked[0] / max(1, bought), 1),
        "sold": sold,
        "sold_http": sold_http,
        "orders": orders,
        "purchases_confirmed": confirmed,
        "bought": bought,
        "client_gave_up": outcomes.get("pending", 0),
        "consistent": sold == orders == confirmed == sold_http == bought,
        "client_cpu_share": round(client_cpu / elapsed, 3) if elapsed else 0.0,
        "cpu": peers_cpu,
        "peers_cpu_ms_per_purchase": round(peers_cpu["focus_cpu_s"] * 1000 / max(1, count), 1),
    }
    memory["events_after_purchases_mib"] = rss_mib(events.pid)
    memory["shop_after_purchases_mib"] = rss_mib(shop.pid)
    log(f"purchases: {run.results['purchases']}")
    cluster.stop(events)
    cluster.stop(shop)
