"""Periodic upkeep of a peer's store: bodies of old inbox activities are emptied once their retention ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from store.db import Store
from store.retention import prune_inbox

log = logging.getLogger(__name__)

EVERY = 3600.0


async def keep_house(store: Store, clock: Callable[[], float], retention: float, every: float = EVERY) -> None:
    while True:
        try:
            emptied = await prune_inbox(store, clock(), retention)
            if emptied:
                log.info("emptied the bodies of %d inbox activities past their retention", emptied)
        except Exception:
            log.exception("inbox retention failed; trying again in %g s", every)
        await asyncio.sleep(every)
