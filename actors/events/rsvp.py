"""RSVPs from the fediverse (FEP-8a8e `joinMode: free`): a `Join` of a free event without tickets is answered
`Accept` and its actor listed in the event's public attendees collection, or `Reject` when the event is full or
cancelled; a `Join` of a ticketed event gets a `Reject` whose summary carries the buy link. `Leave` undoes a Join."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.errors import ActivityError
from activities.fep8a8e import EventStatus, JoinMode, attendees_of, status_of
from actors.context import Context, Services
from actors.events.page_counts import changed_after_commit
from inbox.dispatch import ListenerKey, Listeners, Outcome
from inbox.errors import FetchError, Malformed, Unprocessable, unfetchable
from store import collections, objects
from store.models import StoredObject


def register(listeners: Listeners[Services]) -> None:
    listeners.on(ListenerKey("Join"), on_join).on(ListenerKey("Leave"), on_leave)


def _event_of(ctx: Context) -> str:
    """The id of the event of ours the activity is about (refused before any look-up when it is not ours)."""
    try:
        event = ctx.activity.object_id
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    if not event.startswith(ctx.services.actor.url("events/")):
        raise Unprocessable("the object is not an event of this peer")
    return event


async def _locked_event(session: AsyncSession, event: str) -> StoredObject:
    """The event under its row lock: Joins of one event queue here, so two of them never both take the last
    place (the same lock record_sale takes)."""
    row = await session.scalar(
        select(StoredObject).where(StoredObject.id == event).with_for_update().execution_options(populate_existing=True)
    )
    if row is None or row.type != "Event" or row.deleted_at is not None:
        raise Unprocessable("no such event here")
    return row


def refusal(event: dict[str, Any], full: bool) -> str | None:
    """Why a Join of this event is refused (a sentence), or None when it may be accepted."""
    if event.get("joinMode") != JoinMode.FREE:
        buy = event.get("externalParticipationUrl") or event.get("url") or event["id"]
        return f"This event takes tickets: buy one at {buy}"
    if status_of(event) == EventStatus.CANCELLED:
        return "This event is cancelled."
    if full:
        return "This event is full."
    return None


async def _keep_remaining(session: AsyncSession, row: StoredObject, now: float) -> None:
    attending = await collections.count(session, attendees_of(row.id))
    changed_after_commit(session, row.id)  # the event's page shows who is coming
    data = dict(row.data)
    data["remainingAttendeeCapacity"] = max(0, int(data.get("maximumAttendeeCapacity", 0)) - attending)
    row.data, row.updated_at = data, now


def _answer(services: Services, kind: str, join: dict[str, Any], to: str, **extra: Any) -> dict[str, Any]:
    return activity(kind, services.actor.new_activity_id(), services.actor.id, join, to=[to], **extra)


async def on_join(ctx: Context) -> Outcome:
    services, join = ctx.services, ctx.activity
    event = _event_of(ctx)
    try:
        await services.directory.actor(join.actor)  # where the answer goes; fetched before the transaction
    except FetchError as exc:
        raise Unprocessable(unfetchable("the joining actor", exc)) from None
    asked = {"id": join.id, "type": "Join", "actor": join.actor, "object": event}
    async with ctx.transaction() as session:
        row = await _locked_event(session, event)
        attendees = attendees_of(event)
        if await collections.contains(session, attendees, join.actor):
            await services.emit(session, _answer(services, "Accept", asked, join.actor))  # joined already
            return Outcome.PROCESSED
        capacity = int(row.data.get("maximumAttendeeCapacity", 0))
        reason = refusal(row.data, await collections.count(session, attendees) >= capacity)
        if reason is not None:
            await services.emit(session, _answer(services, "Reject", asked, join.actor, summary=reason))
            return Outcome.PROCESSED
        await collections.add(session, attendees, join.actor, ctx.now, {"join": join.id})
        await _keep_remaining(session, row, ctx.now)
        await services.emit(session, _answer(services, "Accept", asked, join.actor))
    return Outcome.PROCESSED


async def on_leave(ctx: Context) -> Outcome:
    leave = ctx.activity
    event = _event_of(ctx)
    async with ctx.transaction() as session:
        row = await _locked_event(session, event)
        if await collections.remove(session, attendees_of(event), leave.actor):
            await _keep_remaining(session, row, ctx.now)
    return Outcome.PROCESSED


async def is_attendees_of_event(session: AsyncSession, services: Services, attendees: str) -> bool:
    row = await objects.get(session, attendees.removesuffix("/attendees"))
    return row is not None and row.type == "Event" and row.data.get("joinMode") == JoinMode.FREE
