"""The calendar page's filters (category, place, a date range) from its query string, and the split of events
into upcoming and past."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from activities.fep8a8e import address_text, online_url_of, place_of


class FilterError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _date(value: str | None, what: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"the {what} date must look like 2027-07-01") from None


@dataclass(frozen=True)
class EventFilter:
    category: str = ""
    place: str = ""
    start: date | None = None  # events on or after this day (in their own time zone)
    end: date | None = None  # events on or before this day

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> EventFilter:
        found = cls(
            category=query.get("category", "").strip()[:64],
            place=query.get("place", "").strip()[:100],
            start=_date(query.get("from"), "from"),
            end=_date(query.get("to"), "to"),
        )
        if found.start and found.end and found.end < found.start:
            raise FilterError("the 'to' date must not be before the 'from' date")
        return found

    @property
    def active(self) -> bool:
        return bool(self.category or self.place or self.start or self.end)

    def matches(self, event: dict[str, Any]) -> bool:
        if self.category and str(event.get("category") or "").casefold() != self.category.casefold():
            return False
        if self.place:
            place = place_of(event)
            where = " ".join([str(place.get("name") or ""), address_text(place)])
            if online_url_of(event):
                where += " online"
            if self.place.casefold() not in where.casefold():
                return False
        day = datetime.fromisoformat(str(event["startTime"])).date()
        return not ((self.start and day < self.start) or (self.end and day > self.end))


def split(events: list[dict[str, Any]], now: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(upcoming, past): an event is past once it has ended; upcoming soonest first, past latest first."""
    moment = datetime.fromtimestamp(now, UTC)
    upcoming = [e for e in events if datetime.fromisoformat(str(e["endTime"])) >= moment]
    past = [e for e in events if datetime.fromisoformat(str(e["endTime"])) < moment]
    upcoming.sort(key=lambda e: datetime.fromisoformat(str(e["startTime"])))
    past.sort(key=lambda e: datetime.fromisoformat(str(e["startTime"])), reverse=True)
    return upcoming, past


def categories(events: list[dict[str, Any]]) -> list[str]:
    return sorted({str(c) for e in events if (c := e.get("category"))}, key=str.casefold)
