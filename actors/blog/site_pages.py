"""Static pages (About, Contact…) written in the same editor as posts, and the site navigation: the pages
the editor chose, in the order the editor gave. Pages are public at their ids but not federated."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activities.build import iso
from activities.errors import ActivityError
from activities.markdown import render_markdown
from activities.text import plain, slugify
from activities.vocab import PUBLIC
from actors import audit
from actors.context import Services
from actors.roles import EDITOR, requires
from actors.web import checked_form, redirect, render, services_of
from store import collections, objects
from store.models import StoredObject

MAX_NAV = 12


def page_id(services: Services, slug: str) -> str:
    return services.actor.url(f"pages/{slug}")


def navigation_of(services: Services) -> str:
    return services.actor.url("navigation")


async def navigation(session: AsyncSession, services: Services) -> list[dict[str, str]]:
    """The site navigation, in the editor's order: [{"name", "href"}]."""
    items = await collections.all_items(session, navigation_of(services), newest_first=False)
    rows = [await objects.get(session, i.item) for i in items]
    return [{"name": str(r.data["name"]), "href": r.id} for r in rows if r is not None and r.deleted_at is None]


async def site_nav(services: Services) -> list[dict[str, str]]:
    async with services.store.read() as session:
        return await navigation(session, services)


def page_document(
    services: Services, object_id: str, title: str, source: str, published: str, updated: str | None
) -> dict[str, Any]:
    prefix = services.actor.url("media/")
    doc: dict[str, Any] = {
        "id": object_id,
        "type": "Page",
        "attributedTo": services.actor.id,
        "name": plain(title, "title", 200),
        "content": render_markdown(source, prefix),
        "mediaType": "text/html",
        "source": {"content": source, "mediaType": "text/markdown"},
        "url": object_id,
        "published": published,
        "to": [PUBLIC],
    }
    if updated:
        doc["updated"] = updated
    return doc


async def save_page(
    session: AsyncSession, services: Services, row: StoredObject | None, title: str, source: str
) -> StoredObject:
    now = services.clock()
    if row is None:
        if not title.strip():
            raise ActivityError("Give the page a title.")
        slug, n = slugify(title), 1
        while await objects.get(session, page_id(services, slug)) is not None:
            n += 1
            slug = f"{slugify(title)}-{n}"
        doc = page_document(services, page_id(services, slug), title, source, iso(now), None)
    else:
        doc = page_document(services, row.id, title, source, str(row.data["published"]), iso(now))
    return await objects.put(session, doc, actor=services.actor.name, now=now)


async def order_navigation(session: AsyncSession, services: Services, chosen: list[str]) -> None:
    """The navigation becomes exactly `chosen` (page ids, in order)."""
    if len(chosen) > MAX_NAV:
        raise ActivityError(f"The navigation takes at most {MAX_NAV} pages.")
    for object_id in chosen:
        row = await objects.get(session, object_id)
        if row is None or row.type != "Page" or row.deleted_at is not None:
            raise ActivityError("Only the blog's own pages can be in the navigation.")
    if len(set(chosen)) != len(chosen):
        raise ActivityError("Each page can be in the navigation once.")
    current = [i.item for i in await collections.all_items(session, navigation_of(services))]
    await collections.remove_many(session, navigation_of(services), current)
    now = services.clock()
    for object_id in chosen:
        await collections.add(session, navigation_of(services), object_id, now)


def _chosen(services: Services, form: FormData, pages: list[StoredObject]) -> list[str]:
    """The pages ticked for the navigation, ordered by their position field (ties keep the list's order)."""
    picked: list[tuple[int, int, str]] = []
    for index, row in enumerate(pages):
        slug = row.id.rsplit("/", 1)[-1]
        if form.get(f"nav:{slug}") is None:
            continue
        raw = str(form.get(f"position:{slug}", "") or index + 1)
        if not raw.isdigit() or not 0 < int(raw) <= 1000:
            raise ActivityError("A position is a whole number from 1 to 1000.")
        picked.append((int(raw), index, row.id))
    return [object_id for _, _, object_id in sorted(picked)]


async def _pages(session: AsyncSession, services: Services) -> list[StoredObject]:
    return list(reversed(await objects.of_type(session, services.actor.name, "Page")))


@requires(EDITOR)
async def pages_admin(request: Request) -> Response:
    services = services_of(request)
    error = None
    async with services.store.read() as session:
        pages = await _pages(session, services)
        nav = [n["href"] for n in await navigation(session, services)]
    if request.method == "POST":
        form = await checked_form(request, services)
        try:
            chosen = _chosen(services, form, pages)
            async with services.store.write() as session:
                await order_navigation(session, services, chosen)
                await audit.record_for(session, request, "navigation changed", services.actor.url(""), " ".join(chosen))
            return redirect(request, services, "/pages")
        except ActivityError as exc:
            error = exc.reason
    listed = [
        {
            "id": r.id,
            "slug": r.id.rsplit("/", 1)[-1],
            "name": r.data["name"],
            "position": nav.index(r.id) + 1 if r.id in nav else None,
        }
        for r in pages
    ]
    return render(request, services, "blog/pages.html", {"pages": listed, "error": error}, 400 if error else 200)


async def _existing(services: Services, slug: str) -> StoredObject:
    async with services.store.read() as session:
        row = await objects.get(session, page_id(services, slug))
    if row is None or row.type != "Page" or row.deleted_at is not None:
        raise HTTPException(404, "There is no such page.")
    return row


@requires(EDITOR)
async def page_editor(request: Request) -> Response:
    services = services_of(request)
    slug = request.path_params.get("slug")
    row = await _existing(services, slug) if slug else None
    form: dict[str, Any] = {}
    if row is not None:
        form = {"title": row.data["name"], "body": row.data.get("source", {}).get("content", "")}
    if request.method == "POST":
        posted = await checked_form(request, services)
        try:
            async with services.store.write() as session:
                fresh = await objects.get(session, row.id) if row is not None else None
                saved = await save_page(
                    session, services, fresh, str(posted.get("title", "")), str(posted.get("body", ""))
                )
                action = "page created" if fresh is None else "page updated"
                await audit.record_for(session, request, action, saved.id, str(saved.data.get("name", "")))
            return redirect(request, services, saved.id.removeprefix(services.actor.base_url))
        except ActivityError as exc:
            return render(
                request,
                services,
                "blog/page_edit.html",
                {"page": row.data if row else None, "form": posted, "error": exc.reason},
                400,
            )
    return render(
        request, services, "blog/page_edit.html", {"page": row.data if row else None, "form": form, "error": None}
    )


async def page_view(request: Request, services: Services, page: dict[str, Any]) -> Response:
    return render(request, services, "blog/page.html", {"page": page, "site_nav": await site_nav(services)})


ROUTES: tuple[Route, ...] = (
    Route("/pages", pages_admin, methods=["GET", "POST"]),
    Route("/pages/new", page_editor, methods=["GET", "POST"]),
    Route("/pages/{slug}/edit", page_editor, methods=["GET", "POST"]),
)
