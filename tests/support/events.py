"""The C2S Create(Event) the events peer's outbox takes, built one way for the tests and the benchmarks."""

from __future__ import annotations

from typing import Any


def event_activity(
    name: str = "Gig", capacity: int = 100, price: str = "12.00", location: str = "Hall", **extra: Any
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
