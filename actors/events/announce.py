"""A short public Note to followers when an event is rescheduled, postponed, moved online or cancelled: Mastodon
before 4.5 ignores `Update` of an Event, so without it a follower would never hear of the change."""

from __future__ import annotations

import html
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity, iso
from activities.fep8a8e import STATUS_LABELS, EventStatus, status_of
from activities.vocab import PUBLIC
from actors.context import Services
from store import objects


def _when(value: str) -> str:
    moment = datetime.fromisoformat(value)
    return f"{moment.strftime('%a')} {moment.day} {moment.strftime('%B %Y, %H:%M')}"


def change_text(old: dict[str, Any] | None, new: dict[str, Any]) -> str | None:
    """What the Note says (plain text), or None when the change is not one followers are told of."""
    status, name = status_of(new), str(new.get("name") or "")
    if status == EventStatus.CANCELLED and (old is None or status_of(old) != EventStatus.CANCELLED):
        return f"Cancelled: {name} on {_when(str(new['startTime']))} will not take place."
    if old is None:
        return None
    if old.get("startTime") != new.get("startTime"):
        return f"Rescheduled: {name} is now on {_when(str(new['startTime']))} (was {_when(str(old['startTime']))})."
    if status != status_of(old) and status in (EventStatus.POSTPONED, EventStatus.MOVED_ONLINE):
        return f"{STATUS_LABELS[status]}: {name}, planned for {_when(str(new['startTime']))}."
    return None


async def announce_change(
    session: AsyncSession, services: Services, old: dict[str, Any] | None, new: dict[str, Any]
) -> dict[str, Any] | None:
    """Store and send the Note for a change of `old` into `new` (None: the event's last document before a
    cancellation that removes it); returns the Note, or None when nothing is worth a Note."""
    text = change_text(old, new)
    if text is None:
        return None
    now = services.clock()
    url = str(new.get("url") or new["id"])
    note = {
        "id": services.actor.url(f"notes/{secrets.token_urlsafe(9)}"),
        "type": "Note",
        "attributedTo": services.actor.id,
        "content": f'<p>{html.escape(text)} <a href="{html.escape(url)}">{html.escape(url)}</a></p>',
        "url": url,
        "context": new["id"],
        "published": iso(now),
        "to": [PUBLIC],
        "cc": [services.actor.followers],
    }
    await objects.put(session, note, actor=services.actor.name, now=now)
    await services.emit(
        session,
        activity("Create", services.actor.new_activity_id(), services.actor.id, note, to=note["to"], cc=note["cc"]),
    )
    return note
