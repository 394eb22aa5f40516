"""The organiser's rule for buyers cancelling their own tickets: allowed or not, and until how many hours before
the event's start. It travels in the Event as `buyerCancelHours` (rose-ash's context); absent means buyers may
not cancel. Both peers read it from the event: the events peer to offer the button, the shop to decide."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activities.errors import ActivityError

FIELD = "buyerCancelHours"
MAX_HOURS = 24 * 366

NOT_ALLOWED = "The organiser of this event does not let buyers cancel their tickets."


def parse_cancel_hours(value: object) -> int | None:
    """The form's "buyers may cancel up to N hours before the start": empty means they may not."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        hours = int(text)
    except ValueError:
        raise ActivityError("the hours before the start until which buyers may cancel must be a whole number") from None
    if not 0 <= hours <= MAX_HOURS:
        raise ActivityError(f"buyers may cancel up to between 0 and {MAX_HOURS} hours before the start")
    return hours


def cancel_hours_of(event: dict[str, Any]) -> int | None:
    hours = event.get(FIELD)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= MAX_HOURS:
        return None
    return hours


def cancel_refusal(event: dict[str, Any], now: float) -> str | None:
    """Why a buyer may not cancel now (a sentence), or None while the event's rule allows it."""
    hours = cancel_hours_of(event)
    if hours is None:
        return NOT_ALLOWED
    try:
        start = datetime.fromisoformat(str(event.get("startTime"))).timestamp()
    except ValueError:
        return NOT_ALLOWED
    if now > start - hours * 3600:
        before = f"{hours} hour{'s' if hours != 1 else ''} before the start" if hours else "the start"
        return f"Tickets for this event could be cancelled until {before}; that time has passed."
    return None
