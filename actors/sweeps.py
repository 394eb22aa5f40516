"""Due work a kind runs for the app's life (`KindSetup.tasks`): one pass at once, then one every `every` seconds.
A pass that fails is logged and the next one tries again: each pass reads its work from the store, so nothing is
lost between passes (the hold expiry, the payment sweep, the waiting list's lapsed offers)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from store.outage import log_round_failed


async def keep_sweeping(
    sweep: Callable[[], Awaitable[int]],
    every: float,
    *,
    log: logging.Logger,
    name: str,
    done: str,
) -> None:
    """Run `sweep` (how many things it did) for ever; `done` is logged with that count when it did any."""
    while True:
        try:
            if count := await sweep():
                log.info(done, count)
        except Exception as exc:
            log_round_failed(log, name, exc, every)
        await asyncio.sleep(every)
