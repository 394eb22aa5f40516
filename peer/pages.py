"""The actor document and the health check."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from activities.build import actor_document
from actors.context import Services
from actors.kind import Kind, KindSetup
from peer.keys import public_key_pem
from peer.respond import ActivityJSONResponse, wants_json


def actor_route(services: Services, kind: Kind, setup: KindSetup) -> Route:
    actor = services.actor

    async def endpoint(request: Request) -> Response:
        if not wants_json(request):
            return RedirectResponse("/", status_code=303)
        doc = actor_document(
            actor_id=actor.id,
            kind=kind.actor_type,
            username=actor.name,
            name=kind.display_name,
            summary=kind.summary,
            base_url=actor.base_url,
            public_key_pem=await public_key_pem(services.store, actor),
            manually_approves=services.manually_approves_followers,
            extra=setup.actor_fields,
        )
        return ActivityJSONResponse(doc, headers={"Vary": "Accept"})

    return Route("/actor", endpoint, methods=["GET", "HEAD"])


def health_route(services: Services) -> Route:
    async def endpoint(_request: Request) -> Response:
        try:
            async with services.store.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse({"status": "down", "error": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "kind": services.actor.name})

    return Route("/healthz", endpoint)
