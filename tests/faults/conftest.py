"""Fault suites' fixtures: a real events peer and a real shop, peers of each other, on the test's backend, whose
stores the test reads directly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from store.models import StoredObject
from tests.conftest import before_drop
from tests.hostile.helpers import StoreView, client, start_all, total_items
from tests.support.processes import PeerProcess, free_port
from tests.support.sumup_fake import SumUpFake


@dataclass
class Market:
    """The events peer and its shop, and what the test sees of their stores."""

    events: PeerProcess
    shop: PeerProcess
    http: httpx.Client
    events_db: StoreView
    shop_db: StoreView
    extra: dict[str, Any] = field(default_factory=dict)

    def purchases(self) -> list[dict[str, Any]]:
        rows = self.events_db.rows(StoredObject, StoredObject.type == "TicketPurchase")
        return [row.data for row in rows]

    def states(self) -> Counter[str]:
        return Counter(p["state"] for p in self.purchases())

    def settled(self, expected: int) -> bool:
        states = self.states()
        return sum(states.values()) == expected and not states["pending"]

    def answers(self) -> list[dict[str, Any]]:
        """Every Accept and Reject the shop has made (its own outbox documents)."""

        async def work(session: Any) -> list[dict[str, Any]]:
            found = await session.scalars(select(StoredObject).where(StoredObject.type.in_(["Accept", "Reject"])))
            return [row.data for row in found]

        return self.shop_db.run(work)

    def orders(self) -> list[dict[str, Any]]:
        return [row.data for row in self.shop_db.rows(StoredObject, StoredObject.type == "Order")]

    def sold(self, event: str) -> int:
        return total_items(self.http, f"{event}/sold")

    def remaining(self, event: str) -> int:
        """What the event document itself says is left."""
        doc = self.http.get(event, headers={"accept": "application/activity+json"}).json()
        return int(doc["remainingAttendeeCapacity"])

    def shop_tickets_for(self, event: str) -> int:
        """The shop's own count: its tickets collection for the event (the same ticket ids as sold)."""
        from activities.order import product_key

        return total_items(self.http, f"{self.shop.url}/products/{product_key(event)}/tickets")


@pytest.fixture
def market(peer_process: Callable[..., PeerProcess], request: pytest.FixtureRequest) -> Iterator[Callable[..., Market]]:
    """Factory: `market(start_shop=True, env={...})` → events and shop on ports fixed up front, so either can be
    down while the other runs, and restarted on its own database."""
    made: list[Market] = []

    def make(*, start_shop: bool = True, start_events: bool = True, env: dict[str, str] | None = None) -> Market:
        events_port, shop_port = free_port(), free_port()
        events = peer_process(
            "events", port=events_port, peers={"shop": f"http://127.0.0.1:{shop_port}"}, env=env, start=False
        )
        shop = peer_process(
            "shop", port=shop_port, peers={"events": f"http://127.0.0.1:{events_port}"}, env=env, start=False
        )
        start_all(*[p for p, wanted in ((events, start_events), (shop, start_shop)) if wanted])
        built = Market(events, shop, client(), StoreView(events.database_url), StoreView(shop.database_url))
        made.append(built)
        before_drop(request, built.events_db.close)
        before_drop(request, built.shop_db.close)
        return built

    try:
        yield make
    finally:
        for built in made:
            built.http.close()


@pytest.fixture
def sumup() -> Iterator[SumUpFake]:
    """The fake of SumUp's API (tests/support/sumup_fake.py), running for the test."""
    running = SumUpFake.start()
    try:
        yield running
    finally:
        running.stop()
