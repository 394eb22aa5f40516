"""One wiring of a peer's services, for the web process and for `rose-ash worker` alike."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jinja2
from starlette.templating import Jinja2Templates

from activities.httpsig import RequestSigner
from activities.identity import LocalActor
from actors.context import Services, Site, StripeKeys, SumUpKeys
from actors.kind import Kind, KindSetup
from actors.sessions import Sessions
from inbox.directory import Directory
from inbox.dispatch import Listeners
from inbox.remote import AddressGuard, RemoteFetcher
from mail.mailer import Mailer
from mail.transport import transport_for
from mail.worker import MailWorker
from media.images import Limits
from media.library import MediaLibrary
from media.storage import DiskStorage
from net import HostLimiter, SchemeMemory, guarded_client
from outbox.retry import RetryPolicy
from outbox.worker import DeliveryWorker
from peer.keys import ensure_key_pair
from peer.settings import Settings
from peer.workers import make_worker
from store.db import open_store
from store.migrate import migrate_apart

VERSION = "0.1.0"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def load_kind(name: str) -> Kind:
    module = importlib.import_module(f"actors.{name}")
    kind: Kind = module.KIND
    return kind


def user_agent(settings: Settings) -> str:
    return f"rose-ash/{VERSION} (+{settings.base_url}/)"


def page_templates(kind: Kind | None = None) -> jinja2.Environment:
    env = Jinja2Templates(directory=str(TEMPLATES)).env
    env.globals["uses_relays"] = kind is not None and kind.uses_relays  # the admin's Relays link, where mounted
    return env


@dataclass(frozen=True)
class Runtime:
    """What one peer process owns: its services, and the HTTP client and store it must close."""

    settings: Settings
    kind: Kind
    services: Services
    client: httpx.AsyncClient

    async def start(self) -> RequestSigner:
        """Migrate the store and load (or make) the actor's key pair; remote fetches are signed from here on."""
        await migrate_apart(self.services.store)
        signer = await ensure_key_pair(self.services.store, self.services.actor)
        await self.services.sessions.start()
        self.services.fetcher.signer = signer
        return signer

    def delivery_worker(self, signer: RequestSigner) -> DeliveryWorker:
        """The delivery worker, woken whenever this process commits an emitted activity."""
        actor = self.services.actor
        worker = make_worker(self.settings, self.services, self.client, {actor.name: actor}, {actor.name: signer})
        self.services.doorbell.answer_with(worker.wake)
        return worker

    def mail_worker(self) -> MailWorker:
        """The mail worker, woken whenever this process commits a queued email."""
        worker = MailWorker(
            store=self.services.store,
            transport=transport_for(self.settings.smtp_url),
            policy=RetryPolicy(base_delay=self.settings.retry_base, horizon=self.settings.retry_horizon),
            clock=self.services.clock,
            lease=self.settings.lease_seconds,
        )
        self.services.mail.answer_with(worker.wake)
        return worker

    def kind_tasks(self) -> list[Coroutine[Any, Any, None]]:
        """The kind's own due work (scheduled posts, expiring holds), for whichever process runs the workers."""
        setup = KindSetup(services=self.services, listeners=Listeners())
        self.kind.register(setup)
        return [task(self.services) for task in setup.tasks]

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.services.store.close()


def stripe_keys(settings: Settings) -> StripeKeys | None:
    if not settings.stripe_secret_key:
        return None
    return StripeKeys(
        settings.stripe_secret_key,
        settings.stripe_publishable_key,
        settings.stripe_webhook_secret,
        settings.stripe_api_base,
        settings.stripe_js_url,
    )


def sumup_keys(settings: Settings) -> SumUpKeys | None:
    if not settings.sumup_api_key:
        return None
    return SumUpKeys(settings.sumup_api_key, settings.sumup_merchant_code, settings.sumup_api_base)


def build_services(settings: Settings, clock: Callable[[], float] = time.time) -> Runtime:
    kind = load_kind(settings.kind)
    store = open_store(settings.database_url, clock, settings.db_pool_size, settings.db_wait_seconds)
    guard = AddressGuard(settings.allow_private, settings.allowed_hosts)
    client = guarded_client(
        guard, user_agent=user_agent(settings), limiter=HostLimiter(peers=settings.peer_authorities)
    )
    fetcher = RemoteFetcher(client, guard, clock, knocks=SchemeMemory(settings.first_knock))
    services = Services(
        actor=LocalActor(settings.kind, settings.base_url),
        store=store,
        directory=Directory(store, fetcher),
        fetcher=fetcher,
        peers=dict(settings.peers),
        trusted=settings.trusted_actors,
        admin_token=settings.admin_token,
        sessions=Sessions(store),
        clock=clock,
        site=Site(kind.display_name, kind.nav, page_templates(kind), kind.staff_role, kind.staff_nav),
        media=MediaLibrary(
            DiskStorage(settings.media_path), Limits(settings.max_upload_bytes, settings.max_upload_pixels)
        ),
        currency=settings.currency,
        ticket_limits=settings.ticket_limits,
        manually_approves_followers=settings.manually_approves_followers,
        due_check_seconds=settings.due_check_seconds,
        hold_seconds=settings.hold_minutes * 60.0,
        waitlist_offer_seconds=settings.waitlist_offer_minutes * 60.0,
        payment_provider=settings.payment_provider,
        stripe=stripe_keys(settings),
        sumup=sumup_keys(settings),
        mail=Mailer(settings.sender_address, clock),
        embed_ancestors=settings.embed_ancestors,
        ghost_url=settings.ghost_url,
        admin_token_login=settings.admin_token_login,
        oidc_secret=settings.oidc_secret,
        oidc_clients=dict(settings.oidc_clients),
        notify_other_workers=not settings.inprocess_worker,
    )
    return Runtime(settings, kind, services, client)
