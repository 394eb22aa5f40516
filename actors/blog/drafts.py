"""A post's life from the editor: a draft (neither public nor federated), published now or at a set time,
edited, and moved when its slug changes (the old address answers 301)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.article import article
from activities.build import iso
from activities.errors import ActivityError
from activities.markdown import image_links, render_markdown
from activities.text import plain, slugify
from activities.vocab import PUBLIC
from actors.blog import newsletter
from actors.blog.comments import has_reactions
from actors.blog.posts import allocations_of, events_of, post_id, wrap
from actors.blog.tags import hashtags, parse_tags
from actors.context import Services
from media.library import attachment
from store import collections, objects, redirects
from store.models import MediaFile, ScheduledPublication, StoredObject


@dataclass(frozen=True)
class PostInput:
    """What the editor's form says; checked by `from_form`."""

    title: str
    source: str
    tags: list[str]
    slug: str | None = None

    @classmethod
    def from_form(cls, title: str, source: str, tags: str = "", slug: str = "") -> PostInput:
        if not title.strip():
            raise ActivityError("Give the post a title.")
        return cls(title, source.replace("\r\n", "\n"), parse_tags(tags), slugify(slug) if slug.strip() else None)


def slug_of(services: Services, object_id: str) -> str:
    return object_id.removeprefix(services.actor.url("posts/"))


def is_draft(row: StoredObject) -> bool:
    return not row.public and "published" not in row.data


async def _attachments(session: AsyncSession, services: Services, source: str) -> list[dict[str, Any]]:
    """Our own uploaded images the text shows, as the post's `Image` attachments; each described by the alt
    text the post gives it (one picture can mean different things in two posts), else by its upload's."""
    prefix = services.actor.url("media/")
    found: list[dict[str, Any]] = []
    for link, alt in image_links(source):
        if not link.startswith(prefix):
            continue
        row = await session.get(MediaFile, link.removeprefix(prefix).split("-", 1)[0])
        if row is None or any(a["url"] == attachment(row, services.actor.base_url)["url"] for a in found):
            continue
        image = attachment(row, services.actor.base_url)
        found.append({**image, "name": plain(alt, "alt text", 1500, required=False) or image["name"]})
    return found


async def document(
    session: AsyncSession,
    services: Services,
    object_id: str,
    post: PostInput,
    published: str | None,
    updated: str | None,
) -> dict[str, Any]:
    return article(
        post_id=object_id,
        author=services.actor.id,
        title=post.title,
        content_html=render_markdown(post.source, services.actor.url("media/")),
        published=published,
        updated=updated,
        followers=services.actor.followers,
        public=PUBLIC,
        source=post.source,
        tags=hashtags(services, post.tags),
        attachments=await _attachments(session, services, post.source),
        image_prefix=services.actor.url("media/"),
    )


async def free_slug(session: AsyncSession, services: Services, wanted: str, current: str | None = None) -> str:
    slug, n = wanted, 1
    while True:
        candidate = post_id(services, slug)
        if candidate == current:
            return slug
        if await objects.get(session, candidate) is None and await redirects.target(session, candidate) is None:
            return slug
        n += 1
        slug = f"{wanted}-{n}"


async def save_draft(session: AsyncSession, services: Services, post: PostInput) -> StoredObject:
    """A new draft: stored, not listed, not sent anywhere."""
    slug = await free_slug(session, services, post.slug or slugify(post.title))
    doc = await document(session, services, post_id(services, slug), post, None, None)
    return await objects.put(session, doc, actor=services.actor.name, now=services.clock(), public=False)


async def revise(session: AsyncSession, services: Services, row: StoredObject, post: PostInput) -> StoredObject:
    """The editor saves an existing post: a draft stays one; a published post sends its `Update`."""
    if post.slug and post.slug != slug_of(services, row.id):
        row = await _move(session, services, row, post.slug)
    now = services.clock()
    if is_draft(row):
        doc = await document(session, services, row.id, post, None, None)
        return await objects.put(session, doc, actor=services.actor.name, now=now, public=False)
    doc = await document(session, services, row.id, post, row.data.get("published"), iso(now))
    saved = await objects.put(session, doc, actor=services.actor.name, now=now)
    await services.emit(session, wrap(services, "Update", doc))
    return saved


async def publish(session: AsyncSession, services: Services, row: StoredObject) -> StoredObject:
    """A draft goes public and federates (`Create`); its schedule, if it had one, is done."""
    if not is_draft(row):
        raise ActivityError("This post is published already.")
    now = services.clock()
    doc = {**row.data, "published": iso(now)}
    saved = await objects.put(session, doc, actor=services.actor.name, now=now)
    await collections.add(session, services.actor.url("posts"), row.id, now)
    await session.execute(delete(ScheduledPublication).where(ScheduledPublication.object_id == row.id))
    await services.emit(session, wrap(services, "Create", doc))
    await newsletter.send_post(session, services, doc)  # the subscribers' emails, in the publishing transaction
    return saved


async def schedule(session: AsyncSession, services: Services, row: StoredObject, due_at: float) -> None:
    if not is_draft(row):
        raise ActivityError("This post is published already; only a draft can be scheduled.")
    if due_at <= services.clock():
        raise ActivityError("Choose a time in the future to publish at (or publish now).")
    existing = await session.get(ScheduledPublication, row.id)
    if existing is None:
        session.add(
            ScheduledPublication(
                object_id=row.id, actor=services.actor.name, due_at=due_at, created_at=services.clock()
            )
        )
    else:
        existing.due_at = due_at
    await session.flush()
    services.after_commit_ring(session, services.due_work)  # the publishing task sleeps until the next due post


async def unschedule(session: AsyncSession, row: StoredObject) -> None:
    await session.execute(delete(ScheduledPublication).where(ScheduledPublication.object_id == row.id))


async def scheduled_at(session: AsyncSession, object_id: str) -> float | None:
    found = await session.get(ScheduledPublication, object_id)
    return found.due_at if found is not None else None


async def drafts(session: AsyncSession, services: Services) -> list[tuple[StoredObject, float | None]]:
    """The editor's drafts, newest first, each with the time it is scheduled for."""
    rows = [r for r in await objects.of_type(session, services.actor.name, "Article") if is_draft(r)]
    plans = await session.execute(select(ScheduledPublication.object_id, ScheduledPublication.due_at))
    due = {object_id: at for object_id, at in plans.all()}
    return [(r, due.get(r.id)) for r in rows]


async def _move(session: AsyncSession, services: Services, row: StoredObject, slug: str) -> StoredObject:
    """The post moves to its new slug; its old address is kept as a redirect."""
    old = row.id
    if await collections.count(session, allocations_of(old)) or await collections.count(session, events_of(old)):
        raise ActivityError("This post is allocated to a calendar, so its address cannot change.")
    if await has_reactions(session, old):  # the fediverse knows them by the post's id
        raise ActivityError("This post has replies, likes or shares from the fediverse, so its address cannot change.")
    new = post_id(services, await free_slug(session, services, slug, old))
    now = services.clock()
    moved = await objects.put(
        session, {**row.data, "id": new, "url": new}, actor=services.actor.name, now=now, public=row.public
    )
    moved.created_at = row.created_at
    if await collections.contains(session, services.actor.url("posts"), old):
        await collections.remove(session, services.actor.url("posts"), old)
        await collections.add(session, services.actor.url("posts"), new, now)
    plan = await session.get(ScheduledPublication, old)
    if plan is not None:
        session.add(
            ScheduledPublication(object_id=new, actor=plan.actor, due_at=plan.due_at, created_at=plan.created_at)
        )
        await session.delete(plan)
    await session.delete(row)
    await session.flush()
    await redirects.moved(session, old, new, now)
    return moved
