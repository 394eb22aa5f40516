"""iCalendar (RFC 5545) pieces built from an AS2 `Event` document, shared by the kinds: the events peer's feeds
(actors/events/ical.py) and the shop's confirmation email (its `.ics` attachment). Core: imports no actor kind."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from activities import fep8a8e

_TAG = re.compile(r"<[^>]+>")
YEAR = timedelta(days=366)  # VTIMEZONE transitions from a year before the first event to a year after the last


def local_time(value: str, zone: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone))


def description_of(data: dict[str, Any]) -> str:
    source = data.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str):
        return str(source["content"])
    return html.unescape(_TAG.sub(" ", str(data.get("content") or ""))).strip()


def location_of(data: dict[str, Any]) -> str:
    place = fep8a8e.place_of(data)
    text = ", ".join(str(part) for part in (place.get("name"), fep8a8e.address_text(place)) if part)
    online = fep8a8e.online_url_of(data)
    return f"{text} and online: {online}" if text and online else text or online


def poster_of(data: dict[str, Any]) -> tuple[str, str] | None:
    """The event's poster image as (url, media type), for ATTACH and a feed's enclosure."""
    image = data.get("image")
    if isinstance(image, dict) and isinstance(url := image.get("url"), str) and url.startswith(("https://", "http://")):
        return url, str(image.get("mediaType") or "image/jpeg")
    return None


def single_event(data: dict[str, Any], stamp: datetime, *, prodid: str, description: str = "") -> bytes:
    """A calendar of one event (UID: the event's id, so calendars update the one entry), with its VTIMEZONE."""
    from icalendar import Calendar, Event  # imported when first needed: 2 MiB an idle peer need not hold

    zone = str(data.get("timezone") or "UTC")
    start = local_time(str(data["startTime"]), zone)
    end = local_time(str(data.get("endTime") or data["startTime"]), zone)
    event = Event()
    event.add("uid", str(data["id"]))
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", str(data.get("name") or ""))
    if location := location_of(data):
        event.add("location", location)
    if text := description or description_of(data):
        event.add("description", text)
    event.add("url", str(data.get("url") or data["id"]))
    if poster := poster_of(data):
        event.add("attach", poster[0], parameters={"FMTTYPE": poster[1]})
    cal = Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add_component(event)
    cal.add_missing_timezones(first_date=start.date() - YEAR, last_date=end.date() + YEAR)
    return bytes(cal.to_ical())
