"""The ticket rush (issue 16, target 1): more buyers than seats arrive within a few seconds, each from an address
of its own, through the event's page (its form's CSRF token), Buy, then the ticket's status until the shop has
answered. A buyer whose page already says sold out joins the waiting list instead. Run once per provider:

- `free`: the tickets cost nothing, so a seat is sold (confirmed) as soon as the shop answers;
- `manual`: a priced seat is held; afterwards the shop's staff mark every held order paid;
- `stripe`: a priced seat is held and its buyer pays at once, as Stripe.js would, against localstripe (which
  waits 1 s before it sends its webhook, as its source says): held → paid → confirmed.

Exactly the seats are sold, both peers hold the same count, and everybody else is told "sold out" or is on the
waiting list. `BENCH_RUSH_PROVIDERS` (default `free,manual,stripe`) picks the runs."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from activities.order import product_key
from bench.harness import TOKEN, Cluster, free_ports, log
from bench.measure import CpuMeter, Profiler, raw_rsa
from bench.phases.common import JSON_ACCEPT, Run, c2s, csrf_of, events_and_shop, person_client
from bench.stats import percentile
from tests.support.events import event_activity

PRICE = "12.50"
STAFF_CONCURRENCY = 16  # staff marking orders paid: a box office with a few tills, not one request at a time
PROVIDERS = ("free", "manual", "stripe")
LOCALSTRIPE_WEBHOOK_DELAY_S = 1.0  # localstripe sleeps this long before it sends a webhook
CARD = "4242424242424242"
SECRET = re.compile(r'data-client-secret="([^"]+)"')
PAY_LINK = re.compile(r'href="([^"]+/pay\?token=[^"]+)"')
STRIPE_KEYS = {
    "ROSE_ASH_STRIPE_SECRET_KEY": "sk_test_rose_ash_bench",
    "ROSE_ASH_STRIPE_PUBLISHABLE_KEY": "pk_test_rose_ash_bench",
    "ROSE_ASH_STRIPE_WEBHOOK_SECRET": "whsec_rose_ash_bench",
}


@dataclass
class Rush:
    started: float = 0.0
    held_at: list[float] = field(default_factory=list)  # seconds after the start at which each seat was held
    to_held_ms: list[float] = field(default_factory=list)
    to_refusal_ms: list[float] = field(default_factory=list)
    to_confirmed_ms: list[float] = field(default_factory=list)  # from the payment to "confirmed"
    outcomes: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    paid_outcomes: dict[str, int] = field(default_factory=dict)
    held: list[tuple[str, str]] = field(default_factory=list)  # (purchase status URL, order number)

    def count(self, outcome: str, into: dict[str, int] | None = None) -> None:
        counts = self.outcomes if into is None else into
        counts[outcome] = counts.get(outcome, 0) + 1


def address_of(index: int) -> str:
    """Buyer `index`'s own loopback address (127.0.0.0/8 is all loopback on Linux): a thousand people are not
    one client, and the peers cap the connections one address may hold."""
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def buyer_client(base: str, index: int) -> httpx.AsyncClient:
    return person_client(base, 60.0, address_of(index))


ERRORS: dict[str, int] = {}  # answers other than 200 to the buyers' status requests, which ask again


async def settled_state(client: httpx.AsyncClient, status_url: str, waiting_for: str = "pending") -> dict[str, str]:
    """The purchase's fields once its state is no longer `waiting_for` (the status request waits up to 10 s; an
    error is counted and the page asks again a second later, as the ticket page's script does)."""
    deadline = time.monotonic() + 300  # a loaded machine may take minutes; a buyer who gave up would count as lost
    fields: dict[str, str] = {"state": waiting_for}
    while time.monotonic() < deadline and fields["state"] == waiting_for:
        try:
            answer = await client.get(status_url, params={"wait": "10"})
        except httpx.TransportError as exc:
            ERRORS[type(exc).__name__] = ERRORS.get(type(exc).__name__, 0) + 1
            await asyncio.sleep(1.0)
            continue
        if answer.status_code != 200:
            ERRORS[f"status_http_{answer.status_code}"] = ERRORS.get(f"status_http_{answer.status_code}", 0) + 1
            await asyncio.sleep(1.0)
            continue
        fields = answer.json()["fields"]
    return fields


@dataclass
class Stripe:
    """localstripe as a process of the run, and the buyer's side of Stripe.js against it."""

    url: str
    http: httpx.AsyncClient

    @classmethod
    async def start(cls, cluster: Cluster) -> Stripe:
        (port,) = free_ports(1)
        command = [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"]
        proc = cluster.start("localstripe", command, cluster.env())
        url = f"http://127.0.0.1:{port}"
        http = httpx.AsyncClient(
            base_url=url, auth=(STRIPE_KEYS["ROSE_ASH_STRIPE_SECRET_KEY"], ""), trust_env=False, timeout=60.0
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if (await http.get("/v1/payment_intents")).status_code == 200:
                    return cls(url, http)
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not proc.alive():
                raise RuntimeError(f"localstripe did not start:\n{proc.tail()}")
            await asyncio.sleep(0.2)

    def env(self) -> dict[str, str]:
        return {
            "ROSE_ASH_PAYMENT_PROVIDER": "stripe",
            **STRIPE_KEYS,
            "ROSE_ASH_STRIPE_API_BASE": self.url,
            "ROSE_ASH_STRIPE_JS_URL": f"{self.url}/js.stripe.com/v3/",
        }

    async def send_webhooks_to(self, url: str) -> None:
        data = {"url": url, "secret": STRIPE_KEYS["ROSE_ASH_STRIPE_WEBHOOK_SECRET"]}
        response = await self.http.post("/_config/webhooks/rose-ash", data=data)
        if response.status_code != 200:
            raise RuntimeError(f"localstripe refused the webhook: {response.text[:300]}")

    async def pay(self, intent: str) -> str:
        """A card payment method, attached to the intent, confirmed: the intent's status."""
        card = {"card[number]": CARD, "card[exp_month]": "12", "card[exp_year]": "2031", "card[cvc]": "123"}
        method = await self.http.post("/v1/payment_methods", data={"type": "card", **card})
        attached = await self.http.post(f"/v1/payment_intents/{intent}", data={"payment_method": method.json()["id"]})
        if attached.status_code != 200:
            return f"attach_http_{attached.status_code}"
        return str((await self.http.post(f"/v1/payment_intents/{intent}/confirm")).json().get("status"))


async def pay_by_card(client: httpx.AsyncClient, stripe: Stripe, ticket_url: str, status_url: str, rush: Rush) -> None:
    """The held buyer's ticket page → Pay by card → the shop's checkout page → Stripe.js → wait for confirmed."""
    page = (await client.get(ticket_url)).text
    link = PAY_LINK.search(page)
    if link is None:
        rush.count("no_pay_link", rush.paid_outcomes)
        return
    checkout = await client.get(link.group(1).replace("&amp;", "&"))
    secret = SECRET.search(checkout.text)
    if checkout.status_code != 200 or secret is None:
        rush.count(f"checkout_http_{checkout.status_code}", rush.paid_outcomes)
        return
    status = await stripe.pay(secret.group(1).split("_secret_")[0])
    paid_at = time.perf_counter()
    if status != "succeeded":
        rush.count(f"payment_{status}", rush.paid_outcomes)
        return
    state = (await settled_state(client, status_url, waiting_for="held"))["state"]
    rush.count(state, rush.paid_outcomes)
    if state == "confirmed":
        rush.to_confirmed_ms.append((time.perf_counter() - paid_at) * 1000)


async def buyer(base: str, slug: str, index: int, delay: float, rush: Rush, stripe: Stripe | None) -> None:
    await asyncio.sleep(delay)
    try:
        await buy_once(base, slug, index, rush, stripe)
    except httpx.TransportError as exc:  # the peer did not answer at all (connect or read timeout, reset)
        rush.count(f"no_answer_{type(exc).__name__}")


async def buy_once(base: str, slug: str, index: int, rush: Rush, stripe: Stripe | None) -> None:
    async with buyer_client(base, index) as client:
        page = await client.get(f"/events/{slug}")
        if page.status_code != 200:
            rush.count(f"page_http_{page.status_code}")
            return
        person = {"csrf": csrf_of(page.text), "name": f"Buyer {index}", "email": f"rush{index}@example.test"}
        if 'id="waitlist"' in page.text:  # the page says sold out: the buyer joins the waiting list
            joined = await client.post(f"/events/{slug}/waitlist", data={**person, "quantity": "1"})
            rush.count("waitlisted" if joined.status_code == 303 else f"waitlist_http_{joined.status_code}")
            return
        pressed = time.perf_counter()
        response = await client.post(f"/events/{slug}/buy", data={**person, "quantity": "1"})
        if response.status_code != 303:
            rush.count(f"buy_http_{response.status_code}")
            return
        ticket_url = response.headers["location"]
        status_url = ticket_url + "/status"
        fields = await settled_state(client, status_url)
        answered = time.perf_counter()
        rush.count(fields["state"])
        if fields["state"] in ("held", "confirmed"):  # a free ticket is sold at once: its seat is taken
            rush.to_held_ms.append((answered - pressed) * 1000)
            rush.held_at.append(answered - rush.started)
            rush.held.append((str(httpx.URL(base).join(status_url)), fields["orderNumber"]))
            if stripe is not None and fields["state"] == "held":
                await pay_by_card(client, stripe, ticket_url, status_url, rush)
        elif fields["state"] == "rejected":
            rush.to_refusal_ms.append((answered - pressed) * 1000)
            rush.count(fields["reason"], rush.reasons)


async def staff_client(shop_base: str) -> tuple[httpx.AsyncClient, str]:
    """A client signed in to the shop with the admin token, and its CSRF token."""
    client = httpx.AsyncClient(base_url=shop_base, timeout=60.0)
    csrf = csrf_of((await client.get("/login")).text)
    signed_in = await client.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/orders"})
    if signed_in.status_code != 303:
        raise RuntimeError(f"staff sign-in failed: {signed_in.status_code}")
    return client, csrf_of((await client.get("/orders")).text)


async def staff_mark_paid(shop_base: str, rush: Rush) -> None:
    """Staff mark each held order paid; each buyer waits for "confirmed". Milliseconds from paid to confirmed."""
    staff, csrf = await staff_client(shop_base)
    gate = asyncio.Semaphore(STAFF_CONCURRENCY)
    async with httpx.AsyncClient(timeout=60.0) as watcher:

        async def pay(status_url: str, number: str) -> None:
            async with gate:
                paid_at = time.perf_counter()
                marked = await staff.post(f"/orders/{number}/paid", data={"csrf": csrf})
            if marked.status_code != 303:
                rush.count(f"paid_http_{marked.status_code}", rush.paid_outcomes)
                return
            state = (await settled_state(watcher, status_url, waiting_for="held"))["state"]
            rush.count(state, rush.paid_outcomes)
            if state == "confirmed":
                rush.to_confirmed_ms.append((time.perf_counter() - paid_at) * 1000)

        try:
            await asyncio.gather(*(pay(url, number) for url, number in rush.held))
        finally:
            await staff.aclose()


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


async def settled_totals(events_base: str, shop_base: str, event_id: str, slug: str) -> dict[str, Any]:
    """The totals once the peers agree (answers still in flight between them settle), or after 2 minutes."""
    deadline = time.monotonic() + 120
    while True:
        counts = await totals(events_base, shop_base, event_id, slug)
        agree = (counts["events_sold"], counts["events_held"]) == (counts["shop_tickets"], counts["shop_held"])
        if agree or time.monotonic() > deadline:
            return {**counts, "settled_s": round(120 - (deadline - time.monotonic()), 1)}
        await asyncio.sleep(2.0)


async def rush_with(run: Run, provider: str) -> dict[str, Any]:
    sizes, cluster = run.sizes, run.cluster
    stripe = await Stripe.start(cluster) if provider == "stripe" else None
    shop_env = stripe.env() if stripe else {}
    (events, events_base, events_db), (shop, shop_base, _) = await events_and_shop(cluster, shop_env, f"_{provider}")
    if stripe is not None:
        await stripe.send_webhooks_to(f"{shop_base}/payments/stripe")
    seats, buyers, window = sizes.rush_seats, sizes.rush_buyers, sizes.rush_window_s
    price = "0" if provider == "free" else PRICE
    async with httpx.AsyncClient(timeout=30.0) as client:
        event_id = await c2s(client, events_base, event_activity("The rush", capacity=seats, price=price))
    slug = event_id.rsplit("/", 1)[-1]
    yardstick = raw_rsa(1.0)  # the machine's speed next to this run: other load slows it as it slows the peers
    rush = Rush()
    ERRORS.clear()
    meter = CpuMeter(cluster, cluster.raw_db_url(events_db), [events.pid, shop.pid])
    await meter.start()
    buyers_cpu = time.process_time()
    rush.started = time.perf_counter()
    with Profiler(cluster, f"rush-{provider}", [events.pid, shop.pid]):
        arrivals = (buyer(events_base, slug, i, i * window / buyers, rush, stripe) for i in range(buyers))
        await asyncio.gather(*arrivals)
    rush_s = time.perf_counter() - rush.started
    buyers_cpu = time.process_time() - buyers_cpu
    rush_cpu = await meter.stop()
    after_rush = await totals(events_base, shop_base, event_id, slug)
    paying_s, paying_cpu = 0.0, None
    if provider == "manual":
        meter = CpuMeter(cluster, cluster.raw_db_url(events_db), [events.pid, shop.pid])
        await meter.start()
        started = time.perf_counter()
        with Profiler(cluster, "rush-manual-paying", [events.pid, shop.pid]):
            await staff_mark_paid(shop_base, rush)
        paying_s = time.perf_counter() - started
        paying_cpu = await meter.stop()
    after_payment = await settled_totals(events_base, shop_base, event_id, slug)
    held_at = sorted(rush.held_at)
    told = rush.outcomes.get("rejected", 0) == rush.reasons.get("sold out", 0)
    others = rush.outcomes.get("rejected", 0) + rush.outcomes.get("waitlisted", 0)
    result: dict[str, Any] = {
        "provider": provider,
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
        "paid_per_s": round(len(rush.held) / paying_s, 1) if paying_s else 0.0,  # orders staff marked paid
        "paid_outcomes": rush.paid_outcomes,
        "status_errors": dict(ERRORS),
        "paid_to_confirmed_p50_ms": round(percentile(rush.to_confirmed_ms, 0.5), 1),
        "paid_to_confirmed_p99_ms": round(percentile(rush.to_confirmed_ms, 0.99), 1),
        "after_rush": after_rush,
        "after_payment": after_payment,
        "exact": (
            len(rush.held) == seats
            and others == buyers - seats
            and told
            and {k: v for k, v in after_payment.items() if k != "settled_s"}
            == {"events_sold": seats, "events_held": 0, "shop_tickets": seats, "shop_held": 0}
        ),
        "yardstick_signs_per_s": yardstick["signs_per_s"],
        "cpu": rush_cpu,
        # CPU time of both peers per buyer over the rush: what other load on the machine does not change
        "peers_cpu_ms_per_buyer": round(rush_cpu["focus_cpu_s"] * 1000 / buyers, 1),
        # the buyers' own CPU (this process: their HTTP clients), which shares the machine with the peers
        "buyers_cpu_ms_per_buyer": round(buyers_cpu * 1000 / buyers, 1),
        "events_shop_cpu_ms_per_buyer": [round(s * 1000 / buyers, 1) for s in rush_cpu["focus_each_cpu_s"]],
    }
    if paying_cpu is not None:  # both peers' CPU per order marked paid, and each one's
        result["paying_cpu"] = paying_cpu
        marked = max(len(rush.held), 1)
        result["events_shop_cpu_ms_per_paid"] = [round(s * 1000 / marked, 1) for s in paying_cpu["focus_each_cpu_s"]]
    if provider == "stripe":
        result["localstripe_webhook_delay_ms"] = LOCALSTRIPE_WEBHOOK_DELAY_S * 1000
    log(f"rush ({provider}): {result}")
    cluster.stop(events)
    cluster.stop(shop)
    if stripe is not None:
        await stripe.http.aclose()
        for proc in [p for p in cluster.procs if p.name == "localstripe"]:
            cluster.stop(proc)
    return result


def providers() -> list[str]:
    chosen = [p.strip() for p in os.environ.get("BENCH_RUSH_PROVIDERS", ",".join(PROVIDERS)).split(",") if p.strip()]
    unknown = set(chosen) - set(PROVIDERS)
    if unknown:
        raise SystemExit(f"BENCH_RUSH_PROVIDERS: unknown {sorted(unknown)}; choose from {PROVIDERS}")
    return chosen


async def phase_rush(run: Run) -> None:
    run.results["rush"] = {"runs": [await rush_with(run, provider) for provider in providers()]}
