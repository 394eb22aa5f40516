"""The repeat rule of a series and the dates it gives: wall-clock time kept across DST, monthly on the same
weekday (the last one from the 29th on), ends by date or count, every bad end refused with a sentence; and what
an edit of one date carries to the following ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from activities.errors import ActivityError
from activities.event import parse_event_input
from activities.series import MAX_OCCURRENCES, Repeat, SeriesRule, carry, describe, occurrences, parse_rule

FORM = {
    "name": "Quiz",
    "start": "2027-03-14T19:00",
    "end": "2027-03-14T22:00",
    "timezone": "Europe/London",
    "location": "The Hall",
    "capacity": "40",
    "price": "5",
}


def starts(rule: SeriesRule, **change: str) -> list[datetime]:
    return [o.start for o in occurrences(parse_event_input({**FORM, **change}), rule)]


def test_weekly_keeps_the_local_time_across_the_clocks_going_forward_and_back() -> None:
    spring = starts(SeriesRule(Repeat.WEEKLY, count=4))
    assert [s.astimezone(UTC) for s in spring] == [
        datetime(2027, 3, 14, 19, tzinfo=UTC),
        datetime(2027, 3, 21, 19, tzinfo=UTC),
        datetime(2027, 3, 28, 18, tzinfo=UTC),  # British Summer Time from 28 March: 19:00 local is 18:00 UTC
        datetime(2027, 4, 4, 18, tzinfo=UTC),
    ]
    assert {s.strftime("%H:%M") for s in spring} == {"19:00"}
    autumn = starts(
        SeriesRule(Repeat.WEEKLY, until=date(2027, 11, 7)), start="2027-10-24T19:00", end="2027-10-24T22:00"
    )
    assert [s.astimezone(UTC).hour for s in autumn] == [18, 19, 19]  # back to GMT on 31 October


def test_the_end_keeps_its_own_day_and_time() -> None:
    [first, second] = occurrences(
        parse_event_input({**FORM, "end": "2027-03-15T01:00"}), SeriesRule(Repeat.WEEKLY, count=2)
    )
    assert second.end.isoformat() == "2027-03-22T01:00:00+00:00" and first.end.day == 15


def test_a_time_the_clocks_skip_moves_on_by_the_gap() -> None:
    [_, skipped] = starts(SeriesRule(Repeat.WEEKLY, count=2), start="2027-03-21T01:30", end="2027-03-21T03:00")
    assert skipped.isoformat() == "2027-03-28T02:30:00+01:00"


def test_monthly_repeats_on_the_same_weekday_of_the_month() -> None:
    second_sunday = starts(SeriesRule(Repeat.MONTHLY, count=4))  # 14 March 2027 is the 2nd Sunday
    assert [s.date() for s in second_sunday] == [
        date(2027, 3, 14),
        date(2027, 4, 11),
        date(2027, 5, 9),
        date(2027, 6, 13),
    ]
    assert {s.strftime("%H:%M") for s in second_sunday} == {"19:00"}
    assert describe(SeriesRule(Repeat.MONTHLY, count=4), date(2027, 3, 14)) == "on the 2nd Sunday of each month"


def test_monthly_from_the_31st_repeats_on_the_last_such_weekday() -> None:
    """Decided: a first date on the 29th-31st means 'the last Wednesday' (a fifth one most months lack)."""
    dates = [
        s.date() for s in starts(SeriesRule(Repeat.MONTHLY, count=4), start="2027-03-31T19:00", end="2027-03-31T22:00")
    ]
    assert dates == [date(2027, 3, 31), date(2027, 4, 28), date(2027, 5, 26), date(2027, 6, 30)]
    assert {d.weekday() for d in dates} == {2}
    assert describe(SeriesRule(Repeat.MONTHLY, count=2), date(2027, 3, 31)) == "on the last Wednesday of each month"


def test_monthly_crosses_the_new_year() -> None:
    dates = [
        s.date() for s in starts(SeriesRule(Repeat.MONTHLY, count=3), start="2027-11-02T19:00", end="2027-11-02T22:00")
    ]
    assert dates == [date(2027, 11, 2), date(2027, 12, 7), date(2028, 1, 4)]  # the 1st Tuesday


def test_until_is_the_last_date_a_series_may_fall_on() -> None:
    assert len(starts(SeriesRule(Repeat.WEEKLY, until=date(2027, 4, 4)))) == 4
    assert len(starts(SeriesRule(Repeat.WEEKLY, until=date(2027, 4, 3)))) == 3


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"repeat": "daily", "count": "3"}, "repeat must be none, weekly or monthly"),
        ({"repeat": "weekly"}, "a repeating event needs an end: a last date or a number of dates"),
        ({"repeat": "weekly", "count": "3", "until": "2027-05-01"}, "an end date or a number of dates, not both"),
        ({"repeat": "weekly", "count": "0"}, f"a series has between 2 and {MAX_OCCURRENCES} dates"),
        ({"repeat": "weekly", "count": "1"}, f"a series has between 2 and {MAX_OCCURRENCES} dates"),
        ({"repeat": "weekly", "count": "1000"}, f"a series has between 2 and {MAX_OCCURRENCES} dates"),
        ({"repeat": "weekly", "count": "three"}, "the number of dates must be a whole number"),
        ({"repeat": "weekly", "until": "soon"}, "the last date must look like 2027-12-31"),
    ],
)
def test_bad_rules_are_refused_with_a_sentence(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ActivityError, match=message):
        parse_rule(fields)


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("2027-03-13", "the series must end on or after its first date"),
        ("2027-03-20", "the last date comes before the second date: a series needs at least two"),
        ("2029-01-01", f"that last date gives more than {MAX_OCCURRENCES} dates"),
    ],
)
def test_bad_last_dates_are_refused_with_a_sentence(until: str, message: str) -> None:
    with pytest.raises(ActivityError, match=message):
        starts(parse_rule({"repeat": "weekly", "until": until}) or SeriesRule(Repeat.WEEKLY))


def test_no_repeat_is_no_series() -> None:
    assert parse_rule({}) is None and parse_rule({"repeat": "none", "count": "5"}) is None


def test_a_change_carries_only_what_changed_and_keeps_each_dates_day() -> None:
    old = parse_event_input(FORM)
    later = parse_event_input({**FORM, "start": "2027-03-28T19:00", "end": "2027-03-28T22:00", "location": "The Barn"})
    new = parse_event_input({**FORM, "name": "Pub quiz", "start": "2027-03-14T20:00", "end": "2027-03-14T23:00"})
    moved = carry(old, new, later)
    assert moved.name == "Pub quiz" and moved.location_name == "The Barn"  # its own place stays
    assert moved.start.isoformat() == "2027-03-28T20:00:00+01:00" and moved.end.hour == 23
    assert carry(old, old, later) == later
    assert carry(old, replace(old, capacity=10), later).capacity == 10


def test_a_carried_change_that_breaks_a_date_is_refused() -> None:
    old = parse_event_input(FORM)
    free = parse_event_input({**FORM, "price": "0"})
    rsvp = parse_event_input({**FORM, "price": "0", "admission": "rsvp"})
    with pytest.raises(ActivityError, match="an event that takes RSVPs is free"):
        carry(free, rsvp, old)  # the other date still has its price of 5
