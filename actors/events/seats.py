"""What an event's seats are doing, counted on the events peer: sold, held while their buyers pay, pending (an
Offer sent, the shop's answer not yet here) and offered (kept for people on the waiting list while their link
is valid). The shop decides a sale; these counts decide what the events peer itself may promise: the seats it
offers to the waiting list and, while such offers are out, whether an ordinary buyer's Offer is sent at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ScalarSelect, String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.context import Services
from actors.events.page_counts import changed_after_commit
from store import collections, counters
from store.db import dialect
from store.models import CollectionSize, Counter, StoredObject, WaitlistEntry
from store.upsert import insert_or_add_statement

OFFERED = "offered"  # the waiting-list state whose seats are kept (actors/events/waitlist.py's WaitState)


def sold_of(event: str) -> str:
    return f"{event}/sold"


def held_of(event: str) -> str:
    """The event's tickets held while their buyers pay: remaining is capacity - sold - held - offered."""
    return f"{event}/held"


def pending_counter(event: str) -> str:
    """The tickets of the event's purchases whose Offer the shop has not answered yet."""
    return f"{event}#pending"


# Built once, values bound at execution (building and keying a statement each time costs more than its
# round trip): every buyer's transactions count these.
_EVENT = bindparam("event", type_=String())
_OFFERED = (
    select(func.sum(WaitlistEntry.quantity))
    .where(WaitlistEntry.event == _EVENT, WaitlistEntry.state == OFFERED)
    .scalar_subquery()
)


def _size(name: str) -> ScalarSelect[int]:
    return (
        select(CollectionSize.size)
        .where(CollectionSize.collection == bindparam(name, type_=String()))
        .scalar_subquery()
    )


_OFFERED_SEATS = select(_OFFERED)
_TAKEN = select(_size("sold"), _size("held"), _OFFERED)
_KEPT = select(
    _OFFERED, select(Counter.value).where(Counter.name == bindparam("waiting", type_=String())).scalar_subquery()
)
_LOCK_EVENT = (
    select(StoredObject).where(StoredObject.id == _EVENT).with_for_update().execution_options(populate_existing=True)
)


async def offered_seats(session: AsyncSession, event: str) -> int:
    """Seats kept for waiting-list offers still outstanding."""
    return int(await session.scalar(_OFFERED_SEATS, {"event": event}) or 0)


async def taken_seats(session: AsyncSession, event: str) -> tuple[int, int, int]:
    """The event's sold, held and offered seats, read in one statement (so from one snapshot): a buyer's
    transactions count them often enough for each round trip to the database to show."""
    values = {"sold": sold_of(event), "held": held_of(event), "event": event}
    sold, held, offered = (await session.execute(_TAKEN, values)).one()
    sold, held = int(sold or 0), int(held or 0)  # and this transaction's own changes, written at its commit
    sold += collections.pending_size(session, sold_of(event))
    held += collections.pending_size(session, held_of(event))
    return sold, held, int(offered or 0)


def pending_waitlist_counter(event: str) -> str:
    """The pending tickets of purchases made through a waiting-list offer: still kept from other buyers."""
    return f"{event}#pending-waitlist"


async def add_pending(session: AsyncSession, event: str, quantity: int, *, waitlist: bool = False) -> int:
    """Count (or, negative, uncount) pending tickets, of a waiting-list offer's purchase if `waitlist`; the new
    total. The UPDATE holds the counter's row to the end of the transaction, which is what serialises a buyer
    with a release of seats (`lock_pending`)."""
    if waitlist:
        await counters.ensure(session, pending_waitlist_counter(event), None)
        await counters.take(session, pending_waitlist_counter(event), quantity)
    if quantity < 0:  # the tickets were counted when their Offer was made: the counter is there (none: nothing)
        return max(0, await counters.take(session, pending_counter(event), quantity) or 0)
    return max(0, await _add(session, pending_counter(event), quantity))


_ADD: dict[str, Any] = {}


async def _add(session: AsyncSession, name: str, amount: int) -> int:
    """The unlimited counter `name` grows by `amount` (created if need be) in one statement; its new value."""
    kind = dialect(session)
    statement = _ADD.get(kind)
    if statement is None:
        statement = _ADD[kind] = insert_or_add_statement(kind, Counter, ("name",), "value").returning(Counter.value)
    result = await session.execute(statement, {"name": name, "value": amount, "limit": None})
    return int(result.scalar_one())


async def kept_for_waitlist(session: AsyncSession, event: str) -> int:
    """Seats the waiting list has: offered, or asked for by an offer's purchase the shop has not answered (one
    statement: every Buy asks)."""
    values = {"event": event, "waiting": pending_waitlist_counter(event)}
    offered, waiting = (await session.execute(_KEPT, values)).one()
    return int(offered or 0) + max(0, int(waiting or 0))


async def lock_pending(session: AsyncSession, event: str) -> int:
    """The pending tickets, read under the counter row's lock: a purchase being written waits until the seats
    being offered are committed, and sees them (and a purchase committed first is counted here)."""
    await counters.ensure(session, pending_counter(event), None)
    value = await session.scalar(
        select(Counter.value)
        .where(Counter.name == pending_counter(event))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return max(0, int(value or 0))


@dataclass(frozen=True)
class Seats:
    capacity: int
    sold: int
    held: int
    offered: int
    pending: int = 0

    @property
    def remaining(self) -> int:
        """What the public is told is left: the seats kept for the waiting list are not."""
        return max(0, self.capacity - self.sold - self.held - self.offered)

    @property
    def free(self) -> int:
        """Seats nobody has: not sold, held, kept for the waiting list, nor asked for by an Offer on its way."""
        return self.capacity - self.sold - self.held - self.offered - self.pending


async def seats_of(session: AsyncSession, event: dict[str, Any], pending: int | None = None) -> Seats:
    sold, held, offered = await taken_seats(session, str(event["id"]))
    capacity = int(event.get("maximumAttendeeCapacity", 0) or 0)
    return Seats(capacity, sold, held, offered, 0 if pending is None else pending)


async def recount(session: AsyncSession, services: Services, event: str) -> int:
    """Write the event's remainingAttendeeCapacity (capacity - sold - held - offered); returns what is sold."""
    # Count only once the event is locked: concurrent sales (PostgreSQL runs them side by side) would each count
    # the sold collection without the other's ticket and write a stale remainingAttendeeCapacity. Under the lock,
    # the count (a statement of its own, READ COMMITTED) sees every sale committed before, and the last sale to
    # commit writes the true remainder. The tickets are added before the lock, so fewer statements wait on it.
    row = await session.scalar(_LOCK_EVENT, {"event": event})
    sold, held, offered = await taken_seats(session, event)
    changed_after_commit(session, event)  # the event's page shows the new counts
    if row is not None and row.deleted_at is None:
        data = dict(row.data)
        data["remainingAttendeeCapacity"] = max(0, int(data.get("maximumAttendeeCapacity", 0)) - sold - held - offered)
        row.data, row.updated_at = data, services.clock()
    return sold
