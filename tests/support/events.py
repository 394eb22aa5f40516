"""The C2S Create(Event) the events peer's outbox takes, built one way for the tests and the benchmarks.

Free by default: a free ticket is confirmed at once, so tests and benchmarks of delivery and capacity measure
the Offer/Accept path itself; the priced path (held while the buyer pays) is tested where payment is the point."""

from __future__ import annotations

from typing import Any


def event_activity(
    name: str = "Gig", capacity: int = 100, price: str = "0", location: str = "Hall", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "Create",
        "object": {
            "type": "Event",
            "name": name,
            "startTime": "2027-07-01T19:00",
            "endTime": "2027-07-01T23:00",
            "timezone": "Europe/London",
            "location": {"type": "Place", "name": location},
            "maximumAttendeeCapacity": capacity,
            "price": price,
            **extra,
        },
    }
