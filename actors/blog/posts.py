"""Posts: write, edit, delete, allocate to a calendar. Each change is one transaction with its activity."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.article import article
from activities.build import activity, iso, tombstone
from activities.errors import ActivityError
from activities.text import slugify, text_to_html
from activities.vocab import PUBLIC
from actors import pending
from actors.blog import newsletter
from actors.blog.allocation_states import AllocationState
from actors.context import Services
from store import collections, objects
from store.models import StoredObject


def post_id(services: Services, slug: str) -> str:
    return services.actor.url(f"posts/{slug}")


def allocations_of(post: str) -> str:
    return f"{post}/allocations"


def events_of(post: str) -> str:
    return f"{post}/events"


def pending_events_of(post: str) -> str:
    """Events of untrusted actors featuring the post, waiting for the editor."""
    return f"{post}/events/pending"


def replies_of(post: str) -> str:
    """Replies from the fediverse the editor approved (served)."""
    return f"{post}/replies"


def pending_replies_of(post: str) -> str:
    """Replies waiting for the editor (never served)."""
    return f"{post}/replies/pending"


def likes_of(post: str) -> str:
    return f"{post}/likes"


def shares_of(post: str) -> str:
    return f"{post}/shares"


async def decide_event(session: AsyncSession, services: Services, post: str, event: str, accept: bool) -> bool:
    """The editor's answer to an event waiting to be listed on `post`; False when it no longer waits."""
    data = await pending.take(session, services, "events", pending_events_of(post), event, "actor")
    if data is None:
        return False
    if accept:
        await collections.add(session, events_of(post), event, services.clock(), data)
    return True


async def _free_slug(session: AsyncSession, services: Services, title: str) -> str:
    base = slugify(title)
    slug, n = base, 1
    while await objects.get(session, post_id(services, slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


async def create_post(
    session: AsyncSession, services: Services, title: str, body: str, slug: str | None = None
) -> dict[str, Any]:
    now = services.clock()
    slug = slugify(slug) if slug else await _free_slug(session, services, title)
    doc = article(
        post_id=post_id(services, slug),
        author=services.actor.id,
        title=title,
        content_html=text_to_html(body),
        published=iso(now),
        updated=None,
        followers=services.actor.followers,
        public=PUBLIC,
    )
    if await objects.get(session, doc["id"]) is not None:
        raise ActivityError(f"a post at {doc['id']} exists already")
    await objects.put(session, doc, actor=services.actor.name, now=now)
    await collections.add(session, services.actor.url("posts"), doc["id"], now)
    await services.emit(session, wrap(services, "Create", doc))
    await newsletter.send_post(session, services, doc)  # where a post is published: the subscribers' emails
    return doc


async def update_post(session: AsyncSession, services: Services, row: StoredObject, title: str, body: str) -> None:
    now = services.clock()
    doc = article(
        post_id=row.id,
        author=services.actor.id,
        title=title,
        content_html=text_to_html(body),
        published=row.data["published"],
        updated=iso(now),
        followers=services.actor.followers,
        public=PUBLIC,
    )
    await objects.put(session, doc, actor=services.actor.name, now=now)
    await services.emit(session, wrap(services, "Update", doc))


async def delete_post(session: AsyncSession, services: Services, row: StoredObject) -> None:
    now = services.clock()
    gone = tombstone(row.id, "Article", iso(now))
    gone.pop("@context")
    row.data, row.type, row.deleted_at, row.updated_at = gone, "Tombstone", now, now
    await collections.remove(session, services.actor.url("posts"), row.id)
    await services.emit(session, wrap(services, "Delete", gone))


def wrap(services: Services, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    return activity(
        kind, services.actor.new_activity_id(), services.actor.id, doc, to=[PUBLIC], cc=[services.actor.followers]
    )


async def allocate(session: AsyncSession, services: Services, post: str, calendar: str, events_actor: str) -> str:
    """Send `Add{object: post, target: calendar}` to the events actor; the allocation starts pending."""
    row = await objects.get(session, post)
    if row is None or row.deleted_at is not None or row.type != "Article":
        raise ActivityError("no such post")
    add_id = services.actor.new_activity_id()
    await services.emit(session, activity("Add", add_id, services.actor.id, post, target=calendar, to=[events_actor]))
    await collections.add(
        session,
        allocations_of(post),
        add_id,
        services.clock(),
        {"calendar": calendar, "state": AllocationState.PENDING.value},
    )
    return add_id
