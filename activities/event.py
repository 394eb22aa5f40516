"""Events as AS2 `Event` (FEP-8a8e terms), with a summary Mastodon can show: date, time and place."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from activities import buyer_cancel, fep8a8e
from activities.buyer_cancel import parse_cancel_hours
from activities.errors import ActivityError
from activities.fep8a8e import Admission, EventDetails
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
    details: EventDetails = field(default_factory=EventDetails)
    buyer_cancel_hours: int | None = None  # buyers may cancel until this many hours before the start; None: never
    image: dict[str, Any] | None = None  # the poster as an AS2 `Image` (url, mediaType, width, height, name)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_event_input(form: dict[str, Any]) -> EventInput:
    """Validate what an organiser typed (local date-times in a named time zone)."""
    name = plain(form.get("name"), "name", 200)
    tz_name = plain(form.get("timezone") or "UTC", "time zone", 64)
    try:
        if tz_name not in _zones():
            raise ValueError(tz_name)
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ActivityError(f"unknown time zone {tz_name}: give an IANA name like Europe/London") from None
    start = _local_time(form.get("start"), "start", zone)
    end = _local_time(form.get("end"), "end", zone)
    try:
        capacity = int(str(form.get("capacity", "")).strip())
    except ValueError:
        raise ActivityError("capacity must be a whole number") from None
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ActivityError(f"capacity must be between 1 and {MAX_CAPACITY}")
    price = parse_price(form.get("price", "0"))
    details = fep8a8e.parse_details(form)
    return check_input(
        EventInput(
            name=name,
            start=start,
            end=end,
            timezone=tz_name,
            location_name=plain(form.get("location"), "location", 200, required=False),
            location_address=plain(form.get("address"), "address", 300, required=False),
            capacity=capacity,
            price=price,
            description=plain(form.get("description"), "description", 2000, required=False),
            details=details,
            buyer_cancel_hours=parse_cancel_hours(form.get("cancel_hours")),
        )
    )


def check_input(data: EventInput) -> EventInput:
    """The rules that tie fields together, for a form just parsed and for fields carried over from another date
    of a series."""
    if data.end <= data.start:
        raise ActivityError("the end must be after the start")
    if not data.location_name and not data.details.online_url:
        raise ActivityError("location is required")
    if data.details.admission == Admission.RSVP and data.price != 0:
        raise ActivityError("an event that takes RSVPs is free: set the price to 0 or sell tickets")
    if data.details.status == fep8a8e.EventStatus.MOVED_ONLINE and not data.details.online_url:
        raise ActivityError("an event moved online needs its online address")
    return data


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
    previous_start: str | None = None,
    series: str | None = None,
) -> dict[str, Any]:
    details = data.details
    place_label = fep8a8e.place_label(data.location_name, details)
    line = fep8a8e.summary_line(data.start, place_label, data.price, currency, details.status)
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
        "summary": fep8a8e.summary_html(line),
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
        **fep8a8e.fields(
            data.location_name,
            data.location_address,
            details,
            organizer=organizer,
            event_id=event_id,
            ticketed=details.admission == Admission.TICKETS,
        ),
    }
    if previous_start:
        doc["previousStartTime"] = previous_start
    if series:
        doc["series"] = series  # the OrderedCollection of the series' dates, this one among them
    if data.description:
        doc["source"] = {"content": data.description, "mediaType": "text/plain"}
    if data.buyer_cancel_hours is not None:
        doc[buyer_cancel.FIELD] = data.buyer_cancel_hours
    if data.image:
        doc["image"] = data.image
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
