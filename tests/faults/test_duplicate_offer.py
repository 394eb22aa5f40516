"""The same Offer delivered twice — a retry after a lost response, or copies racing each other — makes one order
and one answer."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from activities.build import public_view
from activities.httpsig import RequestSigner, load_private_key
from store.models import ActorKey, StoredObject
from tests.faults.conftest import Market
from tests.hostile.helpers import Unchanged, Visitor, schedule_event, wait_until
from tests.support.databases import run_sync


def events_signer(m: Market) -> RequestSigner:
    """The events actor's own key, read from its store: the test re-sends exactly as the peer's worker would."""
    (row,) = m.events_db.rows(ActorKey, ActorKey.actor == "events")
    return RequestSigner(f"{m.events.actor_id}#main-key", load_private_key(row.private_pem))


def resend(m: Market, signer: RequestSigner, body: bytes) -> httpx.Response:
    headers = signer.headers_for("POST", m.shop.inbox, body, time.time())
    return m.http.post(m.shop.inbox, content=body, headers=headers)


def answers_to(m: Market, offer: str) -> list[dict[str, Any]]:
    return [a for a in m.answers() if a["object"] == offer]


@pytest.mark.slow
def test_the_same_offer_twice_makes_one_order(market: Callable[..., Market]) -> None:
    m = market()
    event = schedule_event(m.http, m.events, capacity=10)
    visitor = Visitor(m.events, "/calendars")
    token = visitor.buy(event)
    visitor.close()
    wait_until(lambda: m.settled(1), what="the purchase")
    (purchase,) = m.purchases()
    assert purchase["state"] == "confirmed"
    (sent,) = m.events_db.rows(StoredObject, StoredObject.id == purchase["offer"])
    body = json.dumps(public_view(sent.data), separators=(",", ":")).encode()  # the bytes the worker sends
    signer = events_signer(m)

    # A retry after a lost response: the very same Offer, signed afresh. 202, and nothing changes.
    with Unchanged(m.shop_db, m.events_db):
        for _ in range(2):
            again = resend(m, signer, body)
            assert again.status_code == 202 and again.json()["status"] == "duplicate", again.text
    assert len(m.orders()) == 1 and len(answers_to(m, purchase["offer"])) == 1
    assert m.sold(event) == m.shop_tickets_for(event) == 1
    assert m.http.get(f"{m.events.url}/tickets/{token}/status").json()["fields"]["state"] == "confirmed"

    # Copies racing each other: ten at once of an offer the shop has not seen. One order, one Accept.
    racing = {**public_view(sent.data), "id": f"{m.events.url}/activities/raced-{time.monotonic_ns()}"}
    body = json.dumps(racing, separators=(",", ":")).encode()

    async def race() -> list[tuple[int, str]]:
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:

            async def one() -> tuple[int, str]:
                headers = signer.headers_for("POST", m.shop.inbox, body, time.time())
                response = await http.post(m.shop.inbox, content=body, headers=headers)
                return response.status_code, response.json().get("status", response.text)

            return list(await asyncio.gather(*(one() for _ in range(10))))

    outcomes = Counter(run_sync(race()))
    assert outcomes == Counter({(202, "processed"): 1, (202, "duplicate"): 9}), outcomes
    wait_until(lambda: len(answers_to(m, racing["id"])) == 1, what="the answer to the raced offer")
    orders = m.orders()
    assert len(orders) == 2 and Counter(o["acceptedOffer"] for o in orders)[racing["id"]] == 1
    assert m.shop_tickets_for(event) == 2
