"""Know the cooperating peers' actors and keys from the start: an activity addressed to an actor whose inbox the
store knows gets its delivery rows when it is recorded (outbox/record.py), so the first buyers of a new calendar
do not wait for the delivery worker to fetch the shop's actor while their Offers queue behind it; and the shop
verifies the first Offers with the events peer's key at hand, instead of fetching it from a peer that a rush
of buyers may keep from answering in time."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from actors.context import Services
from inbox.errors import FetchError
from store.models import RemoteActor, RemoteKey

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.5  # peers started side by side (docker-compose, the tests) know each other at once
RETRY_SECONDS = 5.0  # the retries slow down to this: a peer started later is fetched within it of answering
GIVE_UP_SECONDS = 600.0  # a peer still unreachable by then is fetched when first needed, as any actor is


async def know_peer_actors(
    services: Services,
    *,
    first_retry: float = FIRST_RETRY_SECONDS,
    retry: float = RETRY_SECONDS,
    give_up: float = GIVE_UP_SECONDS,
) -> None:
    """Fetch (and so store) each configured peer's actor the store does not hold yet, trying again while a peer
    does not answer (after `first_retry` seconds, doubling up to every `retry` seconds) for at most `give_up`."""
    wanted = {f"{base.rstrip('/')}/actor" for base in services.peers.values()} - {services.actor.id}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up
    pause = min(first_retry, retry)
    while wanted:
        async with services.store.read() as session:
            with_key = select(RemoteKey.owner).where(RemoteKey.owner == RemoteActor.id).exists()
            known = set(await session.scalars(select(RemoteActor.id).where(RemoteActor.id.in_(wanted), with_key)))
        wanted -= known
        for actor_id in sorted(wanted):
            try:
                await services.directory.actor(actor_id, refresh=True)  # the actor and its keys
            except FetchError as exc:
                log.debug("peer actor %s not fetched yet: %s", actor_id, exc.reason)
            else:
                wanted.discard(actor_id)
        if not wanted or loop.time() + pause > deadline:
            return
        await asyncio.sleep(pause)
        pause = min(pause * 2, retry)
