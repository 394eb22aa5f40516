"""Migration 0008 makes the tickets of purchases accepted before it findable at the door by their codes."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from sqlalchemy import Connection, insert, select

from actors.events.checkin import code_key
from store import open_store
from store.migrate import alembic_config
from store.models import StoredObject, TicketCode

PURCHASE = {
    "id": "http://events.test/tickets/abc",
    "type": "TicketPurchase",
    "event": "http://events.test/events/gig",
    "orderNumber": "1042",
    "state": "confirmed",
    "tickets": [
        {"id": "http://shop.test/orders/1042/tickets/1", "code": "A" * 22},
        {"id": "http://shop.test/orders/1042/tickets/2", "code": "B" * 22},
    ],
}


def _to(revision: str) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    return run


async def test_the_tickets_held_before_0008_are_indexed_by_their_codes(database_url: str) -> None:
    store = open_store(database_url)
    try:
        async with store.writer.begin() as connection:
            await connection.run_sync(_to("0007"))
            row = {"id": PURCHASE["id"], "actor": "events", "type": "TicketPurchase", "data": PURCHASE,
                   "public": False, "created_at": 1.0, "updated_at": 1.0}
            await connection.execute(insert(StoredObject.__table__), row)
            await connection.run_sync(_to("head"))
        async with store.read() as session:
            found = {r.code: r for r in await session.scalars(select(TicketCode))}
    finally:
        await store.close()
    assert set(found) == {code_key("A" * 22), code_key("B" * 22)}
    first = found[code_key("A" * 22)]
    assert (first.ticket, first.event, first.purchase, first.number) == (
        "http://shop.test/orders/1042/tickets/1", PURCHASE["event"], PURCHASE["id"], "1042-1"
    )
