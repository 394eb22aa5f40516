"""The actor document and the health check."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from activities.build import actor_document
from actors.kind import Kind
from actors.web import services_of
from peer.keys import public_key_pem
from peer.respond import ActivityJSONResponse, wants_json


async def actor(request: Request, kind: Kind, fields: Mapping[str, Any]) -> Response:
    """The actor document, with the fields (`upcomingEvents`, …) the kind added to it."""
    if not wants_json(request):
        return RedirectResponse("/", status_code=303)
    services = services_of(request)
    me = services.actor
    doc = actor_document(
        actor_id=me.id,
        kind=kind.actor_type,
        username=me.name,
        name=kind.display_name,
        summary=kind.summary,
        base_url=me.base_url,
        public_key_pem=await public_key_pem(services.store, me),
        manually_approves=services.manually_approves_followers,
        extra=dict(fields),
    )
    return ActivityJSONResponse(doc, headers={"Vary": "Accept"})


def actor_route(kind: Kind, fields: Mapping[str, Any]) -> Route:
    return Route("/actor", partial(actor, kind=kind, fields=fields), methods=["GET", "HEAD"], name="actor")


async def health(request: Request) -> Response:
    services = services_of(request)
    try:
        async with services.store.read() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return JSONResponse({"status": "down", "error": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "kind": services.actor.name})
