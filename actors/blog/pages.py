"""The blog's pages: the post list, the editor, the post page with its allocation form."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors import audit
from actors.blog import comments
from actors.blog.allocation_states import AllocationState
from actors.blog.posts import (
    allocate,
    allocations_of,
    decide_event,
    delete_post,
    events_of,
    likes_of,
    pending_events_of,
    post_id,
    shares_of,
)
from actors.blog.site_pages import site_nav
from actors.context import Services
from actors.roles import EDITOR, requires
from actors.web import checked_form, holds, listing_page, redirect, render, services_of
from inbox.errors import FetchError
from store import collections, objects
from store.models import StoredObject


async def calendars_of_events_peer(services: Services) -> tuple[list[dict[str, Any]], str | None]:
    """The events peer's calendars, read from its calendars collection (signed GET)."""
    base = services.peers.get("events")
    if not base:
        return [], "No events peer is configured."
    try:
        page = await services.fetcher.get_json(f"{base}/calendars?page=true")
    except FetchError as exc:
        return [], f"The events calendar cannot be reached right now ({exc.reason})."
    items = page.get("orderedItems")
    calendars = [
        {"id": item["id"], "name": str(item.get("name") or item["id"])}
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]
    return calendars, None


async def post_state(services: Services, post: str) -> dict[str, Any]:
    async with services.store.read() as session:
        allocations = await collections.all_items(session, allocations_of(post))
        events = await collections.all_items(session, events_of(post))
    return {
        "allocations": [{"id": a.item, **(a.data or {})} for a in allocations],
        "events": [{"id": e.item, **(e.data or {})} for e in events],
    }


async def index(request: Request) -> Response:
    services = services_of(request)

    async def context() -> dict[str, Any]:
        async with services.store.read() as session:
            rows = await objects.of_type(session, services.actor.name, "Article")
        return {"posts": [row.data for row in rows if row.public], "site_nav": await site_nav(services)}

    if page := await listing_page(request, services, "blog/index.html", context):
        return page
    return render(request, services, "blog/index.html", await context())


async def _existing(services: Services, slug: str) -> StoredObject:
    async with services.store.read() as session:
        row = await objects.get(session, post_id(services, slug))
    if row is None or row.deleted_at is not None or row.type != "Article":
        raise HTTPException(404, "There is no such post.")
    return row


@requires(EDITOR)
async def delete(request: Request) -> Response:
    services = services_of(request)
    await checked_form(request, services)
    row = await _existing(services, request.path_params["slug"])
    async with services.store.write() as session:
        fresh = await objects.get(session, row.id)
        assert fresh is not None
        await delete_post(session, services, fresh)
        await audit.record_for(session, request, "post deleted", fresh.id)
    return redirect(request, services, "/")


@requires(EDITOR)
async def allocate_post(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    row = await _existing(services, request.path_params["slug"])
    calendar = str(form.get("calendar", ""))
    calendars, problem = await calendars_of_events_peer(services)
    events_actor = services.peer_actor("events")
    if problem or events_actor is None or calendar not in {c["id"] for c in calendars}:
        raise HTTPException(400, problem or "Choose one of the events peer's calendars.")
    async with services.store.write() as session:
        await allocate(session, services, row.id, calendar, events_actor)
        await audit.record_for(session, request, "post allocated", row.id, calendar)
    return redirect(request, services, f"/posts/{request.path_params['slug']}")


@requires(EDITOR)
async def decide_reply(request: Request) -> Response:
    """The editor lists, or refuses, a reply waiting under this post."""
    services = services_of(request)
    form = await checked_form(request, services)
    row = await _existing(services, request.path_params["slug"])
    async with services.store.write() as session:
        reply, approve = str(form.get("reply", "")), form.get("decision") == "approve"
        if not await comments.decide_reply(session, services, row.id, reply, approve):
            raise HTTPException(404, "That reply no longer waits.")
        await audit.record_for(session, request, "reply approved" if approve else "reply refused", reply, row.id)
    return redirect(request, services, f"/posts/{request.path_params['slug']}#replies")


@requires(EDITOR)
async def decide_listing(request: Request) -> Response:
    """The editor lists, or declines, an event another server announced featuring this post."""
    services = services_of(request)
    form = await checked_form(request, services)
    row = await _existing(services, request.path_params["slug"])
    async with services.store.write() as session:
        event, listing = str(form.get("event", "")), form.get("decision") == "list"
        if not await decide_event(session, services, row.id, event, listing):
            raise HTTPException(404, "That event no longer waits.")
        await audit.record_for(session, request, "event listed" if listing else "event declined", event, row.id)
    return redirect(request, services, f"/posts/{request.path_params['slug']}#events")


async def status(request: Request) -> Response:
    services = services_of(request)
    row = await _existing(services, request.path_params["slug"])
    state = await post_state(services, row.id)
    fields = {f"alloc:{a['id']}": a.get("state", AllocationState.PENDING.value) for a in state["allocations"]}
    return JSONResponse({"fields": fields, "events": len(state["events"]), **state})


ROUTES: tuple[Route, ...] = (
    Route("/", index),
    Route("/posts/{slug}/delete", delete, methods=["POST"]),
    Route("/posts/{slug}/allocate", allocate_post, methods=["POST"]),
    Route("/posts/{slug}/status", status),
    Route("/posts/{slug}/events/decide", decide_listing, methods=["POST"]),
    Route("/posts/{slug}/replies/decide", decide_reply, methods=["POST"]),
)


async def post_page(request: Request, services: Services, post: dict[str, Any]) -> Response:
    state = await post_state(services, post["id"])
    calendars, problem = await calendars_of_events_peer(services)
    names = {c["id"]: c["name"] for c in calendars}
    waiting: list[dict[str, Any]] = []
    waiting_replies: list[dict[str, Any]] = []
    async with services.store.read() as session:
        replies = await comments.listed(session, post["id"])
        likes = await collections.count(session, likes_of(post["id"]))
        shares = await collections.count(session, shares_of(post["id"]))
        if holds(request, services, EDITOR):
            items = await collections.all_items(session, pending_events_of(post["id"]))
            waiting = [{"id": i.item, **(i.data or {})} for i in items]
            waiting_replies = await comments.waiting_on(session, post["id"])
    return render(
        request,
        services,
        "blog/post.html",
        {
            "post": post,
            "calendars": calendars,
            "calendar_problem": problem,
            "calendar_names": names,
            "waiting_events": waiting,
            "replies": replies,
            "waiting_replies": waiting_replies,
            "likes": likes,
            "shares": shares,
            "site_nav": await site_nav(services),
            **state,
        },
    )
