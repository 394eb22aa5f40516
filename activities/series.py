"""Weekly and monthly series: the organiser's repeat rule, checked, and the dates it gives. Each date becomes an
Event of its own (its own capacity, tickets and status); this module only works out when they are. Times repeat
in the event's own time zone: 19:00 stays 19:00 on both sides of a DST change. Pure: no I/O."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from activities.errors import ActivityError
from activities.event import EventInput, check_input
from activities.fep8a8e import EventDetails

MAX_OCCURRENCES = 52


class Repeat(StrEnum):
    NONE = "none"
    WEEKLY = "weekly"
    MONTHLY = "monthly"  # on the same weekday of the month: the 2nd Tuesday, the last Friday


@dataclass(frozen=True)
class SeriesRule:
    repeat: Repeat
    count: int | None = None  # how many dates, the first included
    until: date | None = None  # the last local date a series may fall on


def parse_rule(form: dict[str, Any]) -> SeriesRule | None:
    """The repeat fields of the schedule form; None when the event does not repeat."""
    value = str(form.get("repeat") or "").strip() or Repeat.NONE.value
    try:
        repeat = Repeat(value)
    except ValueError:
        raise ActivityError("repeat must be none, weekly or monthly") from None
    if repeat == Repeat.NONE:
        return None
    count_text, until_text = str(form.get("count") or "").strip(), str(form.get("until") or "").strip()
    if count_text and until_text:
        raise ActivityError("give the series an end date or a number of dates, not both")
    if not count_text and not until_text:
        raise ActivityError("a repeating event needs an end: a last date or a number of dates")
    if count_text:
        try:
            count = int(count_text)
        except ValueError:
            raise ActivityError("the number of dates must be a whole number") from None
        if not 2 <= count <= MAX_OCCURRENCES:
            raise ActivityError(f"a series has between 2 and {MAX_OCCURRENCES} dates")
        return SeriesRule(repeat, count=count)
    try:
        until = date.fromisoformat(until_text)
    except ValueError:
        raise ActivityError("the last date must look like 2027-12-31") from None
    return SeriesRule(repeat, until=until)


def _nth_weekday(year: int, month: int, weekday: int, week: int) -> date:
    """The `week`-th (0-based) `weekday` of the month; week 4 means the last one."""
    if week >= 4:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * week)


def _day(first: date, repeat: Repeat, k: int) -> date:
    if repeat == Repeat.WEEKLY:
        return first + timedelta(weeks=k)
    months = first.month - 1 + k
    return _nth_weekday(first.year + months // 12, months % 12 + 1, first.weekday(), (first.day - 1) // 7)


def _at(day: date, moment: datetime) -> datetime:
    """`moment`'s wall-clock time on `day` in its zone; a time the clocks skip that day moves on by the gap."""
    local = datetime.combine(day, moment.time(), tzinfo=moment.tzinfo)
    return local.astimezone(UTC).astimezone(moment.tzinfo)  # through UTC: a skipped 01:30 becomes 02:30


def _dates(data: EventInput, rule: SeriesRule) -> list[date]:
    first = data.start.date()
    if rule.count is not None:
        return [_day(first, rule.repeat, k) for k in range(rule.count)]
    assert rule.until is not None
    if rule.until < first:
        raise ActivityError("the series must end on or after its first date")
    days: list[date] = []
    while (day := _day(first, rule.repeat, len(days))) <= rule.until:
        if len(days) == MAX_OCCURRENCES:
            raise ActivityError(
                f"that last date gives more than {MAX_OCCURRENCES} dates: choose an earlier one or a number of dates"
            )
        days.append(day)
    if len(days) < 2:
        raise ActivityError("the last date comes before the second date: a series needs at least two")
    return days


def occurrences(data: EventInput, rule: SeriesRule) -> list[EventInput]:
    """The event as each date of the series: the same fields, its start and end moved to that date."""
    days_long, duration = data.end.date() - data.start.date(), data.end - data.start
    out = []
    for day in _dates(data, rule):
        start, end = _at(day, data.start), _at(day + days_long, data.end)
        out.append(replace(data, start=start, end=end if end > start else start + duration))
    return out


def describe(rule: SeriesRule, first: date) -> str:
    """`every week` or `on the 2nd Tuesday of each month` (the last Friday…), for pages."""
    if rule.repeat == Repeat.WEEKLY:
        return "every week"
    week = (first.day - 1) // 7
    nth = "last" if week >= 4 else ("1st", "2nd", "3rd", "4th")[week]
    return f"on the {nth} {first.strftime('%A')} of each month"


def _wall(data: EventInput) -> tuple[datetime, datetime, str]:
    return data.start.replace(tzinfo=None), data.end.replace(tzinfo=None), data.timezone


def changed_fields(old: EventInput, new: EventInput) -> set[str]:
    """The fields the organiser changed on one date: EventInput's own, `details.<name>` for the FEP-8a8e ones,
    and `time` for the start, the end or the time zone."""
    changed = {
        name
        for name in (
            "name",
            "location_name",
            "location_address",
            "capacity",
            "price",
            "description",
            "buyer_cancel_hours",
        )
        if getattr(old, name) != getattr(new, name)
    }
    changed |= {
        f"details.{name}"
        for name in EventDetails.__dataclass_fields__
        if getattr(old.details, name) != getattr(new.details, name)
    }
    if _wall(old) != _wall(new):
        changed.add("time")
    return changed


def carry(old: EventInput, new: EventInput, other: EventInput) -> EventInput:
    """A following date of the series after `old` became `new` on one date: the fields the organiser changed
    there change here too, the rest stay as this date has them. A change of time keeps this date's day, moved by
    as many days as the edited date moved, at the new time of day (wall clock, in the new zone)."""
    changed = changed_fields(old, new)
    fields = {name: getattr(new, name) for name in changed if "." not in name and name != "time"}
    details = {
        name.removeprefix("details."): getattr(new.details, name.removeprefix("details."))
        for name in changed
        if name.startswith("details.")
    }
    out = replace(other, **fields, details=replace(other.details, **details))
    if "time" in changed:
        day = other.start.date() + (new.start.date() - old.start.date())
        start = _at(day, new.start)
        end = _at(day + (new.end.date() - new.start.date()), new.end)
        out = replace(
            out, start=start, end=end if end > start else start + (new.end - new.start), timezone=new.timezone
        )
    return check_input(out)
