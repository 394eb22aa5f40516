"""Client-to-server: the admin POSTs an activity to the actor's outbox with a bearer token."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activities.errors import ActivityError
from activities.parse import load_json
from actors.kind import C2SHandler, C2SKey
from actors.web import has_admin_bearer, services_of
from inbox.receive import read_capped
from peer.respond import error


async def post_to_outbox(request: Request, handlers: Mapping[C2SKey, C2SHandler]) -> Response:
    """Hand the activity to the kind's handler for its type; 201 with the Location of what it made."""
    services = services_of(request)
    if not has_admin_bearer(request, services):
        return error(401, "a bearer token is required", **{"WWW-Authenticate": 'Bearer realm="outbox"'})
    body = await read_capped(request, 1024 * 1024)
    try:
        doc = load_json(body)
    except ActivityError as exc:
        return error(400, exc.reason)
    key = C2SKey.of(doc)
    handler = handlers.get(key)
    if handler is None:
        return error(422, f"this outbox does not take {key}")
    location = await handler(request, services, doc)
    return JSONResponse({"id": location}, status_code=201, headers={"Location": location})


def outbox_post_route(handlers: Mapping[C2SKey, C2SHandler]) -> Route:
    return Route("/actor/outbox", partial(post_to_outbox, handlers=handlers), methods=["POST"], name="outbox_post")
