"""An Event document read back as the schedule form's fields, so the form, a client's Update and the dates of a
series all go through the same checks."""

from __future__ import annotations

from typing import Any

from activities import buyer_cancel, fep8a8e


def form_of_event(event: dict[str, Any], defaults: bool = True) -> dict[str, Any]:
    """Without `defaults` (an Update), a field the object leaves out stays None: it keeps its value."""
    fep = fep8a8e.form_of(event)
    if not defaults:
        fep = {k: v for k, v in fep.items() if not (k == "status" and "eventStatus" not in event)}
        fep = {k: v for k, v in fep.items() if not (k == "admission" and "joinMode" not in event)}
    return {
        "name": event.get("name"),
        "start": event.get("startTime"),
        "end": event.get("endTime"),
        "timezone": event.get("timezone") or ("UTC" if defaults else None),
        **fep,
        "capacity": event.get("maximumAttendeeCapacity"),
        "price": event.get("price", "0" if defaults else None),
        "cancel_hours": _cancel_hours(event, defaults),
        "description": description_of(event),
    }


def description_of(event: dict[str, Any]) -> str:
    """What the organiser typed: `source` when we wrote the event, else the content after its date line."""
    source = event.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str):
        return str(source["content"])
    return str(event.get("content") or "").removeprefix(str(event.get("summary") or ""))


def _cancel_hours(event: dict[str, Any], defaults: bool) -> str | None:
    """As the form has it; a client's value passes as given, so a bad one is refused with the form's sentence."""
    if buyer_cancel.FIELD in event:
        value = event[buyer_cancel.FIELD]
        return "" if value is None else str(value)
    return "" if defaults else None
