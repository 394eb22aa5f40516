"""`create_app(settings)`: one peer as a Starlette application. The lifespan starts the store and the
in-process delivery worker; `build_services` wires everything else, as it does for `rose-ash worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from actors import media
from actors.context import Services
from actors.kind import CollectionSpec, KindSetup, public_objects
from actors.web import cookie_name, load_session, secure_page, services_of
from inbox.dispatch import Listeners
from inbox.errors import InboxError
from inbox.receive import Inbox
from peer import admin, audit_pages, follows, inbox_listing, mail_pages, metrics, relay_pages, signin, wellknown
from peer.bearer import IntrospectionCache
from peer.c2s import outbox_post_route
from peer.housekeeping import keep_house
from peer.inbox_route import InboxRoute, inbox_endpoint
from peer.pages import actor_route, health
from peer.peer_actors import know_peer_actors
from peer.respond import error, wants_json
from peer.services import TEMPLATES, Runtime, build_services
from peer.serving import collection_route, object_route
from peer.settings import Settings
from peer.visitor_pages import VisitorPages
from store.outage import RETRY_AFTER_SECONDS, out_of_reach

log = logging.getLogger(__name__)


def create_app(settings: Settings, clock: Callable[[], float] = time.time) -> Starlette:
    runtime = build_services(settings, clock)
    services, kind = runtime.services, runtime.kind
    listeners: Listeners[Services] = Listeners()
    follows.register(listeners)
    setup = KindSetup(services=services, listeners=listeners)
    setup.collections += [
        CollectionSpec("/actor/outbox", embed=public_objects),
        CollectionSpec("/actor/followers"),
        CollectionSpec("/actor/following"),
    ]
    kind.register(setup)
    inbox = Inbox(services.store, services.directory, listeners, services.actor, clock, services)

    routes: list[BaseRoute] = [
        Route("/healthz", health),
        *metrics.ROUTES,
        *wellknown.ROUTES,
        actor_route(kind, setup.actor_fields),
        Route("/actor/inbox", inbox_endpoint, methods=["POST"]),
        *inbox_listing.ROUTES,
        Route("/inbox", inbox_endpoint, methods=["POST"]),
        outbox_post_route(setup.c2s, kind.c2s_access),
        *admin.ROUTES,
        *signin.ROUTES,
        *(relay_pages.ROUTES if kind.uses_relays else ()),
        *media.ROUTES,
        *mail_pages.ROUTES,
        *audit_pages.ROUTES,
        Mount("/static", StaticFiles(directory=str(TEMPLATES / "static")), name="static"),
        *setup.routes,
        *(collection_route(spec) for spec in setup.collections),
        object_route(setup.html),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with _running(runtime, setup, app):
            yield {}

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(VisitorPages),
            Middleware(InboxRoute),
            Middleware(SessionLoader),
            Middleware(signin.MemberSessions),
        ],
        exception_handlers={
            InboxError: inbox_error,
            HTTPException: http_error,
            PoolTimeout: database_error,
            DBAPIError: database_error,
            OSError: database_error,
            Exception: server_error,
        },
    )
    app.state.services = services
    app.state.metrics_token = settings.metrics_token
    app.state.pending_queues = tuple(setup.pending)
    app.state.follower_trust = setup.follower_trust
    app.state.inbox = inbox
    app.state.bearer_cache = IntrospectionCache(settings.introspection_cache)
    return app


@contextlib.asynccontextmanager
async def _running(runtime: Runtime, setup: KindSetup, app: Starlette) -> AsyncIterator[None]:
    try:
        worker = runtime.delivery_worker(await runtime.start())
        app.state.worker = worker
        if runtime.settings.seed:
            for hook in setup.on_start:
                await hook(runtime.services)
        app.state.mail_worker = mail_worker = runtime.mail_worker()
        # the workers, and the kind's due work with them: a web process without them leaves all of it to
        # `rose-ash worker` (and changes nothing behind a test's back)
        inprocess = runtime.settings.inprocess_worker
        tasks = (
            [
                worker.run(),
                mail_worker.run(),
                know_peer_actors(runtime.services),
                *(task(runtime.services) for task in setup.tasks),
            ]
            if inprocess
            else []
        )
        services = runtime.services
        tasks.append(
            keep_house(
                services.store,
                services.clock,
                runtime.settings.inbox_retention,
                mail_retention=runtime.settings.mail_retention,
            )
        )
        running = [asyncio.create_task(task) for task in tasks]
        try:
            yield
        finally:
            for task in running:
                task.cancel()
            for task in running:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await worker.aclose()
    finally:
        await runtime.aclose()


class SessionLoader:
    """Reads the browser's session before the endpoint runs (a signed-in one is looked up in the store), so
    pages and forms can ask for it without waiting."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            services = services_of(request)
            if cookie_name(services) in request.cookies:
                await load_session(request, services)
        await self.app(scope, receive, send)


async def inbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InboxError)
    return error(exc.status, exc.reason)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error_page(request, exc.status_code, str(exc.detail), exc.headers or {})


BROKEN = "Something went wrong on this site, and it has been logged. Please try again in a moment."


async def database_error(request: Request, exc: Exception) -> Response:
    """The database out of reach for now (every connection taken past ROSE_ASH_DB_WAIT_SECONDS, SQLite's file
    held by another writer, PostgreSQL restarting or refusing connections): nothing was written, so the person,
    or the server that sent an activity, is told to try again. Any other database error is a fault: a 500."""
    detail = out_of_reach(exc)
    if detail is None:
        raise exc
    log.warning("%s %s: %s", request.method, request.url.path, exc.__class__.__name__)
    return _error_page(request, 503, detail, {"retry-after": str(RETRY_AFTER_SECONDS)})


async def server_error(request: Request, exc: Exception) -> Response:
    """Starlette's last resort (it logs the traceback after this): a sentence instead of its bare text."""
    if out_of_reach(exc) is not None:  # raised in a middleware, outside the routes' handlers
        response = await database_error(request, exc)
    else:
        response = _error_page(request, 500, BROKEN, {})
    # uvicorn closes the connection after a crash: said in advance, a client opens a new one for its next request
    # instead of meeting a reset on this one
    response.headers["connection"] = "close"
    return response


def _error_page(request: Request, status: int, detail: str, headers: Mapping[str, str]) -> Response:
    if wants_json(request) or (request.method == "POST" and "json" in request.headers.get("content-type", "")):
        return error(status, detail, **headers)
    services = services_of(request)
    page = services.site.templates.get_template("layout/error.html").render(
        request=request,
        status=status,
        detail=detail,
        actor=services.actor,
        nav=services.site.nav,
        kind=services.site.kind_name,
        peers=services.peers,
        admin=False,
        csrf="",
    )
    return secure_page(Response(page, status_code=status, media_type="text/html", headers=dict(headers)))
