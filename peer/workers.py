"""Build the delivery worker from settings, in the web process or in `rose-ash worker`."""

from __future__ import annotations

from urllib.request import getproxies

import httpx

from activities.httpsig import RequestSigner
from activities.identity import LocalActor
from actors.context import Services
from outbox.addressing import Target
from outbox.connections import DirectPoster
from outbox.http import AiohttpPoster, Poster
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
        actors=actors,
        signers=signers,
        resolve=resolve,
        policy=RetryPolicy(base_delay=settings.retry_base, horizon=settings.retry_horizon),
        clock=services.clock,
        lease=settings.lease_seconds,
        poster=make_poster(services, client),
    )


def make_poster(services: Services, client: httpx.AsyncClient) -> Poster:
    """Deliveries go out on our own pooled connections, to addresses the SSRF guard admits; through an HTTP
    proxy from the environment (`HTTPS_PROXY`, `HTTP_PROXY`) they go with aiohttp, which speaks to proxies,
    after the same checks (the proxy resolves the name again: a changed DNS answer is not caught there)."""
    user_agent = client.headers.get("user-agent", "rose-ash")
    connect_timeout, read_timeout = client.timeout.connect or 5.0, client.timeout.read or 10.0
    direct = DirectPoster(
        user_agent=user_agent,
        check=services.fetcher.guard.refusal,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    if any(scheme in getproxies() for scheme in ("http", "https")):
        return AiohttpPoster(
            user_agent=user_agent, screen=direct.screen, connect_timeout=connect_timeout, read_timeout=read_timeout
        )
    return direct
