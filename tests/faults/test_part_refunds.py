"""Staff refund some of a paid order's tickets (real events and shop processes, a real SMTP server): the refunded
tickets leave both peers' sold collections and their seats come back, the order stays paid for the rest, the
door refuses a refunded ticket and admits a kept one, and the buyer is emailed; refusals change nothing; the
rest is then refunded whole."""

from __future__ import annotations

import html
from collections.abc import Callable

import httpx
import pytest

from tests.faults.conftest import Market
from tests.faults.test_checkin import device
from tests.faults.test_order_lifecycle import assert_agree, state_of
from tests.hostile.helpers import Unchanged, Visitor, purchase_state, schedule_event, wait_until
from tests.support.smtp import SmtpSink

CAPACITY = 5


def refund_some(staff: Visitor, number: str, *tickets: str) -> httpx.Response:
    data: dict[str, str | list[str]] = {"csrf": staff.csrf, "ticket": list(tickets)}
    return staff.http.post(f"{staff.peer.url}/orders/{number}/refund-tickets", data=data)


@pytest.mark.slow
def test_some_tickets_of_an_order_refunded_then_the_rest(market: Callable[..., Market], smtp_server: SmtpSink) -> None:
    m = market(env={"ROSE_ASH_SMTP_URL": smtp_server.url})
    event = schedule_event(m.http, m.events, name="Big Night", capacity=CAPACITY, price="10.00")
    organiser = Visitor(m.events, "/calendars").login()
    staff = Visitor(m.shop, "/login").login()
    buyer = Visitor(m.events, "/calendars")
    try:
        token = buyer.buy(event, quantity=3)
        wait_until(lambda: state_of(m, token) == "held", what="the purchase held")
        number = str(purchase_state(m.http, m.events, token)["orderNumber"])
        assert staff.post(f"/orders/{number}/paid").status_code == 303
        wait_until(lambda: state_of(m, token) == "confirmed", what="the purchase confirmed")
        assert_agree(m, organiser, event, sold=3, held=0)
        [order] = m.orders()
        codes = {t["ticketNumber"]: t["ticketToken"] for t in order["tickets"]}
        first, second, third = (f"{number}-{n}" for n in (1, 2, 3))
        assert "Refund some tickets" in staff.get("/orders").text

        with Unchanged(m.shop_db, m.events_db):
            nothing = refund_some(staff, number)
            assert nothing.status_code == 409 and "Choose the tickets" in nothing.text
            stranger = refund_some(staff, number, f"{number}-9")
            assert stranger.status_code == 409 and f"{number}-9 is not one of this order's" in html.unescape(stranger.text)
            every = refund_some(staff, number, first, second, third)
            assert every.status_code == 409 and "refund the whole order instead" in every.text
            forged = staff.http.post(f"{m.shop.url}/orders/{number}/refund-tickets", data={"ticket": second})
            assert forged.status_code == 403

        assert refund_some(staff, number, second).status_code == 303
        assert_agree(m, organiser, event, sold=2, held=0)
        [order] = m.orders()
        assert order["orderStatus"] == "OrderDelivered" and order["quantity"] == 2 and order["price"] == "20.00"
        assert [t["ticketNumber"] for t in order["refundedTickets"]] == [second]
        assert state_of(m, token) == "confirmed"
        [purchase] = m.purchases()
        assert purchase["quantity"] == 2 and [t["code"] for t in purchase["tickets"]] == [codes[first], codes[third]]

        assert "1 ticket of this order\n  was refunded" in buyer.get(f"/tickets/{token}").text

        # A replayed or overtaken Update cannot bring the refunded ticket back.
        again = refund_some(staff, number, second)
        assert again.status_code == 409 and "not one of this order's valid tickets" in html.unescape(again.text)

        # The door: the refunded ticket is refused as refunded, a kept one admitted.
        refused = device(m, event, codes[second]).json()
        assert refused["verdict"] == "refused" and refused["message"] == "Refunded"
        assert device(m, event, codes[first]).json()["verdict"] == "admitted"

        [mail] = [r for r in smtp_server.wait_for(2) if "Refunded" in str(r.message["Subject"])]
        text = str(mail.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert f"ticket {second} of your order {number}" in text and "10.00 GBP" in text
        assert "other tickets (2) are still valid" in text

        # The rest refunded whole: nothing sold on either side, and the buyer told again.
        assert staff.post(f"/orders/{number}/refund").status_code == 303
        wait_until(lambda: state_of(m, token) == "refunded", what="the rest refunded")
        assert_agree(m, organiser, event, sold=0, held=0)
        last = smtp_server.wait_for(3)[-1]
        text = str(last.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert f"tickets {first}, {third} of your order {number}" in text and "20.00 GBP" in text
    finally:
        for visitor in (organiser, staff, buyer):
            visitor.close()
