"""The waiting list of a sold-out event, across real events and shop processes and a real SMTP server: people
join; a held order's time to pay runs out and the first on the list is emailed a link while the seat is kept for
them (nobody else can buy it); the link buys it with the normal Offer; an offer not used passes to the next
person; leaving works; bad input is refused with a sentence and changes nothing. The shop never sells more than
the capacity."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.faults.conftest import Market
from tests.faults.test_order_lifecycle import state_of
from tests.hostile.helpers import Unchanged, Visitor, c2s, schedule_event, slug_of, wait_until
from tests.support.smtp import SmtpSink

HOLD_MINUTES = "0.1"  # six seconds to pay
OFFER_MINUTES = "0.2"  # twelve seconds to use a waiting-list offer
LINK = re.compile(r"(http://\S+/waitlist/[\w-]+)")


def said(response: httpx.Response) -> str:
    """The page's text as people read it (its entities decoded)."""
    return html.unescape(response.text)


def mail_to(sink: SmtpSink, to: str, subject_part: str) -> list[str]:
    """The plain-text bodies of the messages to `to` whose subject says `subject_part`, oldest first."""
    found = [r for r in sink.received if r.envelope_to == [to] and subject_part in str(r.message["Subject"])]
    return [str(r.message.get_body(("plain",)).get_content()) for r in found]  # type: ignore[union-attr]


def link_in(sink: SmtpSink, to: str, subject_part: str, timeout: float = 40.0) -> str:
    bodies = wait_until(lambda: mail_to(sink, to, subject_part), timeout=timeout, what=f"{subject_part!r} to {to}")
    match = LINK.search(bodies[-1])
    assert match, bodies[-1]
    return match.group(1)


def taken_at_shop(m: Market) -> int:
    """The tickets of the shop's orders that are neither cancelled nor refunded."""
    live = [o for o in m.orders() if o["orderStatus"] not in ("OrderCancelled", "OrderReturned")]
    return sum(int(o["quantity"]) for o in live)


def join(visitor: Visitor, event: str, name: str, email: str, quantity: int = 1) -> None:
    response = visitor.post(f"/events/{slug_of(event)}/waitlist", name=name, email=email, quantity=str(quantity))
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"].endswith("/waitlist/joined")


@pytest.mark.slow
def test_a_freed_seat_goes_to_the_waiting_list_in_turn_and_nobody_else(
    market: Callable[..., Market], smtp_server: SmtpSink
) -> None:
    m = market(
        env={
            "ROSE_ASH_SMTP_URL": smtp_server.url,
            "ROSE_ASH_HOLD_MINUTES": HOLD_MINUTES,
            "ROSE_ASH_WAITLIST_OFFER_MINUTES": OFFER_MINUTES,
        }
    )
    event = schedule_event(m.http, m.events, name="Tiny Gig", capacity=1, price="12.00")
    slug = slug_of(event)
    people = Visitor(m.events, "/calendars")
    other = Visitor(m.events, "/calendars")
    try:
        # Sold out: one seat, held by Ada while she (does not) pay.
        ada = people.buy(event, name="Ada", email="ada@example.org")
        wait_until(lambda: state_of(m, ada) == "held", what="Ada's seat held")
        page = people.get(f"/events/{slug}").text
        assert "Join the waiting list" in page

        # Bob's purchase is refused as sold out; its page offers the waiting list, and he joins from there.
        refused = people.buy(event, name="Bob", email="bob@example.org")
        wait_until(lambda: state_of(m, refused) == "rejected", what="Bob's purchase refused")
        ticket_page = people.get(f"/tickets/{refused}").text
        assert 'id="waitlist"' in ticket_page and "bob@example.org" in ticket_page
        join(people, event, "Bob", "bob@example.org")
        assert "You are on the waiting list" in people.get(f"/events/{slug}/waitlist/joined").text
        join(other, event, "Cy", "cy@example.org")
        join(other, event, "Dan", "dan@example.org")
        bob_leave = link_in(smtp_server, "bob@example.org", "You are on the waiting list")
        assert "number <strong id=\"position\">1</strong>" in people.http.get(bob_leave).text
        cy_link = link_in(smtp_server, "cy@example.org", "You are on the waiting list")
        assert "number <strong id=\"position\">2</strong>" in other.http.get(cy_link).text

        # Bad input: a sentence each, nothing written.
        with Unchanged(m.events_db):
            twice = other.post(f"/events/{slug}/waitlist", name="Bob", email="BOB@example.org", quantity="1")
            assert twice.status_code == 400 and "on this event's waiting list already" in said(twice)
            bad = other.post(f"/events/{slug}/waitlist", name="Eve", email="not-an-address", quantity="1")
            assert bad.status_code == 400 and "email must be an address" in said(bad)
            many = other.post(f"/events/{slug}/waitlist", name="Eve", email="eve@example.org", quantity="11")
            assert many.status_code == 400 and "quantity must be between 1 and 10" in said(many)
            guessed = other.get(f"/events/{slug}/waitlist/{'A' * 32}")
            assert guessed.status_code == 404 and "not valid" in said(guessed)
            forged = other.post(f"/events/{slug}/waitlist/{'A' * 32}/buy", name="Eve", quantity="1")
            assert forged.status_code == 404 and "not valid" in said(forged)
            early = other.post(bob_leave.removeprefix(m.events.url) + "/buy", name="Bob", quantity="1")
            assert early.status_code == 400 and "No seats are offered to you" in said(early)
            no_csrf = other.http.post(f"{m.events.url}/events/{slug}/waitlist", data={"email": "eve@example.org"})
            assert no_csrf.status_code == 403

        # Ada's time to pay runs out: the seat is offered to Bob, the first on the list, by email.
        wait_until(lambda: state_of(m, ada) == "cancelled", timeout=40, what="Ada's hold expired")
        bob_offer = link_in(smtp_server, "bob@example.org", "Seats for you")
        assert bob_offer == bob_leave  # one link per person: it shows what is theirs now
        assert m.remaining(event) == 0
        assert "kept for people on the waiting list" in other.get(f"/events/{slug}").text

        # Nobody else can take it meanwhile.
        with Unchanged(m.events_db):
            eve = other.post(f"/events/{slug}/buy", name="Eve", email="eve@example.org", quantity="1")
            assert eve.status_code == 400 and "kept for people on the waiting list" in said(eve)
            cy_early = other.post(cy_link.removeprefix(m.events.url) + "/buy", name="Cy", quantity="1")
            assert cy_early.status_code == 400 and "No seats are offered to you" in said(cy_early)
            more = people.post(bob_offer.removeprefix(m.events.url) + "/buy", name="Bob", quantity="2")
            assert more.status_code == 400 and "at most 1 ticket" in said(more)

        # The link shows the buy form, filled in, and buys the seat with the normal Offer.
        offer_page = people.http.get(bob_offer).text
        assert 'id="offer"' in offer_page and 'value="bob@example.org"' in offer_page
        bought = people.post(bob_offer.removeprefix(m.events.url) + "/buy", name="Bob", quantity="1")
        assert bought.status_code == 303, bought.text[:500]
        bob = slug_of(bought.headers["location"])
        wait_until(lambda: state_of(m, bob) == "held", what="Bob's seat held")
        assert taken_at_shop(m) == 1
        again = people.post(bob_offer.removeprefix(m.events.url) + "/buy", name="Bob", quantity="1")
        assert again.status_code == 400 and "bought through this offer already" in said(again)

        # Bob does not pay either: the seat goes to Cy, who lets the offer run out; then it passes to Dan.
        wait_until(lambda: state_of(m, bob) == "cancelled", timeout=40, what="Bob's hold expired")
        assert link_in(smtp_server, "cy@example.org", "Seats for you") == cy_link
        dan_link = link_in(smtp_server, "dan@example.org", "Seats for you", timeout=60)
        assert "not bought in time" in other.http.get(cy_link).text
        with Unchanged(m.events_db):
            late = other.post(cy_link.removeprefix(m.events.url) + "/buy", name="Cy", quantity="1")
            assert late.status_code == 400 and "No seats are offered to you" in said(late)

        # Dan leaves the list from his link: nobody waits any more, so the seat is on sale to anyone again.
        assert other.post(dan_link.removeprefix(m.events.url) + "/leave").status_code == 303
        assert 'id="left"' in other.http.get(dan_link).text
        wait_until(lambda: m.remaining(event) == 1, what="the seat back on sale")
        eve_token = other.buy(event, name="Eve", email="eve@example.org")
        wait_until(lambda: state_of(m, eve_token) == "held", what="Eve's seat held")
        assert taken_at_shop(m) == 1
        assert [mail_to(smtp_server, who, "Seats for you") for who in ("bob@example.org", "cy@example.org")] != [[], []]
        assert len(mail_to(smtp_server, "bob@example.org", "Seats for you")) == 1  # queued once
    finally:
        people.close()
        other.close()


def raise_capacity(m: Market, event: str, capacity: int) -> None:
    update = {"type": "Update", "object": {"id": event, "type": "Event", "maximumAttendeeCapacity": capacity}}
    response = c2s(m.http, m.events, update)
    assert response.status_code < 300, response.text


@pytest.mark.slow
def test_a_raised_capacity_goes_to_those_whose_quantity_fits_and_racing_buyers_never_take_it(
    market: Callable[..., Market], smtp_server: SmtpSink
) -> None:
    m = market(env={"ROSE_ASH_SMTP_URL": smtp_server.url})
    event = schedule_event(m.http, m.events, name="Free Gig", capacity=1, price="0")
    slug = slug_of(event)
    people = Visitor(m.events, "/calendars")
    try:
        with Unchanged(m.events_db):
            early = people.post(f"/events/{slug}/waitlist", name="Bob", email="bob@example.org", quantity="1")
            assert early.status_code == 400 and "There are still tickets for this event" in said(early)
        ada = people.buy(event, name="Ada", email="ada@example.org")
        wait_until(lambda: state_of(m, ada) == "confirmed", what="Ada's free ticket")
        join(people, event, "Bob", "bob@example.org", quantity=2)
        join(people, event, "Cy", "cy@example.org", quantity=1)

        # One more seat: Bob, first, wants two; Cy, who wants one, is offered it.
        raise_capacity(m, event, 2)
        cy_link = link_in(smtp_server, "cy@example.org", "Seats for you")
        assert not mail_to(smtp_server, "bob@example.org", "Seats for you")
        assert m.remaining(event) == 0
        organiser = Visitor(m.events, "/calendars").login()
        tally = organiser.get("/admin/tickets").text
        organiser.close()
        assert 'data-agree="yes"' in tally and '<td class="kept">1</td>' in tally  # the kept seat is accounted for

        # Ten buyers and Cy at once: only Cy gets the seat.
        buyers = [Visitor(m.events, f"/events/{slug}") for _ in range(10)]

        def ordinary(n: int) -> httpx.Response:
            return buyers[n].post(f"/events/{slug}/buy", name=f"B{n}", email=f"b{n}@example.org", quantity="1")

        def cy() -> httpx.Response:
            return people.post(cy_link.removeprefix(m.events.url) + "/buy", name="Cy", quantity="1")

        with ThreadPoolExecutor(max_workers=11) as pool:
            others = [pool.submit(ordinary, n) for n in range(10)]
            mine = pool.submit(cy)
            answers = [f.result() for f in others]
            bought = mine.result()
        for buyer in buyers:
            buyer.close()
        assert bought.status_code == 303, bought.text[:500]
        wait_until(lambda: state_of(m, slug_of(bought.headers["location"])) == "confirmed", what="Cy's ticket")
        # Each other buyer is told the seat is kept, or (once Cy's ticket is sold) the shop says sold out.
        for answer in answers:
            if answer.status_code == 400:
                assert "kept for people on the waiting list" in said(answer)
            else:
                assert answer.status_code == 303, answer.text[:500]
                token = slug_of(answer.headers["location"])
                wait_until(lambda token=token: state_of(m, token) == "rejected", what="a later buyer refused")
        assert m.sold(event) == 2 == taken_at_shop(m)

        # Two more seats: now Bob's two fit.
        raise_capacity(m, event, 4)
        bob_link = link_in(smtp_server, "bob@example.org", "Seats for you")
        bob = people.post(bob_link.removeprefix(m.events.url) + "/buy", name="Bob", quantity="2")
        assert bob.status_code == 303, bob.text[:500]
        wait_until(lambda: m.sold(event) == 4, what="four sold")
        assert taken_at_shop(m) == 4 == m.shop_tickets_for(event)
        assert m.remaining(event) == 0
    finally:
        people.close()
