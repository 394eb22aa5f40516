"""Events as AS2 `Event` (FEP-8a8e terms), with a summary Mastodon can show: date, time and place."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from activities.errors import ActivityError
from activities.text import plain

MAX_CAPACITY = 100_000


@dataclass(frozen=True)
class EventInput:
    name: str
    start: datetime
    end: datetime
    timezone: str
    location_name: str
    location_address: str
    capacity: int
    price: Decimal
    description: str


def parse_event_input(form: dict[str, Any]) -> EventInput:
    """Validate what an organiser typed (local date-times in a named time zone)."""
    name = plain(form.get("name"), "name", 200)
    tz_name = plain(form.get("timezone") or "UTC", "time zone", 64)
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ActivityError(f"unknown time zone {tz_name}") from None
    start = _local_time(form.get("start"), "start", zone)
    end = _local_time(form.get("end"), "end", zone)
    if end <= start:
        raise ActivityError("the end must be after the start")
    try:
        capacity = int(str(form.get("capacity", "")).strip())
    except ValueError:
        raise ActivityError("capacity must be a whole number") from None
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ActivityError(f"capacity must be between 1 and {MAX_CAPACITY}")
    price = parse_price(form.get("price", "0"))
    return EventInput(
        name=name,
        start=start,
        end=end,
        timezone=tz_name,
        location_name=plain(form.get("location"), "location", 200),
        location_address=plain(form.get("address"), "address", 300, required=False),
        capacity=capacity,
        price=price,
        description=plain(form.get("description"), "description", 2000, required=False),
    )


def parse_price(value: object) -> Decimal:
    try:
        price = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise ActivityError("price must be a number like 12.50") from None
    if not price.is_finite() or price < 0 or price > Decimal("100000") or price.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ActivityError("price must be between 0 and 100000 with at most two decimals")
    return price.quantize(Decimal("0.01"))


def _local_time(value: object, what: str, zone: ZoneInfo) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ActivityError(f"the {what} time is required")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ActivityError(f"the {what} time must look like 2027-07-01T19:00") from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def when_and_where(start: datetime, location: str) -> str:
    """`Thu 1 July 2027, 19:00 · The Hall` — plain text."""
    return f"{start.strftime('%a')} {start.day} {start.strftime('%B %Y, %H:%M')} · {location}"


def event_document(
    *,
    event_id: str,
    organizer: str,
    calendar: str,
    data: EventInput,
    featured_post: str | None,
    sold: int,
    public: str,
    followers: str,
    extra_cc: list[str],
    currency: str,
    published: str,
    updated: str | None = None,
) -> dict[str, Any]:
    line = when_and_where(data.start, data.location_name)
    place: dict[str, Any] = {"type": "Place", "name": data.location_name}
    if data.location_address:
        place["address"] = data.location_address
    content = f"<p>{html.escape(line)}</p>"
    if data.description:
        content += f"<p>{html.escape(data.description)}</p>"
    doc: dict[str, Any] = {
        "id": event_id,
        "type": "Event",
        "name": data.name,
        "startTime": data.start.isoformat(),
        "endTime": data.end.isoformat(),
        "timezone": data.timezone,
        "location": place,
        "summary": f"<p>{html.escape(line)}</p>",
        "content": content,
        "url": event_id,
        "attributedTo": organizer,
        "maximumAttendeeCapacity": data.capacity,
        "remainingAttendeeCapacity": max(0, data.capacity - sold),
        "price": f"{data.price:.2f}",
        "priceCurrency": currency,
        "context": calendar,
        "sold": f"{event_id}/sold",
        "published": published,
        "to": [public],
        "cc": [followers, *extra_cc],
    }
    if data.description:
        doc["source"] = {"content": data.description, "mediaType": "text/plain"}
    if featured_post:
        doc["attachment"] = [{"type": "Link", "rel": "featured", "href": featured_post}]
    if updated:
        doc["updated"] = updated
    return doc


def featured_post(event: dict[str, Any]) -> str | None:
    for link in event.get("attachment") or []:
        if isinstance(link, dict) and link.get("rel") == "featured" and isinstance(href := link.get("href"), str):
            return href
    return None
