"""The blog: posts as Articles, allocated to the events peer's calendars with `Add`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from activities.errors import ActivityError
from activities.parse import check_url, id_of
from actors import scopes
from actors.blog import approvals, comments, editor, feeds, ghost_pages, listeners, pages, site_pages, tags
from actors.blog.member_summary import register as member_summary
from actors.blog.newsletter_pages import NewsletterPages
from actors.blog.posts import allocate, create_post, delete_post, update_post
from actors.blog.schedule import keep_publishing
from actors.context import Services
from actors.kind import C2SKey, CollectionSpec, Kind, KindSetup, public_objects
from actors.roles import EDITOR
from inbox.errors import Malformed, Unprocessable
from store import objects


async def is_post_reactions(session: AsyncSession, services: Services, collection: str) -> bool:
    """`<post>/replies|likes|shares` of a published post."""
    return await comments.live_post(session, collection.rsplit("/", 1)[0])


async def seed(services: Services) -> None:
    async with services.store.write() as session:
        if not await objects.of_type(session, services.actor.name, "Article"):
            await create_post(
                session,
                services,
                "Welcome",
                "Welcome to the cooperative's blog.\n\nPosts here can be allocated to the events calendar, "
                "and events can feature them.",
                slug="welcome",
            )


async def c2s_create_article(request: Request, services: Services, doc: dict[str, Any]) -> str:
    obj = doc["object"]
    try:
        async with services.store.write() as session:
            post = await create_post(session, services, str(obj.get("name", "")), str(obj.get("content", "")))
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    return str(post["id"])


async def c2s_add(request: Request, services: Services, doc: dict[str, Any]) -> str:
    try:
        post = id_of(doc.get("object"), "object")
        calendar = check_url(id_of(doc.get("target"), "target"), "target")
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    events_actor = services.peer_actor("events")
    if events_actor is None:
        raise Unprocessable("no events peer is configured")
    try:
        async with services.store.write() as session:
            return await allocate(session, services, post, calendar, events_actor)
    except ActivityError as exc:
        raise Unprocessable(exc.reason) from None


async def _own_post(services: Services, doc: dict[str, Any]) -> str:
    try:
        post = id_of(doc.get("object"), "object")
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    async with services.store.read() as session:
        row = await objects.get(session, post)
    if row is None or row.type != "Article" or row.deleted_at is not None:
        raise Unprocessable("no such post here")
    return post


async def c2s_update_article(request: Request, services: Services, doc: dict[str, Any]) -> str:
    post = await _own_post(services, doc)
    obj = doc["object"]
    try:
        async with services.store.write() as session:
            row = await objects.get(session, post)
            assert row is not None
            title = obj.get("name", row.data.get("name"))
            await update_post(session, services, row, str(title), str(obj.get("content", row.data.get("content"))))
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    return post


async def c2s_delete(request: Request, services: Services, doc: dict[str, Any]) -> str:
    post = await _own_post(services, doc)
    async with services.store.write() as session:
        row = await objects.get(session, post)
        assert row is not None
        await delete_post(session, services, row)
    return post


def register(setup: KindSetup) -> None:
    member_summary(setup)  # the account service's view of a member, and their erasure
    listeners.register(setup.listeners)
    setup.routes += [*feeds.ROUTES, *editor.ROUTES, *tags.ROUTES, *site_pages.ROUTES, *NewsletterPages().routes()]
    setup.routes += ghost_pages.ROUTES
    setup.routes += pages.ROUTES
    setup.html["Article"] = pages.post_page
    setup.html["Page"] = site_pages.page_view
    setup.collections.append(CollectionSpec("/posts", embed=public_objects))
    setup.collections += [
        CollectionSpec("/posts/{slug}/replies", exists=is_post_reactions, embed=comments.reply_notes),
        CollectionSpec("/posts/{slug}/likes", exists=is_post_reactions),
        CollectionSpec("/posts/{slug}/shares", exists=is_post_reactions),
    ]
    setup.on_c2s(C2SKey("Create", "Article"), c2s_create_article).on_c2s(C2SKey("Add"), c2s_add)
    setup.on_c2s(C2SKey("Update", "Article"), c2s_update_article).on_c2s(C2SKey("Delete"), c2s_delete)
    setup.pending += [approvals.EVENTS, comments.REPLIES]
    setup.follower_trust = "Replies from a trusted follower are listed under the post without waiting for you."
    setup.on_start.append(seed)
    setup.tasks.append(lambda services: keep_publishing(services, services.due_check_seconds))


KIND = Kind(
    "blog",
    "Service",
    "Blog",
    "The cooperative's blog. Posts can be allocated to its events calendar.",
    register,
    nav=(("Posts", "/"),),
    c2s_access=scopes.BLOG_WRITE,
    staff_nav=(("Write", "/posts/new", EDITOR), ("Drafts", "/drafts", EDITOR), ("Pages", "/pages", EDITOR)),
)
