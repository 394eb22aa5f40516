"""Build the delivery worker from settings, in the web process or in `rose-ash worker`."""

from __future__ import annotations

import httpx

from activities.httpsig import RequestSigner
from activities.identity import LocalActor
from actors.context import Services
from outbox.addressing import Target
from outbox.http import AiohttpPoster
from outbox.retry import RetryPolicy
from outbox.worker import DeliveryWorker
from peer.settings import Settings


def make_worker(
    settings: Settings,
    services: Services,
    client: httpx.AsyncClient,
    actors: dict[str, LocalActor],
    signers: dict[str, RequestSigner],
) -> DeliveryWorker:
    async def resolve(actor_id: str) -> Target:
        info = await services.directory.actor(actor_id)
        return Target(info.id, info.inbox, info.shared_inbox)

    return DeliveryWorker(
        store=services.store,
        client=client,
        actors=actors,
        signers=signers,
        resolve=resolve,
        policy=RetryPolicy(base_delay=settings.retry_base, horizon=settings.retry_horizon),
        clock=services.clock,
        lease=settings.lease_seconds,
        poster=AiohttpPoster(
            user_agent=client.headers.get("user-agent", "rose-ash"),
            connect_timeout=client.timeout.connect or 5.0,
            read_timeout=client.timeout.read or 10.0,
        ),
    )
