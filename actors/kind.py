"""How an actor kind plugs into a peer: it fills a KindSetup from its `register(setup)`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.routing import BaseRoute

from actors.context import Services
from inbox.dispatch import Listeners

# (request, services, activity) → (status, Location) for a client-to-server POST to the outbox.
C2SHandler = Callable[[Request, Services, dict[str, Any]], Awaitable[str]]
# Renders a stored object as HTML for a browser.
HtmlRenderer = Callable[[Request, Services, dict[str, Any]], Awaitable[Any]]
ItemRenderer = Callable[[AsyncSession, list[str]], Awaitable[list[Any]]]


@dataclass(frozen=True)
class CollectionSpec:
    """A collection served at `path` (a Starlette path pattern). `resolve` maps path params to its id
    and says whether it exists; `embed` turns item ids into what the page lists."""

    path: str
    public: bool = True
    embed: ItemRenderer | None = None
    exists: Callable[[AsyncSession, str], Awaitable[bool]] | None = None
    html: Callable[[Request], Awaitable[Any]] | None = None  # the page a browser gets instead
    extra: Callable[[AsyncSession, str], Awaitable[dict[str, Any]]] | None = None  # more fields (name, links)


@dataclass
class KindSetup:
    services: Services
    listeners: Listeners
    routes: list[BaseRoute] = field(default_factory=list)
    collections: list[CollectionSpec] = field(default_factory=list)
    c2s: dict[str, C2SHandler] = field(default_factory=dict)  # activity (or Create's object) type → handler
    html: dict[str, HtmlRenderer] = field(default_factory=dict)  # object type → HTML page
    on_start: list[Callable[[Services], Awaitable[None]]] = field(default_factory=list)
    actor_fields: dict[str, Any] = field(default_factory=dict)
    nav: list[tuple[str, str]] = field(default_factory=list)  # (label, path) in the page header


@dataclass(frozen=True)
class Kind:
    name: str
    actor_type: str
    display_name: str
    summary: str
    register: Callable[[KindSetup], None]
