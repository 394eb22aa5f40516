"""What a running peer offers its kind: the store, the actor, remote look-ups, sending, its pages' setting."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import jinja2
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from activities.identity import LocalActor
from activities.order import TicketLimits
from actors.page_cache import PageCache
from actors.sessions import Sessions
from inbox.directory import Directory
from inbox.dispatch import InboxContext
from inbox.remote import RemoteFetcher
from mail.mailer import Mailer
from media.library import MediaLibrary
from outbox.record import TargetMemory, emit
from store.db import Store


class Doorbell:
    """Rung when an emitted activity is committed; the delivery worker, once it runs, answers it."""

    def __init__(self) -> None:
        self._answer: Callable[[], None] = lambda: None

    def answer_with(self, wake: Callable[[], None]) -> None:
        self._answer = wake

    def ring(self) -> None:
        self._answer()


# Set while a client-to-server request is served (peer/c2s.py): it sees, and may refuse by raising, each activity
# the kind's handler emits, before the handler's transaction commits (and may write in that transaction, as the
# audit log does). Per request, not a shared cache.
EmitWatcher = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
emit_watcher: ContextVar[EmitWatcher | None] = ContextVar("emit_watcher", default=None)


@dataclass(frozen=True)
class Site:
    """What every page of this peer shows around its content."""

    kind_name: str  # "Blog", "Events", "Shop"
    nav: tuple[tuple[str, str], ...]  # (label, path) in the page header
    templates: jinja2.Environment
    kind_role: str = "admin"  # the role that writes this kind's content (Kind.staff_role)
    staff_nav: tuple[tuple[str, str, str], ...] = ()  # (label, path, role): header links for holders of the role


@dataclass(frozen=True)
class StripeKeys:
    """The shop's Stripe account (settings, never logged: the secrets are left out of the repr)."""

    secret_key: str = field(repr=False)
    publishable_key: str
    webhook_secret: str = field(repr=False)
    api_base: str = "https://api.stripe.com"  # a localstripe URL in tests and under `rose-ash up`
    js_url: str = "https://js.stripe.com/v3/"


@dataclass(frozen=True)
class SumUpKeys:
    """The shop's SumUp account (settings, never logged: the API key is left out of the repr)."""

    api_key: str = field(repr=False)
    merchant_code: str
    api_base: str = "https://api.sumup.com"  # the tests' fake of SumUp's API


@dataclass(frozen=True)
class Services:
    actor: LocalActor
    store: Store
    directory: Directory
    fetcher: RemoteFetcher
    peers: Mapping[str, str]  # kind → base URL of the peers this one works with
    trusted: frozenset[str]  # actor ids trusted at once
    admin_token: str
    sessions: Sessions
    clock: Callable[[], float]
    site: Site
    media: MediaLibrary
    currency: str = "GBP"
    ticket_limits: TicketLimits = field(default_factory=TicketLimits)
    manually_approves_followers: bool = False
    hold_seconds: float = 15 * 60.0  # a priced order's tickets are held this long while the buyer pays
    waitlist_offer_seconds: float = 30 * 60.0  # seats freed are kept this long for the next on a waiting list
    payment_provider: str = "manual"  # the shop's provider for priced orders
    stripe: StripeKeys | None = None
    sumup: SumUpKeys | None = None
    doorbell: Doorbell = field(default_factory=Doorbell)
    due_check_seconds: float = 60.0  # how often a kind's tasks look for due work made by another process
    due_work: Doorbell = field(default_factory=Doorbell)  # rung when this process commits new due work
    embed_ancestors: str = "'self'"  # who may frame the calendar widget (CSP frame-ancestors sources)
    mail: Mailer = field(default_factory=lambda: Mailer("rose-ash@localhost.localdomain", clock=time.time))
    ghost_url: str = ""  # the blog's old Ghost site, whose images an import of its export fetches
    admin_token_login: bool = True  # off: the admin token opens nothing; members sign in at the account service
    oidc_secret: str = field(default="", repr=False)  # this peer's client secret at the account service
    oidc_clients: Mapping[str, str] = field(default_factory=dict, repr=False)  # the account service's clients
    pages: PageCache = field(default_factory=PageCache)  # listings rendered for visitors who are not signed in
    # False where this process runs a delivery worker, which the doorbell wakes: deliveries written at emit are
    # then not announced to the other processes' workers too (each NOTIFY is a statement, and a wake-up of every
    # listening worker for a row this one sends); a fan-out still is, when it is expanded
    notify_other_workers: bool = True
    targets: TargetMemory = field(default_factory=TargetMemory)  # inboxes of the actors addressed lately

    def peer_actor(self, kind: str) -> str | None:
        base = self.peers.get(kind)
        return f"{base}/actor" if base else None

    async def emit(self, session: AsyncSession, activity: dict[str, Any]) -> dict[str, Any]:
        """Record `activity` in the caller's transaction; the delivery worker is woken once it commits."""
        watch = emit_watcher.get()
        if watch is not None:
            await watch(session, activity)
        sent = await emit(
            session, self.actor, activity, self.clock(), notify=self.notify_other_workers, memory=self.targets
        )
        ring = self.doorbell.ring
        event.listen(session.sync_session, "after_commit", lambda _s: ring(), once=True)
        return sent

    def after_commit_ring(self, session: AsyncSession, bell: Doorbell) -> None:
        """Ring `bell` once the session's transaction commits (never for one rolled back)."""
        event.listen(session.sync_session, "after_commit", lambda _s: bell.ring(), once=True)


# What a listener of an actor kind is handed.
Context = InboxContext[Services]
