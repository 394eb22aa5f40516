"""Replies from the fediverse to our posts: a `Create(Note)` with `inReplyTo` a post waits for the editor (a
trusted follower's is listed at once); its author alone may `Update` or `Delete` it.

A reply is kept as the item of a collection, with the fields the page shows: `<post>/replies` (listed, served)
and `<post>/replies/pending` (waiting, bounded per actor and host by actors/pending.py, never served)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.errors import ActivityError
from activities.reply import author_fields, icon_url, in_reply_to, reply_fields, reply_note
from activities.text import plain
from actors import pending, trust
from actors.blog.posts import likes_of, pending_replies_of, post_id, replies_of, shares_of
from actors.context import Context, Services
from actors.kind import PendingQueue, Waiting
from inbox.dispatch import Outcome
from inbox.errors import FetchError, Forbidden, Unprocessable, unfetchable
from inbox.trust import check_attribution
from media.errors import MediaError
from media.images import Limits
from media.library import full_name
from store import collections, objects
from store.models import CollectionItem

log = logging.getLogger(__name__)

QUEUE = "replies"
AVATAR_LIMITS = Limits(max_bytes=1024 * 1024, max_pixels=4_000_000, widths=(96,))


LISTED, WAITING = replies_of(""), pending_replies_of("")


async def live_post(session: AsyncSession, post: str) -> bool:
    row = await objects.get(session, post)
    return row is not None and row.type == "Article" and row.deleted_at is None and row.public


async def has_reactions(session: AsyncSession, post: str) -> bool:
    """Replies (listed or waiting), likes or shares of the post."""
    for collection in (replies_of(post), pending_replies_of(post), likes_of(post), shares_of(post)):
        if await collections.count(session, collection):
            return True
    return False


def ours(services: Services, target: str | None) -> bool:
    """Whether `target` could be one of our posts, judged by its address alone (no look-up)."""
    return bool(target) and str(target).startswith(post_id(services, ""))


async def on_reply(ctx: Context) -> Outcome:
    services = ctx.services
    note = ctx.activity.object_doc or {}
    post = in_reply_to(note)
    if post is None or not ours(services, post):
        return Outcome.IGNORED  # a reply to something else: nothing of ours to look up
    check_attribution(ctx.activity, note.get("attributedTo"))
    fields = reply_fields(note)
    async with services.store.read() as session:
        if not await live_post(session, post):
            raise Unprocessable("the reply answers no post here")
    try:
        author = await services.directory.actor(ctx.activity.actor)
    except FetchError as exc:
        raise Unprocessable(unfetchable("the reply's author", exc)) from None
    kept = {**fields, **author_fields(author.id, author.data), "post": post}
    icon = icon_url(author.data)
    picture = await fetch_avatar(services, icon) if icon else None
    async with ctx.transaction() as session:
        if not await live_post(session, post):
            raise Unprocessable("the reply answers no post here")
        if await collections.holding(session, fields["id"], prefix=post, suffix="/replies") or (
            await collections.contains(session, pending_replies_of(post), fields["id"])
        ):
            return Outcome.PROCESSED  # the same reply again: kept once
        kept["avatar"] = await keep_avatar(session, services, picture, kept["name"]) if picture else ""
        if await trust.is_trusted_follower(session, services.actor, ctx.activity.actor):
            await collections.add(session, replies_of(post), fields["id"], ctx.now, kept)
            return Outcome.PROCESSED
        try:
            await pending.hold(session, services, QUEUE, ctx.activity.actor, "replies")
        except pending.TooManyPending as exc:
            raise Unprocessable(exc.reason) from None
        await collections.add(session, pending_replies_of(post), fields["id"], ctx.now, kept)
    return Outcome.PROCESSED


async def fetch_avatar(services: Services, icon: str) -> bytes | None:
    """The author's avatar, fetched through the guarded transport (before the transaction, as every look-up);
    None when it cannot be had: the reply is kept without it."""
    try:
        return await services.fetcher.get_image(icon)
    except FetchError as exc:
        log.info("no avatar from %s: %s", icon, exc)
        return None


async def keep_avatar(session: AsyncSession, services: Services, picture: bytes, name: str) -> str:
    """The avatar copied to our media (decoded, re-encoded at 96 px), so the page shows it from its own origin:
    its policy allows no other, and a reader's browser never tells the author's server who reads. '' when it is
    not an image we accept."""
    media = dataclasses.replace(services.media, limits=AVATAR_LIMITS)
    try:
        row = await media.upload(session, services.actor.name, picture, f"avatar of {name}", services.clock())
    except MediaError as exc:
        log.info("an avatar refused: %s", exc)
        return ""
    return services.actor.url(f"media/{full_name(row)}")


async def _places(session: AsyncSession, services: Services, note: str) -> list[str]:
    prefix = post_id(services, "")
    return await collections.holding(session, note, prefix=prefix, suffix=LISTED) + await collections.holding(
        session, note, prefix=prefix, suffix=WAITING
    )


async def holds(services: Services, note: str) -> bool:
    async with services.store.read() as session:
        return bool(await _places(session, services, note))


async def _owned_places(session: AsyncSession, ctx: Context, note: str) -> list[tuple[str, dict[str, Any]]]:
    """Where the reply is kept, each with its data; Forbidden unless the activity's actor wrote it."""
    found = []
    for place in await _places(session, ctx.services, note):
        item = await collections.get(session, place, note)
        data = dict(item.data or {}) if item else {}
        if data.get("actor") != ctx.activity.actor:
            raise Forbidden("only the reply's author may change or delete it")
        found.append((place, data))
    return found


async def on_reply_updated(ctx: Context) -> Outcome:
    note = ctx.activity.object_doc or {}
    if not await holds(ctx.services, ctx.activity.object_id):
        return Outcome.IGNORED  # an edit of some other note: not ours to judge
    check_attribution(ctx.activity, note.get("attributedTo"))
    fields = reply_fields(note)
    async with ctx.transaction() as session:
        for place, data in await _owned_places(session, ctx, fields["id"]):
            data.update(content=fields["content"], updated=fields["updated"] or data.get("updated", ""))
            await collections.set_data(session, place, fields["id"], data)
    return Outcome.PROCESSED


async def on_reply_deleted(ctx: Context) -> Outcome:
    note = ctx.activity.object_id
    async with ctx.transaction() as session:
        for place, _ in await _owned_places(session, ctx, note):
            await collections.remove(session, place, note)
            if place.endswith(WAITING):
                await pending.release(session, ctx.services, QUEUE, ctx.activity.actor)
    return Outcome.PROCESSED


async def decide_reply(session: AsyncSession, services: Services, post: str, note: str, accept: bool) -> bool:
    """The editor's answer to a waiting reply; False when it no longer waits."""
    data = await pending.take(session, services, QUEUE, pending_replies_of(post), note, "actor")
    if data is None:
        return False
    if accept:
        await collections.add(session, replies_of(post), note, services.clock(), data)
    return True


async def waiting_replies(session: AsyncSession, services: Services) -> list[Waiting]:
    rows = await session.scalars(
        select(CollectionItem)
        .where(CollectionItem.collection.like(f"{post_id(services, '')}%{WAITING}"))
        .order_by(CollectionItem.seq)
    )
    found = []
    for row in rows:
        data = row.data or {}
        post = row.collection.removesuffix(WAITING)
        gist = _gist(str(data.get("content", "")))
        found.append(Waiting(row.item, str(data.get("actor", "")), post, f"“{gist}” on {post}"))
    return found


def _gist(content: str, limit: int = 140) -> str:
    try:
        text = plain(content, "reply", len(content) + 1, required=False)
    except ActivityError:
        text = ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def answer_reply(session: AsyncSession, services: Services, waiting: Waiting, accept: bool) -> bool:
    return await decide_reply(session, services, waiting.place, waiting.item, accept)


REPLIES = PendingQueue(QUEUE, "Replies to our posts, waiting for the editor", waiting_replies, answer_reply)


async def listed(session: AsyncSession, post: str) -> list[dict[str, Any]]:
    """The post's approved replies, oldest first, as the page shows them."""
    return [{"id": i.item, **(i.data or {})} for i in await collections.all_items(session, replies_of(post), False)]


async def waiting_on(session: AsyncSession, post: str) -> list[dict[str, Any]]:
    return [{"id": i.item, **(i.data or {})} for i in await collections.all_items(session, pending_replies_of(post))]


async def reply_notes(session: AsyncSession, services: Services, ids: list[str]) -> list[Any]:
    """The replies collection's items as `Note`s (only approved ones are ever in it)."""
    rows = await session.scalars(
        select(CollectionItem).where(
            CollectionItem.item.in_(ids), CollectionItem.collection.like(f"{post_id(services, '')}%{LISTED}")
        )
    )
    by_id = {row.item: reply_note(row.data or {}, row.collection.removesuffix(LISTED)) for row in rows}
    return [by_id.get(i, i) for i in ids]
