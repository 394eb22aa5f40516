"""How an actor kind plugs into a peer: it fills a KindSetup from its `register(setup)`.

- listeners: `setup.listeners.on(ListenerKey("Add"), on_add)`; an Accept/Reject of one of our activities is
  keyed by the answered type, `ListenerKey("Accept", answering="Offer")`, after the inbox checked it answers
  an activity we sent to that actor.
- client-to-server: `setup.on_c2s(C2SKey("Create", "Event"), handler)` for a POST to the actor's outbox.
- pages: `setup.routes` (module-level Starlette endpoints reading `request.app.state.services`) and
  `setup.html[type]`, the HTML view of a stored object of that type.
- collections: `setup.collections`, served as AS2 OrderedCollections with keyset paging.
- approvals: `setup.pending`, what strangers leave waiting for the admin, shown grouped by remote actor with
  one answer per actor on the admin's approvals page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from actors.context import Services
from actors.roles import ADMIN
from actors.scopes import Scope
from inbox.dispatch import Listeners
from store import objects


@dataclass(frozen=True)
class C2SKey:
    """A client-to-server activity type, with its object's type for Create and Update."""

    activity: str
    object: str | None = None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> C2SKey:
        kind, obj = str(doc.get("type")), doc.get("object")
        if kind in ("Create", "Update") and isinstance(obj, dict):
            return cls(kind, str(obj.get("type")))
        return cls(kind)

    def __str__(self) -> str:
        return f"{self.activity} of {self.object}" if self.object else self.activity


@dataclass(frozen=True)
class Waiting:
    """One item a remote actor left waiting for the admin: `item` waits in `place` (a calendar, a post)."""

    item: str
    sender: str
    place: str
    summary: str


@dataclass(frozen=True)
class PendingQueue:
    """A kind's waiting items of one sort: all of them (bounded by actors/pending.py's limits), and the
    admin's answer to one, in the caller's transaction (False when it no longer waits)."""

    name: str
    label: str
    waiting: Callable[[AsyncSession, Services], Awaitable[list[Waiting]]]
    decide: Callable[[AsyncSession, Services, Waiting, bool], Awaitable[bool]]


# (request, services, activity) → the id of what was created or changed, for a POST to the outbox.
C2SHandler = Callable[[Request, Services, dict[str, Any]], Awaitable[str]]
# Renders a stored object as HTML for a browser.
HtmlRenderer = Callable[[Request, Services, dict[str, Any]], Awaitable[Response]]
ItemRenderer = Callable[[AsyncSession, Services, list[str]], Awaitable[list[Any]]]
CollectionCheck = Callable[[AsyncSession, Services, str], Awaitable[bool]]
CollectionFields = Callable[[AsyncSession, Services, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class CollectionSpec:
    """A collection served at `path` (a Starlette path pattern). `exists` says whether the collection with
    that id is one of ours; `embed` turns item ids into what the page lists."""

    path: str
    public: bool = True
    embed: ItemRenderer | None = None
    exists: CollectionCheck | None = None
    html: Callable[[Request], Awaitable[Response]] | None = None  # the page a browser gets instead
    extra: CollectionFields | None = None  # more fields (name, links)


@dataclass
class KindSetup:
    services: Services
    listeners: Listeners[Services]
    routes: list[BaseRoute] = field(default_factory=list)
    collections: list[CollectionSpec] = field(default_factory=list)
    c2s: dict[C2SKey, C2SHandler] = field(default_factory=dict)
    html: dict[str, HtmlRenderer] = field(default_factory=dict)  # object type → HTML page
    on_start: list[Callable[[Services], Awaitable[None]]] = field(default_factory=list)
    # run for the app's life beside the delivery worker (due work such as scheduled posts, expiring holds); each
    # must be safe to run in several processes at once
    tasks: list[Callable[[Services], Coroutine[Any, Any, None]]] = field(default_factory=list)
    actor_fields: dict[str, Any] = field(default_factory=dict)
    pending: list[PendingQueue] = field(default_factory=list)
    # what marking a follower trusted does in this kind (shown on the followers page); "" for no such mark
    follower_trust: str = ""

    def on_c2s(self, key: C2SKey, handler: C2SHandler) -> KindSetup:
        if key in self.c2s:
            raise ValueError(f"a client-to-server handler for {key} is already registered")
        self.c2s[key] = handler
        return self


@dataclass(frozen=True)
class Kind:
    name: str
    actor_type: str
    display_name: str
    summary: str
    register: Callable[[KindSetup], None]
    nav: tuple[tuple[str, str], ...] = ()  # (label, path) in the page header
    # what a member's bearer token needs to post to the outbox (actors/scopes.py); None: the admin token only
    c2s_access: Scope | None = None
    uses_relays: bool = False  # subscribes to fediverse relays: the admin's /admin/relays page is mounted
    staff_nav: tuple[tuple[str, str, str], ...] = ()  # (label, path, role) in the header, for holders of the role

    @property
    def staff_role(self) -> str:
        """The role that writes this kind's content (its C2S scope's): it also reads the kind's private objects
        and uploads its images. The admin's, for a kind without client-to-server writing."""
        return self.c2s_access.role if self.c2s_access is not None else ADMIN


async def public_objects(session: AsyncSession, services: Services, ids: list[str]) -> list[Any]:
    """Items embedded as their public view where we hold them, as ids otherwise."""
    return await objects.embed_public(session, ids)
