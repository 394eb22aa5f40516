"""The waiting list of a sold-out event: people join with their email; when seats free (an order cancelled or
refunded, a hold run out, the capacity raised, an offer not used) the next people whose quantity fits are
emailed a link valid for `services.waitlist_offer_seconds`, and those seats are kept for them meanwhile.

Every change is written in the transaction of its cause, with its email queued there too (keyed, so a retried
cause queues it once). Locks, where more than one is taken, in this order: the event's row, then waiting-list
entries, then the event's pending counter; so a release of seats and a buyer, or two releases, wait for each
other instead of promising one seat twice."""

from __future__ import annotations

import hashlib
import logging
import secrets
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities import fep8a8e
from activities.build import iso
from activities.errors import ActivityError
from activities.order import Customer
from actors.context import Services
from actors.events.buyer_view import local_text
from actors.events.seats import OFFERED, add_pending, lock_pending, pending_counter, recount, seats_of
from actors.events.tickets import buy, purchase_id
from actors.sweeps import keep_sweeping
from mail import MailError
from store import counters
from store.models import StoredObject, WaitlistEntry
from store.upsert import insert_ignore

log = logging.getLogger(__name__)

BATCH = 200  # waiting people looked at per release of seats, and lapsed offers per sweep
EVERY = 5.0  # seconds between sweeps: an offer not used passes on within this of running out


class WaitState(StrEnum):
    WAITING = "waiting"
    OFFERED = OFFERED  # seats kept for them until offered_until
    BOUGHT = "bought"  # they bought through their offer
    LEFT = "left"
    LAPSED = "lapsed"  # their offer ran out unused: the seats went to the next person
    ENDED = "ended"  # the event was cancelled


REJOINABLE = frozenset({WaitState.LEFT, WaitState.LAPSED})


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def slug_of(event: str) -> str:
    return event.rsplit("/", 1)[-1]


def link_of(services: Services, event: str, secret: str) -> str:
    return services.actor.url(f"events/{slug_of(event)}/waitlist/{secret}")


async def lock_event(session: AsyncSession, event: str) -> StoredObject | None:
    return await session.scalar(
        select(StoredObject).where(StoredObject.id == event).with_for_update().execution_options(populate_existing=True)
    )


async def entry_by_secret(
    session: AsyncSession, event: str, secret: str, *, lock: bool = False
) -> WaitlistEntry | None:
    """The entry a link's secret names, for this event only."""
    query = select(WaitlistEntry).where(WaitlistEntry.token == secret, WaitlistEntry.event == event)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def position_of(session: AsyncSession, entry: WaitlistEntry) -> int:
    """1 for the first person waiting."""
    ahead = await session.scalars(
        select(WaitlistEntry.id).where(
            WaitlistEntry.event == entry.event,
            WaitlistEntry.state == WaitState.WAITING,
            (WaitlistEntry.joined_at < entry.joined_at)
            | ((WaitlistEntry.joined_at == entry.joined_at) & (WaitlistEntry.id < entry.id)),
        )
    )
    return len(list(ahead)) + 1


async def has_waiting(session: AsyncSession, event: str) -> bool:
    query = select(exists().where(WaitlistEntry.event == event, WaitlistEntry.state == WaitState.WAITING))
    return bool(await session.scalar(query))


async def join(
    session: AsyncSession, services: Services, event: StoredObject, customer: Customer, quantity: int
) -> WaitlistEntry:
    """Put `customer` on the event's waiting list (the event's row locked by the caller); a sentence when not."""
    if event.deleted_at is not None or event.type != "Event":
        raise ActivityError("This event was cancelled: there is no waiting list.")
    if (refused := fep8a8e.ticket_refusal(event.data)) is not None:
        raise ActivityError(refused)
    limits = services.ticket_limits
    if quantity > limits.per_order:
        raise ActivityError(f"You can wait for at most {limits.per_order} tickets.")
    seats = await seats_of(session, event.data, max(0, await counters.value(session, pending_counter(event.id))))
    if seats.offered == 0 and seats.free >= quantity and not await has_waiting(session, event.id):
        raise ActivityError("There are still tickets for this event: buy yours with the form above.")
    now = services.clock()
    secret = secrets.token_urlsafe(24)
    values = {
        "token": secret,
        "name": customer.name,
        "email": customer.email,
        "quantity": quantity,
        "state": WaitState.WAITING.value,
        "joined_at": now,
        "offers": 0,
        "offered_until": None,
        "purchase": None,
    }
    mine = email_digest(customer.email)
    found = await session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.event == event.id, WaitlistEntry.email_digest == mine)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is not None and found.state == WaitState.BOUGHT:
        raise ActivityError("This email address has bought through this event's waiting list already.")
    if found is not None and found.state not in REJOINABLE:
        raise ActivityError("This email address is on this event's waiting list already.")
    if found is not None:
        for name, value in values.items():
            setattr(found, name, value)
        entry = found
    else:
        if not await insert_ignore(
            session, WaitlistEntry, {"event": event.id, "email_digest": mine, **values}, ("event", "email_digest")
        ):
            raise ActivityError("This email address is on this event's waiting list already.")
        inserted = await entry_by_secret(session, event.id, secret)
        assert inserted is not None
        entry = inserted
    await _mail(
        session,
        services,
        entry,
        key=f"waitlist-joined:{entry.id}:{entry.joined_at}",
        subject=f"You are on the waiting list: {event.data.get('name', 'the event')}",
        lines=[
            f"You are on the waiting list for {_tickets(quantity)} to {event.data.get('name', 'the event')}.",
            "When seats free up we email you a link to buy them; the seats are kept for you for "
            f"{_minutes(services)} from then, and pass to the next person if you do not buy them.",
            "",
            f"To leave the waiting list: {link_of(services, event.id, secret)}",
        ],
    )
    await offer_free_seats(session, services, event.id)
    return entry


async def offer_free_seats(session: AsyncSession, services: Services, event: str) -> int:
    """Offer the event's free seats to the next waiting people whose quantity fits; how many were offered."""
    if not await has_waiting(session, event):
        return 0
    row = await lock_event(session, event)
    if row is None or row.deleted_at is not None or row.type != "Event" or fep8a8e.ticket_refusal(row.data):
        return 0
    waiting = list(
        await session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.event == event, WaitlistEntry.state == WaitState.WAITING)
            .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
            .limit(BATCH)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    free = (await seats_of(session, row.data, await lock_pending(session, event))).free
    now = services.clock()
    until = now + services.waitlist_offer_seconds
    offered = 0
    for entry in waiting:
        if free <= 0:
            break
        if entry.quantity > free:
            continue  # someone after them may want fewer
        entry.state, entry.offered_until, entry.offers = WaitState.OFFERED.value, until, entry.offers + 1
        free -= entry.quantity
        offered += 1
        zone = str(row.data.get("timezone") or "UTC")
        await _mail(
            session,
            services,
            entry,
            key=f"waitlist-offer:{entry.id}:{entry.offers}",
            subject=f"Seats for you: {row.data.get('name', 'the event')}",
            lines=[
                f"{_tickets(entry.quantity).capitalize()} to {row.data.get('name', 'the event')} "
                f"{'is' if entry.quantity == 1 else 'are'} kept for you until {local_text(iso(until), zone)}.",
                "",
                f"Buy {'it' if entry.quantity == 1 else 'them'} here: {link_of(services, event, entry.token)}",
                "",
                "Not buying by then passes the seats to the next person on the waiting list. The same link "
                "lets you leave the list.",
            ],
        )
    if offered:
        await recount(session, services, event)
    return offered


async def leave(session: AsyncSession, services: Services, entry: WaitlistEntry) -> None:
    """Take the entry off the list (the event's row and the entry locked by the caller); its seats, if it had
    some offered, pass to the next person."""
    if entry.state not in (WaitState.WAITING, WaitState.OFFERED):
        return
    had_offer = entry.state == WaitState.OFFERED
    entry.state, entry.offered_until = WaitState.LEFT.value, None
    if had_offer:
        await offer_free_seats(session, services, entry.event)
        await recount(session, services, entry.event)


async def buy_offered(
    session: AsyncSession, services: Services, event: StoredObject, entry: WaitlistEntry, name: str, quantity: int
) -> str:
    """Buy through an offer (the event's row and the entry locked by the caller): the normal Offer to the shop,
    for the seats kept for this person; the purchase page's token."""
    if entry.state == WaitState.BOUGHT:
        raise ActivityError("You have bought through this offer already: your ticket page has the order.")
    now = services.clock()
    if entry.state != WaitState.OFFERED or entry.offered_until is None:
        raise ActivityError("No seats are offered to you at the moment: we email you when some are.")
    if entry.offered_until <= now:
        raise ActivityError("This offer has run out: the seats went to the next person on the waiting list.")
    if quantity > entry.quantity:
        raise ActivityError(f"This offer is for at most {_tickets(entry.quantity)}.")
    entry.state, entry.offered_until = WaitState.BOUGHT.value, None
    await session.flush()  # the seats are no longer kept for the offer once the purchase counts them as pending
    token = await buy(session, services, event, quantity, Customer(name, entry.email), from_waitlist=True)
    entry.purchase = purchase_id(services, token)
    await offer_free_seats(session, services, event.id)  # seats of the offer not bought pass on at once
    await recount(session, services, event.id)
    return token


async def purchase_refused(session: AsyncSession, services: Services, purchase: dict[str, Any]) -> None:
    """The shop refused a purchase (the purchase's row locked by the caller): its pending tickets no longer
    count, and a buyer who came through the waiting list keeps their place at its head."""
    event = str(purchase["event"])
    await lock_event(session, event)
    await add_pending(session, event, -int(purchase["quantity"]), waitlist=bool(purchase.get("waitlist")))
    if purchase.get("waitlist"):
        entry = await session.scalar(
            select(WaitlistEntry)
            .where(WaitlistEntry.event == event, WaitlistEntry.purchase == purchase["id"])
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if entry is not None and entry.state == WaitState.BOUGHT:
            entry.state, entry.purchase = WaitState.WAITING.value, None
            await session.flush()
    await offer_free_seats(session, services, event)


async def end_for_cancelled_event(session: AsyncSession, services: Services, event: dict[str, Any]) -> int:
    """The organiser cancels `event` (in this transaction): each person waiting or holding an offer is emailed
    once that it will not take place, and their entry ends; how many were told."""
    await lock_event(session, str(event["id"]))
    entries = await session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.event == event["id"], WaitlistEntry.state.in_([WaitState.WAITING, WaitState.OFFERED]))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    name = str(event.get("name") or "the event")
    when = local_text(event.get("startTime"), str(event.get("timezone") or "UTC"))
    told = 0
    for entry in entries:
        entry.state, entry.offered_until = WaitState.ENDED.value, None
        await _mail(
            session,
            services,
            entry,
            key=f"waitlist-event-cancelled:{entry.id}",
            subject=f"Cancelled: {name}",
            lines=[
                f"{name}{f' on {when}' if when else ''} has been cancelled by its organiser and will not take place.",
                "Your place on its waiting list has ended: there is nothing for you to do.",
            ],
        )
        told += 1
    return told


async def lapse_due(services: Services) -> int:
    """Offers not used in time: their seats pass to the next waiting people; how many lapsed."""
    now = services.clock()
    async with services.store.read() as session:
        due = list(
            await session.execute(
                select(WaitlistEntry.id, WaitlistEntry.event)
                .where(WaitlistEntry.state == WaitState.OFFERED, WaitlistEntry.offered_until <= now)
                .limit(BATCH)
            )
        )
    lapsed = 0
    for entry_id, event in due:  # one transaction each, the event's row first (the lock order above)
        async with services.store.write() as session:
            await lock_event(session, event)
            entry = await session.scalar(
                select(WaitlistEntry)
                .where(WaitlistEntry.id == entry_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if entry is None or entry.state != WaitState.OFFERED or (entry.offered_until or 0) > services.clock():
                continue  # bought or left meanwhile
            entry.state, entry.offered_until = WaitState.LAPSED.value, None
            await session.flush()
            await offer_free_seats(session, services, event)
            await recount(session, services, event)
            lapsed += 1
    return lapsed


async def _mail(
    session: AsyncSession, services: Services, entry: WaitlistEntry, *, key: str, subject: str, lines: list[str]
) -> None:
    text = "\n".join([f"Hello {entry.name}," if entry.name else "Hello,", "", *lines]) + "\n"
    try:
        await services.mail.send(session, to=entry.email, subject=subject, text=text, key=key)
    except MailError as exc:
        raise ActivityError(str(exc)) from None


def _tickets(quantity: int) -> str:
    return f"{quantity} ticket{'' if quantity == 1 else 's'}"


def _minutes(services: Services) -> str:
    minutes = services.waitlist_offer_seconds / 60
    return f"{minutes:g} minute{'' if minutes == 1 else 's'}"


async def sweep_offers(services: Services, every: float = EVERY) -> None:
    await keep_sweeping(
        partial(lapse_due, services),
        every,
        log=log,
        name="the waiting-list offer sweep",
        done="passed on the seats of %d waiting-list offers not used in time",
    )
