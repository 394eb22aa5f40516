"""A buyer cancels their own tickets from their ticket page, within the event's rule (real events and shop
processes, a real SMTP server): a paid order is refunded and a held one cancelled, the seats return on both
peers and the buyer is emailed. Where the rule says no, or its time has passed, the page offers no button, a
post is refused with a sentence and nothing changes; and the shop applies the rule itself, on its own clock,
to an `Undo` the events actor signs whatever it claims."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from activities.buyer_cancel import NOT_ALLOWED
from actors.shop.buyer_cancels import CANCELLED
from tests.faults.conftest import Market
from tests.faults.test_duplicate_offer import events_signer, resend
from tests.faults.test_order_lifecycle import counts, order_number, state_of
from tests.faults.test_sumup_checkout import held_order, open_checkout
from tests.hostile.helpers import Unchanged, Visitor, c2s, schedule_event, wait_until
from tests.support.smtp import SmtpSink
from tests.support.sumup_fake import SumUpFake

PASSED = "could be cancelled until 48 hours before the start; that time has passed"


def soon() -> dict[str, str]:
    """Start and end a day from now (UTC): inside a 48-hour cancellation window's closed part."""
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(hours=24)
    return {"startTime": start.isoformat(), "endTime": (start + timedelta(hours=3)).isoformat(), "timezone": "UTC"}


def order_of(m: Market, number: str) -> dict[str, Any]:
    [order] = [o for o in m.orders() if o["orderNumber"] == number]
    return order


def cancel(buyer: Visitor, token: str) -> httpx.Response:
    return buyer.post(f"/tickets/{token}/cancel")


def paid(m: Market, staff: Visitor, buyer: Visitor, event: str, **kw: Any) -> str:
    token = buyer.buy(event, **kw)
    wait_until(lambda: state_of(m, token) == "held", what="the purchase held")
    assert staff.post(f"/orders/{order_number(m, token)}/paid").status_code == 303
    wait_until(lambda: state_of(m, token) == "confirmed", what="the purchase confirmed")
    return token


@pytest.mark.slow
def test_buyers_cancel_within_the_rule_and_are_refused_outside_it(
    market: Callable[..., Market], smtp_server: SmtpSink
) -> None:
    m = market(env={"ROSE_ASH_SMTP_URL": smtp_server.url, "ROSE_ASH_HOLD_MINUTES": "30"})
    open_rule = schedule_event(m.http, m.events, name="Flexible", capacity=5, price="10.00", buyerCancelHours=48)
    no_rule = schedule_event(m.http, m.events, name="Firm", capacity=5, price="10.00")
    closing = schedule_event(
        m.http, m.events, name="Tomorrow", capacity=5, price="10.00", buyerCancelHours=48, **soon()
    )
    doc = m.http.get(open_rule, headers={"accept": "application/activity+json"}).json()
    assert doc["buyerCancelHours"] == 48 and "buyerCancelHours" in json.dumps(doc["@context"])
    staff = Visitor(m.shop, "/login").login()
    buyer = Visitor(m.events, "/calendars")
    try:
        # A paid order, cancelled by its buyer: refunded, seats back on both sides, the buyer emailed.
        token = paid(m, staff, buyer, open_rule, quantity=2)
        number = order_number(m, token)
        assert 'id="cancel-tickets"' in buyer.get(f"/tickets/{token}").text
        assert counts(m, open_rule) == (2, 0, 2, 0, 3)
        assert cancel(buyer, token).status_code == 303
        wait_until(lambda: state_of(m, token) == "refunded", what="the paid order refunded")
        wait_until(lambda: counts(m, open_rule) == (0, 0, 0, 0, 5), what="the seats back on both peers")
        order = order_of(m, number)
        assert order["orderStatus"] == "OrderReturned" and order["description"] == CANCELLED
        page = buyer.get(f"/tickets/{token}").text
        assert "This order was refunded" in page and 'id="cancel-tickets"' not in page
        [mail] = [r for r in smtp_server.wait_for(2) if "Cancelled: your order" in str(r.message["Subject"])]
        text = str(mail.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert f"your order {number} for Flexible is cancelled" in text and "refunded (20.00 GBP)" in text

        # A held order: simply cancelled, nothing to refund.
        held = buyer.buy(open_rule, name="Bob", email="bob@example.org")
        wait_until(lambda: state_of(m, held) == "held", what="the purchase held")
        assert cancel(buyer, held).status_code == 303
        wait_until(lambda: state_of(m, held) == "cancelled", what="the held order cancelled")
        wait_until(lambda: counts(m, open_rule) == (0, 0, 0, 0, 5), what="the held seat back on both peers")
        assert order_of(m, order_number(m, held))["orderStatus"] == "OrderCancelled"
        bob = [r for r in smtp_server.wait_for(3) if r.envelope_to == ["bob@example.org"]]
        assert "Nothing was paid" in str(bob[-1].message.get_body(("plain",)).get_content())  # type: ignore[union-attr]

        # No rule, or its time passed: no button, a post refused with the sentence, nothing changed.
        firm = paid(m, staff, buyer, no_rule, name="Cy", email="cy@example.org")
        late = paid(m, staff, buyer, closing, name="Di", email="di@example.org")
        m.events_db.settle()
        for token_, sentence in ((firm, NOT_ALLOWED), (late, PASSED)):
            assert 'id="cancel-tickets"' not in buyer.get(f"/tickets/{token_}").text
            with Unchanged(m.shop_db, m.events_db):
                refused = cancel(buyer, token_)
                assert refused.status_code == 409 and sentence in refused.text
        forged = buyer.http.post(f"{m.events.url}/tickets/{firm}/cancel", data={})
        assert forged.status_code == 403

        # The events actor's own signed Undo for the late order: the shop checks the time itself and refuses.
        late_number = order_number(m, late)
        [purchase] = [p for p in m.purchases() if p["orderNumber"] == late_number]
        undo = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{m.events.actor_id}/activities/forged-undo",
            "type": "Undo",
            "actor": m.events.actor_id,
            "object": {"id": purchase["offer"], "type": "Offer", "actor": m.events.actor_id},
            "target": purchase["order"],
            "to": [m.shop.actor_id],
        }
        assert resend(m, events_signer(m), json.dumps(undo).encode()).status_code in (200, 202)
        wait_until(lambda: any(a["object"] == undo["id"] for a in m.answers()), what="the shop's answer")
        [rejected] = [a for a in m.answers() if a["object"] == undo["id"]]
        assert rejected["type"] == "Reject" and PASSED in rejected["summary"]
        assert order_of(m, late_number)["orderStatus"] == "OrderDelivered"
        assert counts(m, closing) == (1, 0, 1, 0, 4)
    finally:
        for visitor in (staff, buyer):
            visitor.close()


@pytest.mark.slow
def test_the_shop_decides_on_the_rule_as_the_event_says_it_when_the_request_arrives(
    market: Callable[..., Market], smtp_server: SmtpSink
) -> None:
    m = market(env={"ROSE_ASH_SMTP_URL": smtp_server.url, "ROSE_ASH_HOLD_MINUTES": "30"})
    event = schedule_event(m.http, m.events, name="Changing", capacity=5, price="10.00", buyerCancelHours=48)
    staff = Visitor(m.shop, "/login").login()
    buyer = Visitor(m.events, "/calendars")
    try:
        token = paid(m, staff, buyer, event)
        with Unchanged(m.events_db):  # a client's bad rule is refused with the form's sentence
            bad = {"type": "Update", "object": {"id": event, "type": "Event", "buyerCancelHours": 9000}}
            refused = c2s(m.http, m.events, bad)
            assert refused.status_code == 400 and "between 0 and 8784 hours" in refused.text
        m.shop.stop()  # the buyer's request waits in the events peer's outbox
        assert cancel(buyer, token).status_code == 303
        page = buyer.get(f"/tickets/{token}").text
        assert 'id="cancel-asked"' in page and 'id="cancel-tickets"' not in page
        assert cancel(buyer, token).status_code == 409  # asked once is enough
        # Meanwhile the organiser closes the window: buyers may cancel only until 8000 hours before the start.
        update = {"type": "Update", "object": {"id": event, "type": "Event", "buyerCancelHours": 8000}}
        assert c2s(m.http, m.events, update).status_code in (200, 201)
        m.shop.start()
        wait_until(lambda: 'id="cancel-refused"' in buyer.get(f"/tickets/{token}").text, what="the shop's refusal")
        page = buyer.get(f"/tickets/{token}").text
        assert "until 8000 hours before the start; that time has passed" in page
        assert state_of(m, token) == "confirmed" and 'id="cancel-tickets"' not in page
        [order] = m.orders()
        assert order["orderStatus"] == "OrderDelivered"
        assert counts(m, event) == (1, 0, 1, 0, 4)
    finally:
        for visitor in (staff, buyer):
            visitor.close()


@pytest.mark.slow
def test_a_buyer_cancelling_a_card_payment_is_refunded_through_the_provider(
    market: Callable[..., Market], sumup: SumUpFake
) -> None:
    m = market(env=sumup.env())
    event = schedule_event(m.http, m.events, name="By Card", capacity=3, price="12.50", buyerCancelHours=48)
    buyer = Visitor(m.events, "/calendars")
    try:
        token, order = held_order(m, buyer, event, "ada@example.org")
        checkout = sumup.checkout_for(open_checkout(m, order))
        sumup.pay(checkout["id"])
        wait_until(lambda: state_of(m, token) == "confirmed", what="the card payment confirmed")
        assert cancel(buyer, token).status_code == 303
        wait_until(lambda: state_of(m, token) == "refunded", what="the buyer's order refunded")
        assert [r["amount"] for r in sumup.refunds(checkout["id"])] == [12.5]
        wait_until(lambda: counts(m, event) == (0, 0, 0, 0, 3), what="the seat back on both peers")
    finally:
        buyer.close()
