"""The organiser's buyer-cancellation rule: read from the schedule form, carried in the Event, and applied to a
moment."""

from datetime import datetime

import pytest

from activities.buyer_cancel import NOT_ALLOWED, cancel_refusal, parse_cancel_hours
from activities.errors import ActivityError
from activities.event import event_document, parse_event_input
from actors.events.event_form import form_of_event
from tests.activities.test_event import FORM

START = datetime.fromisoformat("2027-07-01T19:00:00+01:00").timestamp()


def document(form: dict[str, str]) -> dict[str, object]:
    return event_document(
        event_id="https://e.example/events/gig",
        organizer="https://e.example/actor",
        calendar="https://e.example/calendars/main",
        data=parse_event_input(form),
        featured_post=None,
        sold=0,
        public="https://www.w3.org/ns/activitystreams#Public",
        followers="https://e.example/actor/followers",
        extra_cc=[],
        currency="GBP",
        published="2027-01-01T00:00:00Z",
    )


def test_the_form_sets_the_rule_and_the_event_carries_it() -> None:
    assert "buyerCancelHours" not in document(FORM)  # the default: buyers may not cancel
    doc = document({**FORM, "cancel_hours": " 48 "})
    assert doc["buyerCancelHours"] == 48
    assert form_of_event(doc)["cancel_hours"] == "48"
    assert document({**FORM, "cancel_hours": "0"})["buyerCancelHours"] == 0


@pytest.mark.parametrize("bad", ["two", "-1", "1.5", "9000"])
def test_bad_hours_are_refused_with_a_sentence(bad: str) -> None:
    with pytest.raises(ActivityError, match="hours before the start"):
        parse_cancel_hours(bad)


def test_the_rule_applied_to_a_moment() -> None:
    event = {"startTime": "2027-07-01T19:00:00+01:00", "buyerCancelHours": 48}
    assert cancel_refusal(event, START - 49 * 3600) is None
    late = cancel_refusal(event, START - 47 * 3600)
    assert late is not None and "until 48 hours before the start; that time has passed" in late
    assert cancel_refusal({**event, "buyerCancelHours": 0}, START - 60) is None
    assert "until the start" in str(cancel_refusal({**event, "buyerCancelHours": 0}, START + 60))
    assert cancel_refusal({"startTime": event["startTime"]}, 0) == NOT_ALLOWED
    assert cancel_refusal({**event, "buyerCancelHours": "48"}, 0) == NOT_ALLOWED  # a string is no rule
