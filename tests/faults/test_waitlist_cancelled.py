"""An organiser cancels a sold-out event with people on its waiting list (real events and shop processes, a real
SMTP server): each person still waiting is emailed once that it will not take place and their entry ends; one
who left the list hears nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from store.models import WaitlistEntry
from tests.faults.conftest import Market
from tests.faults.test_order_lifecycle import state_of
from tests.faults.test_waitlist import join, link_in, mail_to
from tests.hostile.helpers import Visitor, schedule_event, slug_of, wait_until
from tests.support.smtp import SmtpSink


@pytest.mark.slow
def test_the_waiting_list_is_told_once_when_its_event_is_cancelled(
    market: Callable[..., Market], smtp_server: SmtpSink
) -> None:
    m = market(env={"ROSE_ASH_SMTP_URL": smtp_server.url, "ROSE_ASH_HOLD_MINUTES": "30"})
    event = schedule_event(m.http, m.events, name="Packed Gig", capacity=1, price="12.00")
    organiser = Visitor(m.events, "/calendars").login()
    people = Visitor(m.events, "/calendars")
    try:
        ada = people.buy(event, name="Ada", email="ada@example.org")
        wait_until(lambda: state_of(m, ada) == "held", what="the one seat held")
        for name in ("Bob", "Cy", "Dan"):
            join(people, event, name, f"{name.lower()}@example.org")
        bob_link = link_in(smtp_server, "bob@example.org", "You are on the waiting list")
        dan_link = link_in(smtp_server, "dan@example.org", "You are on the waiting list")
        assert people.http.post(f"{dan_link}/leave", data={"csrf": people.csrf}).status_code == 303

        assert organiser.post(f"/events/{slug_of(event)}/cancel").status_code == 303
        assert organiser.post(f"/events/{slug_of(event)}/cancel").status_code == 303  # again: nothing more

        for who in ("bob", "cy"):
            [text] = wait_until(
                lambda who=who: mail_to(smtp_server, f"{who}@example.org", "Cancelled: Packed Gig"),
                what=f"{who} told of the cancellation",
            )
            assert "Packed Gig on Thu 1 July 2027, 19:00 (Europe/London) has been cancelled" in text
            assert "place on its waiting list has ended" in text
        wait_until(lambda: state_of(m, ada) == "cancelled", what="Ada's held order cancelled by the shop")
        m.events_db.settle()
        states = {e.name: e.state for e in m.events_db.rows(WaitlistEntry, WaitlistEntry.event == event)}
        assert states == {"Bob": "ended", "Cy": "ended", "Dan": "left"}
        assert not mail_to(smtp_server, "dan@example.org", "Cancelled")
        for who in ("bob", "cy"):
            assert len(mail_to(smtp_server, f"{who}@example.org", "Cancelled")) == 1
        assert 'id="ended"' in people.http.get(bob_link).text
    finally:
        organiser.close()
        people.close()
