"""The shop's copies of the events it sells: each one fetched by the shop itself (a signed GET to the seller) and
checked as an Offer needs it (an Event, organized by the seller, with a usable capacity and price), then kept
for `FRESH_SECONDS`, so a rush of Offers for one event costs one GET instead of one each. Offers that find no
fresh copy share one GET. The seller's `Update` of the event replaces the copy at once (the events peer sends the
shop the Updates of events with tickets), its `Delete` drops it; a copy nobody refreshed is fetched again once it
is older than `FRESH_SECONDS`, which bounds how long a change the shop was not told of can go unseen.

Copies live in the process: a restart, or another web process of the same shop, fetches its own."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from activities.parse import Activity
from inbox.errors import FetchError, Forbidden, TryLater, Unprocessable, unfetchable
from inbox.remote import RemoteFetcher
from inbox.trust import check_attribution

FRESH_SECONDS = 5.0
MAX_COPIES = 1000


def checked_event(offer: Activity, event_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """The event as the Offer needs it, or the refusal: its id and type, the seller as its organizer, a usable
    capacity and price."""
    if event.get("id") != event_id or event.get("type") != "Event":
        raise Unprocessable("the ordered item is not an event")
    try:
        check_attribution(offer, event.get("attributedTo"))
    except Forbidden:
        raise Forbidden("the offer's actor does not organize that event") from None
    capacity = event.get("maximumAttendeeCapacity")
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 0:
        raise Unprocessable("the event has no usable capacity")
    try:
        Decimal(str(event.get("price", "0")))
    except InvalidOperation:
        raise Unprocessable("the event has no usable price") from None
    return event


@dataclass
class _Copy:
    event: dict[str, Any]
    seller: str
    fetched_at: float


@dataclass
class EventCopies:
    fresh_seconds: float = FRESH_SECONDS
    limit: int = MAX_COPIES
    clock: Callable[[], float] = time.monotonic
    _copies: OrderedDict[str, _Copy] = field(default_factory=OrderedDict, init=False)
    _fetching: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict, init=False)

    async def event_for(self, fetcher: RemoteFetcher, offer: Activity, event_id: str) -> dict[str, Any]:
        """The checked event an Offer orders: a fresh copy the same seller's event gave, else a signed GET."""
        copy = self._copies.get(event_id)
        if copy is not None and copy.seller == offer.actor and self.clock() - copy.fetched_at < self.fresh_seconds:
            return copy.event
        fetching = self._fetching.get(event_id)
        if fetching is None:
            fetching = self._fetching[event_id] = asyncio.ensure_future(self._fetch(fetcher, event_id))
            fetching.add_done_callback(lambda done: self._fetched(event_id, done))
        event = await asyncio.shield(fetching)  # one Offer that gives up must not cancel the GET the others share
        checked = checked_event(offer, event_id, event)
        self.keep(event_id, offer.actor, checked)
        return checked

    def _fetched(self, event_id: str, done: asyncio.Future[dict[str, Any]]) -> None:
        self._fetching.pop(event_id, None)
        if not done.cancelled():
            done.exception()  # retrieved here too: every Offer waiting may have given up before it came

    async def _fetch(self, fetcher: RemoteFetcher, event_id: str) -> dict[str, Any]:
        try:
            return await fetcher.get_json(event_id)
        except FetchError as exc:
            self.drop(event_id)
            if exc.reason == "HTTP 410":
                raise Unprocessable("the event was cancelled") from None
            raise TryLater(unfetchable("the event now", exc)) from None

    def keep(self, event_id: str, seller: str, event: dict[str, Any]) -> None:
        self._copies[event_id] = _Copy(event, seller, self.clock())
        self._copies.move_to_end(event_id)
        while len(self._copies) > self.limit:
            self._copies.popitem(last=False)

    def updated(self, update: Activity) -> bool:
        """The seller's Update of an event: its copy is replaced when the event passes the checks (dropped when
        it does not). True when the Update was of an event."""
        event = update.object_doc
        if event is None or event.get("type") != "Event" or not isinstance(event.get("id"), str):
            return False
        try:
            self.keep(event["id"], update.actor, checked_event(update, event["id"], event))
        except (Forbidden, Unprocessable):
            self.drop(event["id"])
        return True

    def drop(self, event_id: str) -> None:
        self._copies.pop(event_id, None)
