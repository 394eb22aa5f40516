"""Build the delivery worker from settings, in the web process or in `rose-ash worker`."""

from __future__ import annotations

from urllib.parse import urlsplit
from urllib.request import getproxies

import httpx

from activities.httpsig import RequestSigner
from activities.identity import LocalActor
from actors.context import Services
from net import guarded_client, is_guarded
from outbox.addressing import Target
from outbox.connections import DirectPoster
from outbox.http import HttpxPoster, Poster
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
        safety_poll=settings.worker_safety_poll,
        poster=make_poster(services, client),
        knocks=services.fetcher.knocks,
        peer_hosts=frozenset(urlsplit(url).netloc.lower() for url in settings.peers.values()),
    )


def make_poster(services: Services, client: httpx.AsyncClient) -> Poster:
    """Deliveries go out on our own pooled connections, to addresses the SSRF guard admits; through an HTTP
    proxy from the environment (`HTTPS_PROXY`, `HTTP_PROXY`) they go by the peer's httpx client, whose guarded
    transport checks the inbox's addresses first (the proxy resolves the name again: a changed DNS answer is
    not caught there)."""
    guard = services.fetcher.guard
    user_agent = client.headers.get("user-agent", "rose-ash")
    connect_timeout, read_timeout = client.timeout.connect or 5.0, client.timeout.read or 10.0
    if any(scheme in getproxies() for scheme in ("http", "https")):
        if is_guarded(client):
            return HttpxPoster(client)
        return HttpxPoster(guarded_client(guard, user_agent=user_agent, timeout=client.timeout), owns_client=True)
    return DirectPoster(
        user_agent=user_agent,
        check=guard.refusal,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        resolver=guard.resolver,
    )
