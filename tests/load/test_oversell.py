"""500 buyers at once for an event of 100 places, through the real path: each loads the events peer's page
(session cookie and CSRF token), all press Buy together, the events peer sends its Offers, the shop decides.
Exactly 100 are confirmed and 400 turned away, and the events peer's sold collection, the shop's orders for the
event and the shop's answers all say so."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from store.models import InboxActivity, StoredObject
from tests.faults.conftest import Market
from tests.hostile.helpers import schedule_event, slug_of, wait_until
from tests.support.databases import run_sync

BUYERS = 500
CAPACITY = 100
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def buy_all(m: Market, event: str, buyers: int = BUYERS, wave: str = "") -> list[tuple[int, str]]:
    """Every buyer loads the page (its own session), then all press Buy at once. (status, ticket token) each."""
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=buyers))
    page = f"{m.events.url}/events/{slug_of(event)}"

    async def load() -> tuple[httpx.AsyncClient, str]:
        browser = httpx.AsyncClient(transport=transport, trust_env=False, timeout=300)
        loaded = await browser.get(page)
        match = CSRF.search(loaded.text)
        assert loaded.status_code == 200 and match, loaded.text[:200]
        return browser, match.group(1)

    async def buy(n: int, browser: httpx.AsyncClient, csrf: str) -> tuple[int, str]:
        fields = {"csrf": csrf, "name": f"Buyer {n}", "email": f"buyer{wave}{n}@example.org", "quantity": "1"}
        response = await browser.post(f"{page}/buy", data=fields)
        return response.status_code, slug_of(response.headers.get("location", ""))

    try:
        sessions = await asyncio.gather(*(load() for _ in range(buyers)))
        return list(await asyncio.gather(*(buy(n, *session) for n, session in enumerate(sessions))))
    finally:
        await transport.aclose()


def pending(m: Market) -> int:
    return int(
        m.events_db.scalar(
            select(func.count())
            .select_from(StoredObject)
            .where(StoredObject.type == "TicketPurchase", StoredObject.data["state"].as_string() == "pending")
        )
        or 0
    )


@pytest.mark.slow
def test_500_buyers_for_100_places(market: Callable[..., Market]) -> None:
    m = market()
    event = schedule_event(m.http, m.events, capacity=CAPACITY, price="0")
    started = time.monotonic()
    bought = run_sync(buy_all(m, event))
    buying = time.monotonic() - started
    assert Counter(status for status, _ in bought) == Counter({303: BUYERS}), Counter(s for s, _ in bought)
    tokens = {token for _, token in bought}
    assert len(tokens) == BUYERS

    wait_until(lambda: pending(m) == 0, timeout=600, what="every purchase answered", every=1.0)
    elapsed = time.monotonic() - started

    purchases = m.purchases()
    assert {p["id"].rsplit("/", 1)[-1] for p in purchases} == tokens
    assert Counter(p["state"] for p in purchases) == Counter(confirmed=CAPACITY, rejected=BUYERS - CAPACITY)
    answers = m.answers()
    assert Counter(a["type"] for a in answers) == Counter(Accept=CAPACITY, Reject=BUYERS - CAPACITY)
    assert Counter(a["object"] for a in answers) == Counter({p["offer"]: 1 for p in purchases})
    heard = m.events_db.rows(InboxActivity, InboxActivity.type.in_(["Accept", "Reject"]))
    assert Counter(h.type for h in heard) == Counter(Accept=CAPACITY, Reject=BUYERS - CAPACITY)
    orders = m.orders()
    assert (
        len(orders) == CAPACITY == len({o["acceptedOffer"] for o in orders}) == len({o["orderNumber"] for o in orders})
    )
    assert m.sold(event) == m.shop_tickets_for(event) == CAPACITY
    assert m.remaining(event) == 0
    print(f"\n{BUYERS} buyers, {CAPACITY} places: bought in {buying:.1f}s, all answered in {elapsed:.1f}s")
