"""`create_app(settings)`: one peer as a Starlette application. The lifespan owns the store, the HTTP
client and the in-process delivery worker."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from activities.identity import LocalActor
from actors.context import Services
from actors.kind import CollectionSpec, Kind, KindSetup
from inbox.directory import Directory
from inbox.dispatch import Listeners
from inbox.errors import InboxError
from inbox.receive import Inbox
from inbox.remote import AddressGuard, RemoteFetcher
from outbox.worker import DeliveryWorker
from peer import admin, follows, wellknown
from peer.c2s import outbox_post_route
from peer.keys import ensure_key_pair
from peer.pages import actor_route, health_route
from peer.respond import error, wants_json
from peer.serving import collection_route, object_route
from peer.settings import Settings
from peer.workers import make_worker
from store import objects
from store.db import open_store
from store.migrate import migrate

log = logging.getLogger(__name__)

VERSION = "0.1.0"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def load_kind(name: str) -> Kind:
    module = importlib.import_module(f"actors.{name}")
    kind: Kind = module.KIND
    return kind


def create_app(settings: Settings, clock: Callable[[], float] = time.time) -> Starlette:
    kind = load_kind(settings.kind)
    actor = LocalActor(settings.kind, settings.base_url)
    store = open_store(settings.database_url, clock)
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(10.0, connect=5.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        headers={"user-agent": f"rose-ash/{VERSION} (+{settings.base_url}/)"},
    )
    guard = AddressGuard(settings.allow_private, settings.allowed_hosts)
    fetcher = RemoteFetcher(client, guard, clock)
    directory = Directory(store, fetcher)
    services = Services(
        actor=actor,
        store=store,
        directory=directory,
        fetcher=fetcher,
        peers=dict(settings.peers),
        trusted=settings.trusted_actors,
        admin_token=settings.admin_token,
        secret=settings.secret,
        clock=clock,
        currency=settings.currency,
    )
    templates = Jinja2Templates(directory=str(TEMPLATES))
    services.extra.update(
        templates=templates.env,
        kind_name=kind.display_name,
        manually_approves_followers=settings.manually_approves_followers,
        settings=settings,
    )
    listeners = Listeners()
    follows.register(listeners)
    setup = KindSetup(services=services, listeners=listeners)
    setup.collections += [
        CollectionSpec("/actor/outbox", embed=objects.embed_public),
        CollectionSpec("/actor/followers"),
        CollectionSpec("/actor/following"),
    ]
    kind.register(setup)
    services.extra["nav"] = setup.nav
    inbox = Inbox(store, directory, listeners, settings.base_url, clock, services)

    async def inbox_endpoint(request: Request) -> Response:
        recipient = "actor" if request.url.path == "/actor/inbox" else None
        received = await inbox.receive(request, recipient)
        return JSONResponse(
            {"status": received.outcome.value, "id": received.activity.id, "signature": received.verified.scheme.value},
            status_code=202,
        )

    routes: list[BaseRoute] = [
        health_route(services),
        *wellknown.routes(services, kind.display_name, VERSION),
        actor_route(services, kind, setup),
        Route("/actor/inbox", inbox_endpoint, methods=["POST"]),
        Route("/inbox", inbox_endpoint, methods=["POST"]),
        outbox_post_route(services, setup),
        *admin.routes(services),
        Mount("/static", StaticFiles(directory=str(TEMPLATES / "static")), name="static"),
        *setup.routes,
        *(collection_route(services, spec) for spec in setup.collections),
        object_route(services, setup.html),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await migrate(store)
        signer = await ensure_key_pair(store, actor)
        fetcher.signer = signer
        worker: DeliveryWorker = make_worker(settings, services, client, {actor.name: actor}, {actor.name: signer})
        services.wake_delivery = worker.wake
        app.state.services = services
        app.state.worker = worker
        if settings.seed:
            for hook in setup.on_start:
                await hook(services)
        task = asyncio.create_task(worker.run()) if settings.inprocess_worker else None
        try:
            yield {}
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await worker.aclose()
            await client.aclose()
            await store.close()

    async def inbox_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InboxError)
        return error(exc.status, exc.reason)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (301, 302, 303, 307, 308) and exc.headers:
            return Response(status_code=exc.status_code, headers=exc.headers)
        if wants_json(request) or (request.method == "POST" and "json" in request.headers.get("content-type", "")):
            return error(exc.status_code, str(exc.detail))
        templates_env = services.extra["templates"]
        page = templates_env.get_template("layout/error.html").render(
            request=request,
            status=exc.status_code,
            detail=exc.detail,
            actor=actor,
            nav=setup.nav,
            kind=kind.display_name,
            peers=services.peers,
            admin=False,
            csrf="",
        )
        return Response(page, status_code=exc.status_code, media_type="text/html")

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={InboxError: inbox_error, HTTPException: http_error},
    )
    app.state.services = services
    return app
