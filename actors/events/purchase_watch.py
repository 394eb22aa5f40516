"""Buyers waiting on a purchase's status page (`?wait=`), and what this process last knew of each purchase.

The listener that settles a purchase wakes its waiters once its transaction commits, handing them the state it
committed, so a buyer learns the answer at once without a read. What another process commits is found by one
read of every purchase being waited on, every `recheck` seconds while anyone waits (not one read per buyer), so
it is seen within `recheck`, as before. A state known here is used instead of a read only while it is younger
than `recheck`: the store stays the truth, after a restart and across processes."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession

from actors.events.purchase_states import PurchaseState
from store.models import StoredObject

MAX_WAITERS = 10_000
MAX_KNOWN = 20_000
RECHECK = 5.0

Fields = dict[str, Any]
ReadMany = Callable[[list[str]], Awaitable[dict[str, Fields]]]


def status_fields(purchase: dict[str, Any]) -> Fields:
    """What the status request answers of a purchase."""
    return {
        "state": purchase["state"],
        "orderNumber": purchase.get("orderNumber", ""),
        "reason": purchase.get("reason", ""),
    }


class PurchaseWaiters:
    def __init__(self, limit: int = MAX_WAITERS, recheck: float = RECHECK) -> None:
        self.limit, self.recheck = limit, recheck
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._count = 0
        self._known: OrderedDict[str, tuple[Fields, float]] = OrderedDict()
        self._ticker: asyncio.Task[None] | None = None

    @contextmanager
    def waiting(self, purchase: str) -> Iterator[asyncio.Event | None]:
        """An event set when `purchase` may have changed; None when too many wait already (then don't)."""
        if self._count >= self.limit:
            yield None
            return
        woken = asyncio.Event()
        self._waiting.setdefault(purchase, set()).add(woken)
        self._count += 1
        try:
            yield woken
        finally:
            self._count -= 1
            waiters = self._waiting.get(purchase)
            if waiters is not None:
                waiters.discard(woken)
                if not waiters:
                    del self._waiting[purchase]

    def known(self, purchase: str, *, fresh: bool = True) -> Fields | None:
        """The purchase's fields as this process last read or committed them; with `fresh`, only if that was
        less than `recheck` seconds ago (anything older may have been changed by another process)."""
        entry = self._known.get(purchase)
        if entry is None or (fresh and time.monotonic() - entry[1] >= self.recheck):
            return None
        return entry[0]

    def record(self, purchase: str, fields: Fields, seen: float | None = None) -> None:
        """`fields` is what the store held at monotonic time `seen` (now: just committed). A read that began
        before a commit this process recorded does not overwrite it."""
        seen = time.monotonic() if seen is None else seen
        entry = self._known.get(purchase)
        if entry is not None and entry[1] > seen:
            return
        self._known[purchase] = (fields, seen)
        self._known.move_to_end(purchase)
        while len(self._known) > MAX_KNOWN:
            self._known.popitem(last=False)

    def notify(self, purchase: str, fields: Fields | None = None) -> None:
        if fields is not None:
            self.record(purchase, fields)
        else:
            self._known.pop(purchase, None)  # changed in a way we were not told: the next look reads the store
        self._wake(purchase)

    def _wake(self, purchase: str) -> None:
        for woken in self._waiting.get(purchase, ()):
            woken.set()

    def notify_after_commit(self, session: AsyncSession, purchase: StoredObject | str) -> None:
        """Wake the purchase's waiters once `session` commits (not before: they would read the old state),
        with its state as committed when given the row."""
        if isinstance(purchase, str):
            key, fields = purchase, None
        else:
            key, fields = purchase.id, status_fields(purchase.data)
        orm_event.listen(session.sync_session, "after_commit", lambda _s: self.notify(key, fields), once=True)

    def watch(self, read_many: ReadMany) -> None:
        """While anyone waits, read every purchase waited on each `recheck` seconds, in one read."""
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick(read_many))

    async def _tick(self, read_many: ReadMany) -> None:
        while self._waiting:
            await asyncio.sleep(self.recheck / 2)  # each record is refreshed before it is `recheck` old
            stale = [p for p in self._waiting if self._age(p) >= self.recheck / 2]
            if not stale:
                continue
            started = time.monotonic()
            try:
                found = await read_many(stale)
            except Exception:
                continue
            for purchase in stale:
                before = self.known(purchase, fresh=False)
                if purchase not in found:
                    continue
                self.record(purchase, found[purchase], started)
                settled = found[purchase]["state"] != PurchaseState.PENDING  # what the waiters wait for
                if settled and found[purchase] != before and self.known(purchase, fresh=False) is found[purchase]:
                    self._wake(purchase)

    def _age(self, purchase: str) -> float:
        entry = self._known.get(purchase)
        return float("inf") if entry is None else time.monotonic() - entry[1]
