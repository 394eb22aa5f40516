"""Client-to-server: the admin, or a member with a personal access token for this peer (peer/bearer.py), POSTs an
activity to the actor's outbox with a bearer token (ActivityPub §6).

A bare object is wrapped in a `Create` carrying the object's addressing (§6.2.1); the kind's handler makes the
activity; the answer is 201 with the new activity's id as `Location`. The addressing the client gave is
honoured or the request refused with the reason, before anything is stored. The activity is made in the actor's
name; the audit log records who asked for it, in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activities.errors import ActivityError
from activities.parse import load_json
from activities.vocab import ACTIVITY_TYPES, ADDRESS_FIELDS, JSON_MEDIA_TYPES
from actors import audit
from actors.context import emit_watcher
from actors.kind import C2SHandler, C2SKey
from actors.scopes import Scope
from actors.web import services_of
from inbox.errors import Unprocessable
from inbox.receive import read_capped
from outbox.addressing import addressing_refusal
from peer.bearer import holder_of
from peer.respond import error

MAX_BODY = 1024 * 1024


def as_activity(doc: dict[str, Any], actor: str) -> dict[str, Any]:
    """The activity a client means: a bare object becomes a `Create` of it, with the object's addressing."""
    kind = doc.get("type")
    if isinstance(kind, str) and kind in ACTIVITY_TYPES:
        return doc
    wrapped: dict[str, Any] = {"type": "Create", "actor": actor, "object": doc}
    for name in ADDRESS_FIELDS:
        if name in doc:
            wrapped[name] = doc[name]
    if "@context" in doc:
        wrapped["@context"] = doc["@context"]
    return wrapped


def requested_addressing(activity: dict[str, Any]) -> dict[str, Any]:
    """The addressing the client asked for: the activity's, and its embedded object's."""
    asked: dict[str, Any] = {}
    obj = activity.get("object")
    for source in (activity, obj if isinstance(obj, dict) else {}):
        for name in ADDRESS_FIELDS:
            value = source.get(name)
            if value:
                asked[name] = [*asked.get(name, []), *(value if isinstance(value, list) else [value])]
    return asked


async def post_to_outbox(
    request: Request, handlers: Mapping[C2SKey, C2SHandler], access: Scope | None = None
) -> Response:
    """Hand the activity to the kind's handler for its type; 201 with the Location of the activity it made."""
    services = services_of(request)
    holder = await holder_of(request, services, access)
    if isinstance(holder, Response):
        return holder
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_MEDIA_TYPES:
        return error(415, 'the body must be application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
    body = await read_capped(request, MAX_BODY)
    try:
        doc = as_activity(load_json(body), services.actor.id)
    except ActivityError as exc:
        return error(400, exc.reason)
    if doc.get("actor", services.actor.id) != services.actor.id:
        return error(403, f"this outbox posts only as {services.actor.id}")
    if isinstance(doc.get("object"), list):
        return error(422, "this outbox takes one object per activity: post one activity for each object")
    key = C2SKey.of(doc)
    handler = handlers.get(key)
    if handler is None:
        return error(422, f"this outbox does not take {key}")
    asked = requested_addressing(doc)
    made: list[dict[str, Any]] = []

    async def honour(db: AsyncSession, activity: dict[str, Any]) -> None:
        if not made:  # the first is the client's; later ones are its consequences (the kind's own rules)
            refusal = addressing_refusal(asked, activity)
            if refusal is not None:
                raise Unprocessable(refusal)  # inside the handler's transaction: nothing is stored
            await audit.record(db, holder, f"c2s {key}", str(activity.get("id", "")), services.clock())
        made.append(activity)

    watching = emit_watcher.set(honour)
    try:
        changed = await handler(request, services, doc)
    finally:
        emit_watcher.reset(watching)
    location = str(made[0]["id"]) if made else changed
    return JSONResponse({"id": location, "object": changed}, status_code=201, headers={"Location": location})


def outbox_post_route(handlers: Mapping[C2SKey, C2SHandler], access: Scope | None = None) -> Route:
    """`access`: the scope (and its role) a member's token needs here (the kind's `c2s_access`)."""
    endpoint = partial(post_to_outbox, handlers=handlers, access=access)
    return Route("/actor/outbox", endpoint, methods=["POST"], name="outbox_post")
