"""What the events peer knows of a purchase in its process (actors/events/purchase_watch.py): a commit it
recorded is not overwritten by a read that began before it; an old record is not used in place of a read; and
while anyone waits, one read of all the purchases waited on finds what another process committed."""

from __future__ import annotations

import asyncio
import time

from actors.events.purchase_watch import PurchaseWaiters

PENDING = {"state": "pending", "orderNumber": "", "reason": ""}
CONFIRMED = {"state": "confirmed", "orderNumber": "A-1", "reason": ""}


def test_a_read_begun_before_a_recorded_commit_does_not_overwrite_it() -> None:
    waiters = PurchaseWaiters()
    began = time.monotonic()
    waiters.notify("p", CONFIRMED)  # the listener's commit, recorded at once
    waiters.record("p", PENDING, began)  # the read that started earlier comes back with the old state
    assert waiters.known("p") == CONFIRMED


def test_a_record_older_than_the_recheck_is_not_used_in_place_of_a_read() -> None:
    waiters = PurchaseWaiters(recheck=10.0)
    waiters.record("p", PENDING, time.monotonic() - 11.0)
    assert waiters.known("p") is None
    assert waiters.known("p", fresh=False) == PENDING


def test_told_without_the_state_the_next_look_reads_the_store() -> None:
    waiters = PurchaseWaiters()
    waiters.record("p", PENDING)
    waiters.notify("p")
    assert waiters.known("p", fresh=False) is None


async def test_one_read_finds_what_another_process_committed_and_wakes_its_waiter() -> None:
    waiters = PurchaseWaiters(recheck=0.1)
    store = {"p": PENDING, "q": PENDING}
    reads: list[list[str]] = []
    looked = asyncio.Event()

    async def read_many(purchases: list[str]) -> dict[str, dict[str, str]]:
        reads.append(sorted(purchases))
        looked.set()
        return {p: store[p] for p in purchases}

    with waiters.waiting("p") as woken_p, waiters.waiting("q") as woken_q:
        assert woken_p is not None and woken_q is not None
        waiters.watch(read_many)
        await asyncio.wait_for(looked.wait(), 30)  # the ticker's first look
        store["p"] = CONFIRMED  # committed by another process: nobody here is told
        await asyncio.wait_for(woken_p.wait(), 30)
        assert waiters.known("p", fresh=False) == CONFIRMED
        assert not woken_q.is_set()
    assert reads[0] == ["p", "q"]  # both looked at in one read
