"""The counts an event's page shows (sold, held, kept for the waiting list, attending, the series' dates, the
poster), kept in the process for a moment: in a ticket rush every buyer opens the page, and most see the same
numbers. What this process commits that changes them (a sale, a hold, a release, an offer to the waiting list,
an RSVP: each recounts the event) drops the kept copy once it commits; what another process commits shows
within `KEEP_SECONDS`. The page never decides a sale: Buy reads the store, and the shop answers "sold out"."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession

KEEP_SECONDS = 1.0
MAX_EVENTS = 1_000

_versions: dict[str, int] = {}
_kept: dict[str, tuple[int, float, dict[str, Any]]] = {}


def changed_after_commit(session: AsyncSession, event: str) -> None:
    """The event's counts change in `session`: drop the kept copy when it commits (a rollback changed nothing)."""
    orm_event.listen(session.sync_session, "after_commit", lambda _s: _changed(event), once=True)


def _changed(event: str) -> None:
    _versions[event] = _versions.get(event, 0) + 1
    _kept.pop(event, None)


async def page_counts(event: str, read: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """The event's counts as kept, or as `read` finds them now (then kept)."""
    version = _versions.get(event, 0)  # taken before the read: a change committed meanwhile drops what it finds
    kept = _kept.get(event)
    if kept is not None and kept[0] == version and time.monotonic() - kept[1] < KEEP_SECONDS:
        return kept[2]
    started = time.monotonic()
    counts = await read()
    if _versions.get(event, 0) == version:
        if len(_kept) >= MAX_EVENTS:
            _kept.clear()
        _kept[event] = (version, started, counts)
    return counts
