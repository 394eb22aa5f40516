"""In-process peers for the business-rule tests: a real `Services` from `build_services` on the test's
store, inbox contexts for calling a listener directly, and reads of what the rules wrote."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from activities.event import parse_event_input
from activities.parse import parse_activity
from actors.context import Context, Services
from actors.events.calendars import create_calendar
from actors.events.schedule import schedule
from inbox.dispatch import InboxContext
from inbox.signatures import Scheme, Verified
from peer.services import Runtime
from store import collections, objects
from store.models import Delivery, FanOut, InboxActivity, StoredObject
from tests.hostile.helpers import StoreView

START = 1_800_000_000.0


class Clock:
    """A clock that moves one second each time it is read, so every write has its own time."""

    def __init__(self) -> None:
        self._ticks: Iterator[int] = itertools.count()

    def __call__(self) -> float:
        return START + next(self._ticks)


@dataclass
class Peer:
    """A started peer without a process: its services, and its store as the test sees it."""

    runtime: Runtime
    view: StoreView
    _ids: Iterator[int] = field(default_factory=itertools.count)

    @property
    def services(self) -> Services:
        return self.runtime.services

    def context(self, doc: dict[str, Any], *, owner: str | None = None) -> Context:
        """What the inbox hands a listener once `doc`'s signature verified as `owner`'s (its actor's)."""
        activity = parse_activity(doc)
        signer = owner or activity.actor
        verified = Verified(f"{signer}#main-key", signer, Scheme.CAVAGE)
        return InboxContext(activity, verified, None, self.services.store, self.services, self.services.clock())

    async def collection(self, collection: str) -> dict[str, dict[str, Any] | None]:
        """item → data, oldest first."""
        async with self.services.store.read() as session:
            items = await collections.all_items(session, collection, newest_first=False)
            return {i.item: i.data for i in items}

    async def count(self, collection: str) -> int:
        async with self.services.store.read() as session:
            return await collections.count(session, collection)

    async def document(self, object_id: str) -> dict[str, Any] | None:
        async with self.services.store.read() as session:
            row = await objects.get(session, object_id)
            return dict(row.data) if row is not None else None

    async def emitted(self, activity_type: str) -> list[dict[str, Any]]:
        """The activities of this type this peer recorded to send."""
        async with self.services.store.read() as session:
            rows = await session.scalars(
                select(StoredObject).where(
                    StoredObject.actor == self.services.actor.name, StoredObject.type == activity_type
                )
            )
            return [dict(r.data) for r in rows if r.data.get("actor") == self.services.actor.id]

    async def fanout_to(self, activity_id: str) -> list[str] | None:
        """Whom `activity_id` goes to: the recipients of its fan-out row, or of the delivery rows written when it
        was emitted (to actors whose inboxes were known, no fan-out row is written); None when there are none."""
        async with self.services.store.read() as session:
            row = await session.scalar(select(FanOut).where(FanOut.activity_id == activity_id))
            if row is not None:
                return list(row.recipients)
            rows = await session.scalars(select(Delivery).where(Delivery.activity_id == activity_id))
            recipients = [actor for delivery in rows for actor in delivery.recipients]
            return recipients or None

    async def inbox_state(self, activity_id: str) -> str | None:
        async with self.services.store.read() as session:
            row = await session.get(InboxActivity, activity_id)
            return row.state if row is not None else None

    def next_id(self, base: str, what: str = "activities") -> str:
        return f"{base}/{what}/{next(self._ids)}"


async def scheduled_event(events: Peer, *, capacity: int = 10, price: str = "12.00") -> str:
    """An event scheduled on a new calendar of the events peer, the way its organiser's form does; its id."""
    form = {
        "name": "Gig",
        "start": "2027-07-01T19:00",
        "end": "2027-07-01T23:00",
        "timezone": "Europe/London",
        "location": "The Hall",
        "capacity": str(capacity),
        "price": price,
    }
    async with events.services.store.write() as session:
        calendar = await create_calendar(session, events.services, "Main")
        doc = await schedule(session, events.services, calendar, parse_event_input(form), None)
    return str(doc["id"])
