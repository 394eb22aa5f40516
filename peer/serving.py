"""Serve stored objects and collections at their ids, AS2 JSON or HTML by content negotiation.

Private objects (an order, an offer) are served only to a reader that proves who it is with a signed
GET (an addressee, or a follower when addressed to the followers), to the kind's staff (a session holding the
kind's role, or the admin bearer token), or to a browser holding the object's capability link."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from activities.build import ordered_collection, ordered_collection_page, public_view, with_context
from actors.context import Services
from actors.kind import CollectionSpec, HtmlRenderer
from actors.web import has_admin_bearer, holds, render, services_of
from inbox.errors import InboxError
from inbox.signatures import SignedRequest, verify
from peer.respond import ActivityJSONResponse, error, wants_json
from store import collections, objects, redirects
from store.models import StoredObject

PAGE_SIZE = 20


async def signed_reader(request: Request, services: Services) -> str | None:
    """The actor id behind a valid signed GET, or None when the request is not signed."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    if "signature" not in headers and "signature-input" not in headers:
        return None
    signed = SignedRequest(
        method="GET",
        url=services.actor.base_url + request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        path=request.url.path,
        query=request.url.query,
        headers=headers,
        body=b"",
    )
    verified = await verify(signed, services.directory.key, services.clock())
    return verified.owner


async def may_read(
    session: AsyncSession, row: StoredObject, reader: str | None, token: str | None, services: Services, admin: bool
) -> bool:
    """Public objects for anyone; addressed ones for an addressee's signed GET (a follower's, when addressed
    to our followers), for the author (the admin's session or bearer token) and for the capability link."""
    if row.public or admin:
        return True
    readers = row.readers or []
    if reader and (reader == services.actor.id or reader in readers):
        return True
    followers = services.actor.followers
    if reader and followers in readers and await collections.contains(session, followers, reader):
        return True
    return bool(token and row.capability and hmac.compare_digest(token, row.capability))


async def serve_object(request: Request, html: Mapping[str, HtmlRenderer]) -> Response:
    """A stored object at its id: AS2 JSON, or HTML through the kind's renderer for its type."""
    services = services_of(request)
    object_id = services.actor.base_url + request.url.path
    async with services.store.read() as session:
        row = await objects.get(session, object_id)
        moved_to = await redirects.target(session, object_id) if row is None else None
    if moved_to is not None:
        return RedirectResponse(moved_to, status_code=301, headers={"Vary": "Accept"})
    if row is None:
        raise HTTPException(404, "not found")  # a page for a browser, JSON for a client, as every error
    try:
        reader = await signed_reader(request, services)
    except InboxError as exc:
        return error(exc.status, exc.reason)
    admin = holds(request, services, services.site.kind_role) or has_admin_bearer(request, services)
    readable = row.public or admin  # most reads: no second look at the store
    if not readable:
        async with services.store.read() as session:
            readable = await may_read(session, row, reader, request.query_params.get("token"), services, admin)
    if not readable:
        raise HTTPException(404, "not found")
    if row.deleted_at is not None:
        if wants_json(request):
            return ActivityJSONResponse(with_context(row.data), status_code=410)
        raise HTTPException(410, "deleted")
    if wants_json(request):
        return ActivityJSONResponse(with_context(public_view(row.data)), headers={"Vary": "Accept"})
    renderer = html.get(row.type)
    if renderer is not None:
        return await renderer(request, services, row.data)
    return render(request, services, "layout/object.html", {"object": public_view(row.data)})


def object_route(html: Mapping[str, HtmlRenderer]) -> Route:
    return Route("/{path:path}", partial(serve_object, html=html), methods=["GET", "HEAD"], name="object")


async def serve_collection(request: Request, spec: CollectionSpec) -> Response:
    """A collection as an AS2 OrderedCollection, keyset-paged; a browser gets the spec's page if it has one."""
    if spec.html is not None and not wants_json(request):
        return await spec.html(request)
    services = services_of(request)
    if not spec.public and not (
        holds(request, services, services.site.kind_role) or has_admin_bearer(request, services)
    ):
        return error(404, "no such collection")  # not even whether it exists, to anyone else
    collection_id = services.actor.base_url + request.url.path
    params = request.query_params
    try:
        before = parse_cursor(params.get("before"))
        after = parse_cursor(params.get("after"))
    except ValueError:
        return error(400, "before/after must be whole numbers from 0 to 2^63 - 1")
    async with services.store.read() as session:
        if spec.exists is not None and not await spec.exists(session, services, collection_id):
            return error(404, "no such collection")
        total = await collections.count(session, collection_id)
        extra = await spec.extra(session, services, collection_id) if spec.extra else {}
        paged = "page" in params or before is not None or after is not None
        if paged:
            page = await collections.page(session, collection_id, before=before, after=after, size=PAGE_SIZE)
            ids = [item.item for item in page.items]
            embedded = await spec.embed(session, services, ids) if spec.embed else ids
    if not paged:
        doc = ordered_collection(collection_id, total, f"{collection_id}?page=true", **extra)
    else:
        page_id = f"{collection_id}?" + (
            f"before={before}" if before is not None else f"after={after}" if after is not None else "page=true"
        )
        doc = ordered_collection_page(
            page_id,
            collection_id,
            embedded,
            total=total,
            next_page=f"{collection_id}?before={page.next_cursor}" if page.next_cursor else None,
            prev_page=f"{collection_id}?after={page.prev_cursor}" if page.prev_cursor else None,
        )
    if wants_json(request):
        return ActivityJSONResponse(doc, headers={"Vary": "Accept"})
    return render(request, services, "layout/collection.html", {"collection": doc})


MAX_CURSOR = 2**63 - 1  # a BIGINT: anything larger would overflow in the store's query


def parse_cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > MAX_CURSOR:
        raise ValueError(value)
    return int(value)


def collection_route(spec: CollectionSpec) -> Route:
    return Route(spec.path, partial(serve_collection, spec=spec), methods=["GET", "HEAD"], name="collection")
