"""The editor's pages: write in Markdown with a live preview and autosaved drafts; publish now, at a time,
or keep the draft. The toolbar, preview and autosave are /static/editor.js (served by us, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activities.errors import ActivityError
from activities.markdown import render_markdown
from actors import audit
from actors.blog import drafts
from actors.blog.drafts import PostInput, is_draft, slug_of
from actors.blog.posts import post_id
from actors.blog.tags import names_of
from actors.context import Services
from actors.roles import EDITOR, requires
from actors.web import checked_form, redirect, render, services_of
from store import objects
from store.models import StoredObject

ACTIONS = ("publish", "draft", "schedule", "update")


def _input(form: FormData) -> PostInput:
    return PostInput.from_form(
        str(form.get("title", "")), str(form.get("body", "")), str(form.get("tags", "")), str(form.get("slug", ""))
    )


def due_time(value: str, offset_minutes: str) -> float:
    """`publish_at` from a datetime-local field, in the browser's time zone (`tz_offset` as JavaScript's
    getTimezoneOffset gives it; UTC when the page ran no script)."""
    try:
        local = datetime.fromisoformat(value)
        offset = int(offset_minutes or 0)
    except ValueError:
        raise ActivityError("Give the date and time to publish at.") from None
    if not -900 <= offset <= 900:
        raise ActivityError("The time zone offset is out of range.")
    if local.tzinfo is None:
        local = local.replace(tzinfo=UTC) + timedelta(minutes=offset)
    return local.timestamp()


def _view(services: Services, row: StoredObject | None, due: float | None) -> dict[str, Any]:
    if row is None:
        return {"post": None, "slug": "", "draft": True, "due": None}
    due_text = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%d %H:%M UTC") if due else None
    return {"post": row.data, "slug": slug_of(services, row.id), "draft": is_draft(row), "due": due_text}


def _form_of(row: StoredObject | None) -> dict[str, str]:
    if row is None:
        return {}
    source = row.data.get("source")
    body = source.get("content") if isinstance(source, dict) else row.data.get("content")
    return {"title": str(row.data.get("name", "")), "body": str(body or ""), "tags": ", ".join(names_of(row.data))}


def _page(
    request: Request,
    services: Services,
    row: StoredObject | None,
    due: float | None,
    form: Any,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        **_view(services, row, due),
        "form": form or _form_of(row),
        "error": error,
        "saved": request.query_params.get("saved"),
    }
    return render(request, services, "blog/edit.html", context, status)


async def _existing(services: Services, slug: str) -> tuple[StoredObject, float | None]:
    async with services.store.read() as session:
        row = await objects.get(session, post_id(services, slug))
        due = await drafts.scheduled_at(session, row.id) if row is not None else None
    if row is None or row.deleted_at is not None or row.type != "Article":
        raise HTTPException(404, "There is no such post.")
    return row, due


async def _save(
    request: Request, services: Services, row: StoredObject | None, form: FormData
) -> tuple[StoredObject, str]:
    """Apply the form: save (a new draft, or the post's new text), then do what its button says."""
    action = str(form.get("action") or ("update" if row is not None and not is_draft(row) else "publish"))
    if action not in ACTIONS:
        raise ActivityError("Choose to publish, schedule or save the draft.")
    post = _input(form)
    async with services.store.write() as session:
        saved = (
            await drafts.save_draft(session, services, post)
            if row is None
            else await drafts.revise(session, services, await _fresh(session, row.id), post)
        )
        if is_draft(saved):
            if action == "publish":
                saved = await drafts.publish(session, services, saved)
                await audit.record_for(session, request, "post published", saved.id, str(saved.data.get("name", "")))
            elif action == "schedule":
                due = due_time(str(form.get("publish_at", "")), str(form.get("tz_offset", "")))
                await drafts.schedule(session, services, saved, due)
                when = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%d %H:%M UTC")
                await audit.record_for(session, request, "post scheduled", saved.id, f"to publish at {when}")
            else:
                await drafts.unschedule(session, saved)
        else:
            await audit.record_for(session, request, "post updated", saved.id, str(saved.data.get("name", "")))
    return saved, action


async def _fresh(session: Any, object_id: str) -> StoredObject:
    row = await objects.get(session, object_id)
    if row is None:
        raise ActivityError("The post was deleted meanwhile.")
    return row


def _after(services: Services, row: StoredObject, action: str) -> str:
    slug = slug_of(services, row.id)
    if action in ("publish", "update"):
        return f"/posts/{slug}"
    return f"/posts/{slug}/edit?saved={action}"


@requires(EDITOR)
async def new_post(request: Request) -> Response:
    return _page(request, services_of(request), None, None, {})


@requires(EDITOR)
async def create(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    try:
        row, action = await _save(request, services, None, form)
    except ActivityError as exc:
        return _page(request, services, None, None, form, exc.reason, 400)
    return redirect(request, services, _after(services, row, action))


@requires(EDITOR)
async def edit(request: Request) -> Response:
    services = services_of(request)
    row, due = await _existing(services, request.path_params["slug"])
    if request.method == "GET":
        return _page(request, services, row, due, None)
    form = await checked_form(request, services)
    try:
        saved, action = await _save(request, services, row, form)
    except ActivityError as exc:
        return _page(request, services, row, due, form, exc.reason, 400)
    return redirect(request, services, _after(services, saved, action))


@requires(EDITOR)
async def preview(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    try:
        html = render_markdown(str(form.get("body", "")), services.actor.url("media/"))
    except ActivityError as exc:
        return JSONResponse({"error": exc.reason}, status_code=400)
    return JSONResponse({"html": html}, headers={"Cache-Control": "no-store"})


@requires(EDITOR)
async def autosave(request: Request) -> Response:
    """Save the text as a draft while the editor types: a new post becomes a draft at its slug; a published
    post is not changed (its edits are sent when saved), so the browser keeps them instead."""
    services = services_of(request)
    form = await checked_form(request, services)
    slug = str(form.get("post", ""))
    try:
        post = _input(form)
        async with services.store.write() as session:
            row = await objects.get(session, post_id(services, slug)) if slug else None
            if row is not None and not is_draft(row):
                return JSONResponse({"saved": False, "reason": "A published post changes only when you save it."})
            saved = (
                await drafts.save_draft(session, services, post)
                if row is None
                else await drafts.revise(session, services, row, PostInput(post.title, post.source, post.tags, None))
            )
    except ActivityError as exc:
        return JSONResponse({"saved": False, "reason": exc.reason}, status_code=400)
    slug = slug_of(services, saved.id)
    return JSONResponse(
        {"saved": True, "post": slug, "edit": f"/posts/{slug}/edit"}, headers={"Cache-Control": "no-store"}
    )


@requires(EDITOR)
async def drafts_page(request: Request) -> Response:
    services = services_of(request)
    async with services.store.read() as session:
        listed = await drafts.drafts(session, services)
    items = [{**_view(services, row, due), "id": row.id} for row, due in listed]
    return render(request, services, "blog/drafts.html", {"drafts": items})


ROUTES: tuple[Route, ...] = (
    Route("/posts/new", new_post),
    Route("/posts", create, methods=["POST"]),
    Route("/posts/preview", preview, methods=["POST"]),
    Route("/posts/autosave", autosave, methods=["POST"]),
    Route("/drafts", drafts_page),
    Route("/posts/{slug}/edit", edit, methods=["GET", "POST"]),
)
