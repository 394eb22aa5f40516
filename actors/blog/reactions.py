"""`Like` and `Announce` of our posts, counted once per actor in `<post>/likes` and `<post>/shares` (items are
the actors, each with the activity that put it there); an `Undo` counts only from the actor who sent it."""

from __future__ import annotations

from activities.errors import ActivityError
from activities.parse import id_of
from actors.blog.comments import live_post, ours
from actors.blog.posts import post_id
from actors.context import Context
from inbox.dispatch import Outcome
from inbox.errors import Forbidden
from store import collections
from store.models import InboxActivity

COLLECTION_OF = {"Like": "likes", "Announce": "shares"}  # <post>/likes, <post>/shares (actors/blog/posts.py)


async def on_reaction(ctx: Context) -> Outcome:
    services = ctx.services
    post = ctx.activity.object_id
    if not ours(services, post):
        return Outcome.IGNORED  # a like of something else: nothing of ours to look up
    collection = f"{post}/{COLLECTION_OF[ctx.activity.type]}"
    async with services.store.read() as session:
        if not await live_post(session, post):
            return Outcome.IGNORED  # of a post that is not (or no longer) here: nothing to count
    async with ctx.transaction() as session:
        await collections.add(session, collection, ctx.activity.actor, ctx.now, {"activity": ctx.activity.id})
    return Outcome.PROCESSED  # a second Like from the same actor is the same set member: counted once


async def on_undo_reaction(ctx: Context) -> Outcome:
    """Undo{Like} / Undo{Announce}, the undone activity embedded or named by its id."""
    services = ctx.services
    actor, undone = ctx.activity.actor, ctx.activity.object_id
    embedded = ctx.activity.object_doc or {}
    if embedded.get("actor") not in (None, actor):
        raise Forbidden("only the actor who sent it may undo it")
    async with services.store.read() as session:
        received = await session.get(InboxActivity, undone)
    if received is not None and received.actor != actor:
        raise Forbidden("only the actor who sent it may undo it")
    kind = str(embedded.get("type") or (received.type if received else ""))
    suffix = "/" + COLLECTION_OF.get(kind, "likes")
    try:
        named_post = id_of(embedded.get("object"), "object") if embedded.get("object") else None
    except ActivityError:
        named_post = None
    async with ctx.transaction() as session:
        removed = False
        for place in await collections.holding(session, actor, prefix=post_id(services, ""), suffix=suffix):
            item = await collections.get(session, place, actor)
            same = item is not None and (item.data or {}).get("activity") == undone
            if same or place == f"{named_post}{suffix}":
                removed = await collections.remove(session, place, actor) or removed
    return Outcome.PROCESSED if removed else Outcome.IGNORED
