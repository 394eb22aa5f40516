"""The events peer's part of a member's account page (their ticket purchases, with each ticket page, and their
places on waiting lists, found by the buyer's address; the events the audit log says they scheduled) and of the
erasure of their data when the account is deleted: purchases keep their tickets and quantities, waiting-list
places are left, and the buyer's name and address are erased from both and from the Offers sent for them."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import iso
from actors import member_data
from actors.context import Services
from actors.events.tickets import PURCHASE
from actors.events.waitlist import leave, link_of, lock_event
from actors.kind import KindSetup
from store import objects
from store.models import StoredObject, WaitlistEntry

ORGANISED = (
    "Events name the events peer as their organiser, not a member: these are the events the audit log says you "
    "scheduled or changed."
)


async def _event(session: AsyncSession, event: object) -> dict[str, Any]:
    row = await objects.get(session, str(event))
    return row.data if row is not None and row.type == "Event" else {}


async def summary(session: AsyncSession, services: Services, ref: member_data.MemberRef) -> dict[str, Any]:
    purchases = []
    for row in await member_data.buyer_rows(session, services, PURCHASE, ref.digest):
        event = await _event(session, row.data.get("event"))
        purchases.append(
            {
                "event": row.data.get("event"),
                "eventName": str(event.get("name") or row.data.get("eventName") or ""),
                "startTime": event.get("startTime"),
                "timezone": event.get("timezone"),
                "cancelled": not event,
                "state": row.data.get("state"),
                "quantity": row.data.get("quantity"),
                "link": row.id,  # the buyer's ticket page: its path holds the purchase's secret
            }
        )
    waiting = []
    entries = await session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.email_digest == ref.digest).order_by(WaitlistEntry.joined_at)
    )
    for entry in entries:
        event = await _event(session, entry.event)
        waiting.append(
            {
                "event": entry.event,
                "eventName": str(event.get("name") or ""),
                "startTime": event.get("startTime"),
                "state": entry.state,
                "quantity": entry.quantity,
                "link": link_of(services, entry.event, entry.token),
            }
        )
    organised = await member_data.made_by(session, await member_data.audit_of(session, ref), "Event")
    return {"purchases": purchases, "waitlist": waiting, "organised": organised, "organisedNote": ORGANISED}


async def erase(session: AsyncSession, services: Services, ref: member_data.MemberRef) -> None:
    now = services.clock()
    for row in await member_data.buyer_rows(session, services, PURCHASE, ref.digest):
        row.data = {**row.data, "customer": member_data.erased_customer(row.data.get("customer"), iso(now))}
        row.updated_at = now
        offer = await session.get(StoredObject, str(row.data.get("offer", "")))
        if offer is not None and isinstance(offer.data.get("object"), dict):
            order = offer.data["object"]
            erased = member_data.erased_customer(order.get("customer"), iso(now))
            offer.data, offer.updated_at = {**offer.data, "object": {**order, "customer": erased}}, now
    found = await session.scalars(select(WaitlistEntry.id).where(WaitlistEntry.email_digest == ref.digest))
    for entry_id in list(found):
        entry = await session.get(WaitlistEntry, entry_id)
        assert entry is not None
        await lock_event(session, entry.event)  # the waiting list's lock order: the event's row, then entries
        locked = await session.scalar(
            select(WaitlistEntry)
            .where(WaitlistEntry.id == entry_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert locked is not None
        await leave(session, services, locked)  # seats offered to them pass to the next person
        locked.name, locked.email = member_data.ERASED_NAME, member_data.ERASED_EMAIL
        locked.email_digest = secrets.token_hex(32)  # unique per event, and the digest of no address


def register(setup: KindSetup) -> None:
    member_data.register(setup, summary, erase)
