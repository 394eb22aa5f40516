"""A buyer's `/tickets/{token}/status?wait=N` is answered as soon as the purchase is settled, in one request
instead of a poll loop; while the shop is away it still answers *pending* once the N seconds are up."""

from __future__ import annotations

import time
from collections.abc import Callable

from store.models import StoredObject
from tests.faults.conftest import Market
from tests.hostile.helpers import Visitor, schedule_event


def test_status_waits_for_the_answer(market: Callable[..., Market]) -> None:
    m = market(start_shop=False)
    event = schedule_event(m.http, m.events, capacity=5)
    visitor = Visitor(m.events, "/calendars")
    try:
        token = visitor.buy(event)
        status = f"/tickets/{token}/status"
        started = time.monotonic()
        assert visitor.get(status).json()["fields"]["state"] == "pending"  # no wait: at once, as before
        assert visitor.get(status, params={"wait": "1"}).json()["fields"]["state"] == "pending"
        assert time.monotonic() - started >= 0.9, "a pending purchase is answered when the wait is up"

        m.shop.start()
        answer = visitor.get(status, params={"wait": "20"}).json()["fields"]
        answered = time.time()
        assert answer["state"] == "confirmed" and answer["orderNumber"], answer
        (purchase,) = m.events_db.rows(StoredObject, StoredObject.type == "TicketPurchase")
        # Woken by the confirming transaction's commit, not by the store re-read every few seconds.
        assert answered - purchase.updated_at < 2.5, f"answered {answered - purchase.updated_at:.2f}s after"
    finally:
        visitor.close()
