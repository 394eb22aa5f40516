"""Door check-in against real peer processes (events and shop, signed Offer, Accept and Update between them): two
free tickets bought, the first admitted once and then "already used" with its time, another event's ticket, an
unknown code, bad input and a refunded order's ticket refused without changing the store; twenty scanners posting
one code at once to the running process admit it once. The page needs the organiser's login and its CSRF token;
scanner devices use the JSON variant with the admin's bearer token."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.faults.conftest import Market
from tests.hostile.helpers import Unchanged, Visitor, purchase_state, schedule_event, slug_of, wait_until


def codes_of(m: Market, event: str) -> dict[str, list[str]]:
    """Order number → its tickets' codes (the shop's own orders), for the event's orders."""
    return {
        o["orderNumber"]: [t["ticketToken"] for t in o["tickets"]] for o in m.orders() if o["orderedItem"] == event
    }


def device(m: Market, event: str, code: Any, token: str | None = None) -> httpx.Response:
    return m.http.post(
        f"{m.events.url}/events/{slug_of(event)}/checkin",
        json={"code": code},
        headers={"accept": "application/json", "authorization": f"Bearer {token or m.events.admin_token}"},
    )


@pytest.mark.slow
def test_the_door_admits_each_ticket_once_and_refuses_the_rest(market: Callable[..., Market]) -> None:
    m = market()
    event = schedule_event(m.http, m.events, name="Summer Gig", capacity=10, price="0")
    other = schedule_event(m.http, m.events, name="Winter Gig", capacity=10, price="0")
    buyer = Visitor(m.events, "/calendars")
    mine = buyer.buy(event, quantity=2)
    buyer.buy(other, quantity=1, email="bo@example.org")
    wait_until(lambda: m.settled(2), what="both purchases")
    assert m.states() == {"confirmed": 2}
    number = purchase_state(m.http, m.events, mine)["orderNumber"]
    first, second = codes_of(m, event)[number]
    (theirs,) = next(iter(codes_of(m, other).values()))
    page = f"/events/{slug_of(event)}/checkin"

    # Not signed in: sent to log in, for the page and for a post (which changes nothing).
    stranger = Visitor(m.events, "/calendars")
    assert stranger.get(page, follow_redirects=False).headers["location"] == f"/login?next={page}"
    with Unchanged(m.events_db):
        posted = stranger.post(page, code=first)
        assert posted.status_code == 303 and posted.headers["location"].startswith("/login")
        assert device(m, event, first, token="wrong-token").status_code == 401

    staff = Visitor(m.events, "/calendars").login()
    shown = staff.get(page)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert "autofocus" in shown.text and 'inputmode="text"' in shown.text
    assert "0 of 2</strong> checked in" in shown.text

    with Unchanged(m.events_db):  # a form without the CSRF token is refused
        forged = staff.http.post(m.events.url + page, data={"code": first})
        assert forged.status_code == 403 and "CSRF" in forged.text

    admitted = staff.post(page, code=first)
    assert admitted.status_code == 200 and 'data-verdict="admitted"' in admitted.text
    assert "Valid — admitted" in admitted.text and f"Ticket {number}-1 · Ada" in admitted.text
    assert "1 of 2</strong> checked in" in admitted.text

    with Unchanged(m.events_db):
        used = staff.post(page, code=first)
        assert 'data-verdict="used"' in used.text and "Already used" in used.text and "first checked in at" in used.text
        elsewhere = staff.post(page, code=theirs)
        assert 'data-verdict="other-event"' in elsewhere.text and "Winter Gig" in elsewhere.text
        unknown = staff.post(page, code="Z" * 22)
        assert 'data-verdict="unknown"' in unknown.text and "Unknown code" in unknown.text
        for bad, said in [("", "Type or scan"), ("x" * 10_240, "10240 characters long"), ("%$#!garbage", "letters")]:
            refused = staff.post(page, code=bad)
            assert refused.status_code == 400 and said in refused.text, (bad, refused.text[:300])
        assert device(m, event, 42).status_code == 400

    # The organiser's view of the event shows the same count.
    assert "1 of 2 checked in" in staff.get(f"/events/{slug_of(event)}").text

    # Twenty scanners at once, one code: exactly one admits it, against the running process.
    with ThreadPoolExecutor(20) as pool:
        answers = [r.json() for r in pool.map(lambda _: device(m, event, second), range(20))]
    verdicts = sorted(a["verdict"] for a in answers)
    assert verdicts == ["admitted"] + ["used"] * 19, verdicts
    assert len({a["checkedInAt"] for a in answers}) == 1
    assert device(m, event, second).json()["checkedIn"] == 2

    # A refunded order's ticket is refused at the door.
    late = buyer.buy(event, quantity=1, email="cy@example.org")
    wait_until(lambda: purchase_state(m.http, m.events, late)["state"] == "confirmed", what="the third purchase")
    late_number = purchase_state(m.http, m.events, late)["orderNumber"]
    shop_staff = Visitor(m.shop, "/login").login()
    assert shop_staff.post(f"/orders/{late_number}/refund").status_code == 303
    wait_until(lambda: purchase_state(m.http, m.events, late)["state"] == "refunded", what="the refund")
    (refunded_code,) = codes_of(m, event)[late_number]
    with Unchanged(m.events_db):
        answer = device(m, event, refunded_code).json()
    assert (answer["verdict"], answer["message"]) == ("refused", "Refunded")
    for closed in (buyer, stranger, staff, shop_staff):
        closed.close()
