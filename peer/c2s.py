"""Client-to-server: the admin POSTs an activity to the actor's outbox with a bearer token."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activities.errors import ActivityError
from activities.parse import load_json
from actors.context import Services
from actors.kind import C2SKey, KindSetup
from inbox.receive import read_capped
from peer.respond import error


def outbox_post_route(services: Services, setup: KindSetup) -> Route:
    async def endpoint(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), services.admin_token.encode()):
            return error(401, "a bearer token is required", **{"WWW-Authenticate": 'Bearer realm="outbox"'})
        body = await read_capped(request, 1024 * 1024)
        try:
            doc = load_json(body)
        except ActivityError as exc:
            return error(400, exc.reason)
        key = C2SKey.of(doc)
        handler = setup.c2s.get(key)
        if handler is None:
            return error(422, f"this outbox does not take {key}")
        location = await handler(request, services, doc)
        return JSONResponse({"id": location}, status_code=201, headers={"Location": location})

    return Route("/actor/outbox", endpoint, methods=["POST"])
