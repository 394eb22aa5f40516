"""The ticket rush: more buyers than seats arrive within a few seconds, each through the event's page (its form's
CSRF token, Buy, then the ticket's status until the shop has answered). A priced ticket is held while its buyer
pays; afterwards the shop's staff mark every held order paid and each buyer waits for "confirmed". Exactly the
seats are sold, both peers hold the same count, and everybody else is told "sold out"."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from activities.order import product_key
from bench.harness import TOKEN, log
from bench.measure import CpuMeter, Profiler
from bench.phases.common import JSON_ACCEPT, Run, c2s, csrf_of, events_and_shop
from bench.stats import percentile
from tests.support.events import event_activity

PRICE = "12.50"
STAFF_CONCURRENCY = 16  # staff marking orders paid: a box office with a few tills, not one request at a time


@dataclass
class Rush:
    started: float = 0.0
    held_at: list[float] = field(default_factory=list)  # seconds after the start at which each seat was held
    to_held_ms: list[float] = field(default_factory=list)
    to_refusal_ms: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    held: list[tuple[str, str]] = field(default_factory=list)  # (purchase status URL, order number)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


async def settled_state(client: httpx.AsyncClient, status_url: str, waiting_for: str = "pending") -> dict[str, str]:
    """The purchase's fields once its state is no longer `waiting_for` (the status request waits up to 10 s)."""
    deadline = time.monotonic() + 60
    fields: dict[str, str] = {"state": waiting_for}
    while time.monotonic() < deadline and fields["state"] == waiting_for:
        fields = (await client.get(status_url, params={"wait": "10"})).json()["fields"]
    return fields


async def buyer(base: str, slug: str, index: int, delay: float, rush: Rush) -> None:
    await asyncio.sleep(delay)
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as client:
        csrf = csrf_of((await client.get(f"/events/{slug}")).text)
        pressed = time.perf_counter()
        response = await client.post(
            f"/events/{slug}/buy",
            data={"csrf": csrf, "name": f"Buyer {index}", "email": f"rush{index}@example.test", "quantity": "1"},
        )
        if response.status_code != 303:
            rush.count(f"buy_http_{response.status_code}")
            return
        status_url = response.headers["location"] + "/status"
        fields = await settled_state(client, status_url)
        answered = time.perf_counter()
        rush.count(fields["state"])
        if fields["state"] == "held":
            rush.to_held_ms.append((answered - pressed) * 1000)
            rush.held_at.append(answered - rush.started)
            rush.held.append((str(httpx.URL(base).join(status_url)), fields["orderNumber"]))
        elif fields["state"] == "rejected":
            rush.to_refusal_ms.append((answered - pressed) * 1000)
            rush.reasons[fields["reason"]] = rush.reasons.get(fields["reason"], 0) + 1


async def staff_client(shop_base: str) -> tuple[httpx.AsyncClient, str]:
    """A client signed in to the shop with the admin token, and its CSRF token."""
    client = httpx.AsyncClient(base_url=shop_base, timeout=60.0)
    csrf = csrf_of((await client.get("/login")).text)
    signed_in = await client.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/orders"})
    if signed_in.status_code != 303:
        raise RuntimeError(f"staff sign-in failed: {signed_in.status_code}")
    return client, csrf_of((await client.get("/orders")).text)


async def pay_all(shop_base: str, held: list[tuple[str, str]]) -> tuple[list[float], dict[str, int], float]:
    """Staff mark each held order paid; each buyer waits for "confirmed". Milliseconds from paid to confirmed."""
    staff, csrf = await staff_client(shop_base)
    gate = asyncio.Semaphore(STAFF_CONCURRENCY)
    to_confirmed: list[float] = []
    outcomes: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=60.0) as watcher:

        async def pay(status_url: str, number: str) -> None:
            async with gate:
                paid_at = time.perf_counter()
                marked = await staff.post(f"/orders/{number}/paid", data={"csrf": csrf})
            if marked.status_code != 303:
                outcomes[f"paid_http_{marked.status_code}"] = outcomes.get(f"paid_http_{marked.status_code}", 0) + 1
                return
            state = (await settled_state(watcher, status_url, waiting_for="held"))["state"]
            outcomes[state] = outcomes.get(state, 0) + 1
            if state == "confirmed":
                to_confirmed.append((time.perf_counter() - paid_at) * 1000)

        started = time.perf_counter()
        try:
            await asyncio.gather(*(pay(url, number) for url, number in held))
        finally:
            await staff.aclose()
    return to_confirmed, outcomes, time.perf_counter() - started


async def totals(events_base: str, shop_base: str, event_id: str, slug: str) -> dict[str, Any]:
    key = product_key(event_id)
    urls = {
        "events_sold": f"{events_base}/events/{slug}/sold",
        "events_held": f"{events_base}/events/{slug}/held",
        "shop_tickets": f"{shop_base}/products/{key}/tickets",
        "shop_held": f"{shop_base}/products/{key}/held",
    }
    async with httpx.AsyncClient(timeout=30.0, headers={**JSON_ACCEPT, "authorization": f"Bearer {TOKEN}"}) as client:
        return {name: (await client.get(url)).json().get("totalItems") for name, url in urls.items()}


async def phase_rush(run: Run) -> None:
    sizes, cluster = run.sizes, run.cluster
    (events, events_base, events_db), (shop, shop_base, _) = await events_and_shop(cluster)
    seats, buyers, window = sizes.rush_seats, sizes.rush_buyers, sizes.rush_window_s
    async with httpx.AsyncClient(timeout=30.0) as client:
        event_id = await c2s(client, events_base, event_activity("The rush", capacity=seats, price=PRICE))
    slug = event_id.rsplit("/", 1)[-1]
    rush = Rush()
    meter = CpuMeter(cluster, cluster.raw_db_url(events_db), [events.pid, shop.pid])
    await meter.start()
    rush.started = time.perf_counter()
    with Profiler(cluster, "rush", [events.pid, shop.pid]):
        await asyncio.gather(*(buyer(events_base, slug, i, i * window / buyers, rush) for i in range(buyers)))
    rush_s = time.perf_counter() - rush.started
    after_rush = await totals(events_base, shop_base, event_id, slug)
    to_confirmed, paid_outcomes, paying_s = await pay_all(shop_base, rush.held)
    peers_cpu = await meter.stop()
    after_payment = await totals(events_base, shop_base, event_id, slug)
    held_at = sorted(rush.held_at)
    run.results["rush"] = {
        "buyers": buyers,
        "seats": seats,
        "arrival_window_s": window,
        "rush_s": round(rush_s, 3),
        "outcomes": rush.outcomes,
        "refusal_reasons": rush.reasons,
        "seats_held_per_s": round(len(held_at) / held_at[-1], 1) if held_at else 0.0,
        "buy_to_held_p50_ms": round(percentile(rush.to_held_ms, 0.5), 1),
        "buy_to_held_p99_ms": round(percentile(rush.to_held_ms, 0.99), 1),
        "buy_to_sold_out_p99_ms": round(percentile(rush.to_refusal_ms, 0.99), 1),
        "paying_s": round(paying_s, 3),
        "paid_outcomes": paid_outcomes,
        "paid_to_confirmed_p50_ms": round(percentile(to_confirmed, 0.5), 1),
        "paid_to_confirmed_p99_ms": round(percentile(to_confirmed, 0.99), 1),
        "after_rush": after_rush,
        "after_payment": after_payment,
        "exact": (
            rush.outcomes.get("held", 0) == seats
            and rush.outcomes.get("rejected", 0) == buyers - seats
            and after_payment == {"events_sold": seats, "events_held": 0, "shop_tickets": seats, "shop_held": 0}
        ),
        "cpu": peers_cpu,
    }
    log(f"rush: {run.results['rush']}")
    cluster.stop(events)
    cluster.stop(shop)
