"""One visitor cannot buy out an event: a limit per order and per buyer email per event, both settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from activities.errors import ActivityError
from activities.event import parse_event_input
from activities.order import Customer
from actors.events.calendars import create_calendar
from actors.events.schedule import schedule
from actors.events.tickets import buy, release_buyer_tickets
from peer.settings import Settings
from store import objects
from store.models import StoredObject
from tests.support.app import App, row_counts, running_app

ADA = Customer("Ada", "ada@example.org")


@pytest.fixture
async def events(database_url: str) -> AsyncIterator[App]:
    async with running_app(
        database_url, "events", peers={"shop": "http://shop.test"}, max_tickets_per_order=4, max_tickets_per_buyer=6
    ) as app:
        yield app


async def an_event(app: App) -> StoredObject:
    form = {"name": "Gig", "start": "2027-07-01T19:00", "end": "2027-07-01T23:00", "location": "The Hall"}
    form.update(capacity="100", price="0")
    async with app.store.write() as session:
        calendar = await create_calendar(session, app.services, "Main")
        doc = await schedule(session, app.services, calendar, parse_event_input(form), None)
        row = await objects.get(session, doc["id"])
    assert row is not None
    return row


async def buying(app: App, event: StoredObject, quantity: int, customer: Customer = ADA) -> str:
    async with app.store.write() as session:
        row = await objects.get(session, event.id)
        assert row is not None
        return await buy(session, app.services, row, quantity, customer)


async def refused(app: App, event: StoredObject, quantity: int, reason: str, customer: Customer = ADA) -> None:
    before = await row_counts(app.store)
    with pytest.raises(ActivityError, match=reason):
        await buying(app, event, quantity, customer)
    assert await row_counts(app.store) == before


async def test_one_order_takes_at_most_the_per_order_limit(events: App) -> None:
    event = await an_event(events)
    await refused(events, event, 5, "at most 4 tickets")
    assert await buying(events, event, 4)


async def test_one_email_holds_at_most_the_per_buyer_limit_per_event(events: App) -> None:
    event = await an_event(events)
    await buying(events, event, 4)
    await buying(events, event, 2)
    await refused(events, event, 1, "at most 6 tickets for this event")
    # the same address written otherwise is the same buyer; another buyer is not held back
    await refused(events, event, 1, "at most 6", Customer("Ada", "  ADA@example.org "))
    assert await buying(events, event, 4, Customer("Bo", "bo@example.org"))


async def test_a_refused_purchase_gives_the_allowance_back(events: App) -> None:
    event = await an_event(events)
    token = await buying(events, event, 4)
    await buying(events, event, 2)
    async with events.store.write() as session:
        purchase = await objects.get(session, events.services.actor.url(f"tickets/{token}"))
        assert purchase is not None
        await release_buyer_tickets(session, purchase.data)  # what a Reject from the shop does
    await buying(events, event, 4)
    await refused(events, event, 1, "at most 6")


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("ROSE_ASH_MAX_TICKETS_PER_ORDER", "0", "ROSE_ASH_MAX_TICKETS_PER_ORDER"),
        ("ROSE_ASH_MAX_TICKETS_PER_ORDER", "11", "between 1 and 10"),
        ("ROSE_ASH_MAX_TICKETS_PER_BUYER", "many", "ROSE_ASH_MAX_TICKETS_PER_BUYER"),
    ],
)
def test_limits_out_of_range_are_refused_at_start(variable: str, value: str, reason: str) -> None:
    env = {"ROSE_ASH_KIND": "events", "ROSE_ASH_ADMIN_TOKEN": "a-long-enough-token", variable: value}
    with pytest.raises(ValueError, match=reason):
        Settings.from_env(env)
