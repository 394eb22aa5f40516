"""Periodic upkeep of a peer's store: bodies of old inbox activities, and sent mail, are emptied once their
retention ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from mail.retention import prune_mail
from store.db import Store
from store.outage import log_round_failed
from store.retention import prune_inbox

log = logging.getLogger(__name__)

EVERY = 3600.0
FIRST_AFTER = 60.0  # not at start: a peer has better things to do then, and a test counting statements too


async def keep_house(
    store: Store,
    clock: Callable[[], float],
    retention: float,
    every: float = EVERY,
    first_after: float = FIRST_AFTER,
    mail_retention: float | None = None,
) -> None:
    await asyncio.sleep(first_after)
    while True:
        try:
            emptied = await prune_inbox(store, clock(), retention)
            if emptied:
                log.info("emptied the bodies of %d inbox activities past their retention", emptied)
            if mail_retention is not None:
                emptied = await prune_mail(store, clock(), mail_retention)
                if emptied:
                    log.info("emptied %d sent emails past their retention", emptied)
        except Exception as exc:
            log_round_failed(log, "retention", exc, every)
        await asyncio.sleep(every)
