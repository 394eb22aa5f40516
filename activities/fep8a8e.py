"""The FEP-8a8e parts of an Event beyond its name and times: status (and the start it moved from), organizers,
category, where it happens (a Place with a postal address and coordinates, a VirtualLocation, or both), how
people take part (`joinMode`), and the summary line Mastodon shows. Pure: parse what the organiser typed, build
the document's fields, read them back for the edit form."""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import quote_plus, urlsplit

from activities.errors import ActivityError
from activities.text import plain

MAX_ORGANIZERS = 5
_CATEGORY = re.compile(r"^[\w][\w &/-]*$")


class EventStatus(StrEnum):
    SCHEDULED = "EventScheduled"
    CANCELLED = "EventCancelled"
    POSTPONED = "EventPostponed"
    RESCHEDULED = "EventRescheduled"
    MOVED_ONLINE = "EventMovedOnline"


class JoinMode(StrEnum):
    EXTERNAL = "external"  # tickets, bought on the event's page
    FREE = "free"  # RSVP with a Join from any fediverse account


class Admission(StrEnum):
    """What the organiser picks on the form."""

    TICKETS = "tickets"
    RSVP = "rsvp"


STATUS_LABELS = {
    EventStatus.SCHEDULED: "Scheduled",
    EventStatus.CANCELLED: "Cancelled",
    EventStatus.POSTPONED: "Postponed",
    EventStatus.RESCHEDULED: "Rescheduled",
    EventStatus.MOVED_ONLINE: "Moved online",
}


@dataclass(frozen=True)
class Coordinates:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class EventDetails:
    status: EventStatus = EventStatus.SCHEDULED
    category: str = ""
    organizers: tuple[str, ...] = ()  # fediverse actors organising with us, besides our own actor
    locality: str = ""
    postcode: str = ""
    country: str = ""
    coordinates: Coordinates | None = None
    online_url: str = ""
    admission: Admission = Admission.TICKETS


def _choice(value: object, allowed: type[StrEnum], what: str, default: StrEnum) -> Any:
    if value is None or value == "":
        return default
    try:
        return allowed(str(value).strip())
    except ValueError:
        names = ", ".join(m.value for m in allowed)
        raise ActivityError(f"{what} must be one of {names}") from None


def web_url(value: object, what: str) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 2000 or any(c.isspace() for c in text):
        raise ActivityError(f"{what} must be a web address starting with https://")
    return text


def _coordinate(value: object, what: str, bound: float) -> float | None:
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise ActivityError(f"the {what} must be a number like 53.7997") from None
    if not math.isfinite(number) or not -bound <= number <= bound:
        raise ActivityError(f"the {what} must be between -{bound:g} and {bound:g}")
    return round(number, 6)


def _coordinates(form: dict[str, Any]) -> Coordinates | None:
    latitude = _coordinate(form.get("latitude"), "latitude", 90)
    longitude = _coordinate(form.get("longitude"), "longitude", 180)
    if (latitude is None) != (longitude is None):
        raise ActivityError("give both the latitude and the longitude, or neither")
    return None if latitude is None or longitude is None else Coordinates(latitude, longitude)


def _organizers(value: object) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = str(value or "").replace(",", " ").split()
    found = tuple(dict.fromkeys(web_url(item, "each organiser") for item in items))
    if len(found) > MAX_ORGANIZERS:
        raise ActivityError(f"at most {MAX_ORGANIZERS} other organisers")
    return found


def _category(value: object) -> str:
    text = plain(value, "category", 64, required=False)
    if text and not _CATEGORY.match(text):
        raise ActivityError("the category may hold letters, digits, spaces and & / - only")
    return text


def parse_details(form: dict[str, Any]) -> EventDetails:
    """The FEP-8a8e fields of the organiser's form, each bad one refused with a sentence."""
    details = EventDetails(
        status=_choice(form.get("status"), EventStatus, "the status", EventStatus.SCHEDULED),
        category=_category(form.get("category")),
        organizers=_organizers(form.get("organizers")),
        locality=plain(form.get("locality"), "town or city", 100, required=False),
        postcode=plain(form.get("postcode"), "postcode", 20, required=False),
        country=plain(form.get("country"), "country", 60, required=False),
        coordinates=_coordinates(form),
        online_url=web_url(form.get("online_url"), "the online address"),
        admission=_choice(form.get("admission"), Admission, "admission", Admission.TICKETS),
    )
    if details.status == EventStatus.MOVED_ONLINE and not details.online_url:
        raise ActivityError("an event moved online needs its online address")
    return details


def place_document(name: str, street: str, details: EventDetails) -> dict[str, Any]:
    place: dict[str, Any] = {"type": "Place", "name": name}
    address = {
        key: value
        for key, value in (
            ("streetAddress", street),
            ("addressLocality", details.locality),
            ("postalCode", details.postcode),
            ("addressCountry", details.country),
        )
        if value
    }
    if address:
        place["address"] = {"type": "PostalAddress", **address}
    if details.coordinates:
        place["latitude"], place["longitude"] = details.coordinates.latitude, details.coordinates.longitude
    return place


def location_document(name: str, street: str, details: EventDetails) -> dict[str, Any] | list[dict[str, Any]]:
    """A Place, a VirtualLocation, or both for a hybrid event; moved online, only the VirtualLocation."""
    online = {"type": "VirtualLocation", "url": details.online_url} if details.online_url else None
    if online and (details.status == EventStatus.MOVED_ONLINE or not name):
        return online
    place = place_document(name, street, details)
    return [place, online] if online else place


def summary_line(start: datetime, place: str, price: Decimal, currency: str, status: EventStatus) -> str:
    """`Thu 1 July 2027, 19:00 · The Hall · 12.00 GBP` — plain text; a status other than scheduled leads."""
    when = f"{start.strftime('%a')} {start.day} {start.strftime('%B %Y, %H:%M')}"
    cost = "Free" if price == 0 else f"{price:.2f} {currency}"
    line = f"{when} · {place} · {cost}"
    if status not in (EventStatus.SCHEDULED,):
        line = f"{STATUS_LABELS[status]}: {line}"
    return line


def place_label(name: str, details: EventDetails) -> str:
    if details.online_url and (details.status == EventStatus.MOVED_ONLINE or not name):
        return "Online"
    parts = [name, details.locality] if details.locality and details.locality not in name else [name]
    label = ", ".join(p for p in parts if p)
    return f"{label} and online" if details.online_url else label


def fields(
    name: str, street: str, details: EventDetails, *, organizer: str, event_id: str, ticketed: bool
) -> dict[str, Any]:
    """The Event document's FEP-8a8e fields."""
    doc: dict[str, Any] = {
        "eventStatus": details.status.value,
        "organizers": [organizer, *(o for o in details.organizers if o != organizer)],
        "location": location_document(name, street, details),
    }
    if details.category:
        doc["category"] = details.category
    if ticketed:
        doc["joinMode"] = JoinMode.EXTERNAL.value
        doc["externalParticipationUrl"] = event_id  # the event's page holds the buy form
    else:
        doc["joinMode"] = JoinMode.FREE.value
        doc["attendees"] = attendees_of(event_id)
    return doc


def attendees_of(event: str) -> str:
    return f"{event}/attendees"


def summary_html(line: str) -> str:
    return f"<p>{html.escape(line)}</p>"


# ---------------------------------------------------------------------------------- reading back --


def places_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    location = doc.get("location")
    items = location if isinstance(location, list) else [location]
    return [item for item in items if isinstance(item, dict)]


def place_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The event's physical Place ({} when it is online only)."""
    return next((p for p in places_of(doc) if p.get("type") == "Place"), {})


def online_url_of(doc: dict[str, Any]) -> str:
    for item in places_of(doc):
        if item.get("type") == "VirtualLocation" and isinstance(item.get("url"), str):
            return str(item["url"])
    return ""


def address_parts(place: dict[str, Any]) -> dict[str, str]:
    """streetAddress, addressLocality, postalCode, addressCountry of a Place (an address as text is the street)."""
    address = place.get("address")
    if isinstance(address, str):
        return {"streetAddress": address}
    if not isinstance(address, dict):
        return {}
    keys = ("streetAddress", "addressLocality", "postalCode", "addressCountry")
    return {k: str(address[k]) for k in keys if isinstance(address.get(k), str)}


def address_text(place: dict[str, Any]) -> str:
    return ", ".join(address_parts(place).values())


def status_of(doc: dict[str, Any]) -> EventStatus:
    try:
        return EventStatus(str(doc.get("eventStatus") or EventStatus.SCHEDULED.value))
    except ValueError:
        return EventStatus.SCHEDULED


def form_of(doc: dict[str, Any]) -> dict[str, Any]:
    """An Event document as the form's FEP-8a8e fields (the edit form, a client's Update)."""
    place = place_of(doc)
    parts = address_parts(place)
    organizers = doc.get("organizers")
    ours = doc.get("attributedTo")
    extra = [o for o in organizers if isinstance(o, str) and o != ours] if isinstance(organizers, list) else []
    latitude, longitude = place.get("latitude"), place.get("longitude")
    return {
        "location": place.get("name", ""),
        "address": parts.get("streetAddress", ""),
        "locality": parts.get("addressLocality", ""),
        "postcode": parts.get("postalCode", ""),
        "country": parts.get("addressCountry", ""),
        "latitude": "" if latitude is None else str(latitude),
        "longitude": "" if longitude is None else str(longitude),
        "online_url": online_url_of(doc),
        "status": status_of(doc).value,
        "category": doc.get("category") or "",
        "organizers": " ".join(extra),
        "admission": Admission.RSVP.value if doc.get("joinMode") == JoinMode.FREE else Admission.TICKETS.value,
    }


def address_text_of(doc: dict[str, Any]) -> str:
    return address_text(place_of(doc))


def osm_url(place: dict[str, Any]) -> str:
    """An OpenStreetMap link to the place: its coordinates where given, else a search for its name and address."""
    latitude, longitude = place.get("latitude"), place.get("longitude")
    if isinstance(latitude, (int, float)) and isinstance(longitude, (int, float)):
        return f"https://www.openstreetmap.org/?mlat={latitude}&mlon={longitude}#map=17/{latitude}/{longitude}"
    query = ", ".join(p for p in (str(place.get("name") or ""), address_text(place)) if p)
    return f"https://www.openstreetmap.org/search?query={quote_plus(query)}" if query else ""


def ticket_refusal(doc: dict[str, Any]) -> str | None:
    """Why no ticket is sold for this event (a sentence), or None: RSVP events and cancelled ones sell none."""
    if doc.get("type") != "Event":
        return None  # a removed event: the purchase's own checks say so
    if doc.get("joinMode") == JoinMode.FREE:
        return "This event is free and takes no tickets: RSVP from your fediverse account instead."
    if status_of(doc) == EventStatus.CANCELLED:
        return "This event is cancelled: no tickets are sold."
    return None
