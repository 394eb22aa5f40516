"""/admin/tickets: the organiser's reconciliation of both sides. For each event, the tickets sold and held as
this peer counts them against the shop's own collections of the same ticket ids (read by signed GET), and what
remains (capacity - sold - held - kept for the waiting list) against the event's remainingAttendeeCapacity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activities.order import product_key
from actors.context import Services
from actors.events.schedule import events_id, held_of, sold_of
from actors.events.seats import offered_seats
from actors.roles import SHOP_STAFF, requires
from actors.web import render, services_of
from inbox.errors import FetchError
from store import collections, objects


@dataclass(frozen=True)
class Side:
    sold: int | None  # None: the shop could not be read
    held: int | None


@dataclass(frozen=True)
class EventTally:
    event: str
    name: str
    capacity: int
    remaining: int  # what the event document says
    here: Side
    shop: Side
    kept: int = 0  # seats kept for waiting-list offers: on sale to nobody else

    @property
    def agree(self) -> bool:
        taken = (self.here.sold or 0) + (self.here.held or 0) + self.kept
        return self.here == self.shop and self.remaining == max(0, self.capacity - taken)


async def _shop_count(services: Services, url: str) -> int | None:
    try:
        doc = await services.fetcher.get_json(url)
    except FetchError as exc:
        # The shop lists an event's tickets from its first order on: before that, it has none of them.
        return 0 if exc.reason == "HTTP 404" else None
    total = doc.get("totalItems")
    return total if isinstance(total, int) else None


async def tally(services: Services) -> list[EventTally]:
    async with services.store.read() as session:
        ids = [i.item for i in await collections.all_items(session, events_id(services), newest_first=False)]
        events: list[dict[str, Any]] = []
        here: dict[str, Side] = {}
        kept: dict[str, int] = {}
        for eid in ids:
            row = await objects.get(session, eid)
            if row is None or row.deleted_at is not None:
                continue
            events.append(row.data)
            here[eid] = Side(
                await collections.count(session, sold_of(eid)), await collections.count(session, held_of(eid))
            )
            kept[eid] = await offered_seats(session, eid)
    shop = services.peers.get("shop")
    tallies = []
    for e in events:
        base = f"{shop}/products/{product_key(e['id'])}" if shop else None
        there = Side(
            await _shop_count(services, f"{base}/tickets") if base else None,
            await _shop_count(services, f"{base}/held") if base else None,
        )
        tallies.append(
            EventTally(
                e["id"],
                str(e.get("name", "")),
                int(e.get("maximumAttendeeCapacity", 0)),
                int(e.get("remainingAttendeeCapacity", 0)),
                here[e["id"]],
                there,
                kept[e["id"]],
            )
        )
    return tallies


@requires(SHOP_STAFF)
async def tickets_page(request: Request) -> Response:
    services = services_of(request)
    return render(request, services, "events/reconcile.html", {"tallies": await tally(services)}, private=True)


ROUTES: tuple[Route, ...] = (Route("/admin/tickets", tickets_page),)
