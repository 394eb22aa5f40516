"""What the blog hears: the answer to an allocation, events that feature its posts, and replies, likes and
shares of its posts (actors/blog/comments.py, actors/blog/reactions.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from activities.errors import ActivityError
from activities.event import featured_post
from activities.parse import id_of
from activities.text import plain
from actors import pending
from actors.blog import comments, reactions
from actors.blog.allocation_states import ALLOCATION, AllocationState
from actors.blog.posts import allocations_of, events_of, pending_events_of, post_id
from actors.context import Context, Services
from inbox.dispatch import ListenerKey, Listeners, Outcome
from inbox.errors import Forbidden, Unprocessable
from inbox.trust import check_attribution, check_same_origin
from store import collections, objects


def register(listeners: Listeners[Services]) -> None:
    listeners.on(ListenerKey("Accept", answering="Add"), on_allocation_answer)
    listeners.on(ListenerKey("Reject", answering="Add"), on_allocation_answer)
    listeners.on(ListenerKey("Create"), on_create).on(ListenerKey("Update"), on_update)
    listeners.on(ListenerKey("Delete"), on_delete)
    listeners.on(ListenerKey("Like"), reactions.on_reaction).on(ListenerKey("Announce"), reactions.on_reaction)
    listeners.on(ListenerKey("Undo", undoing="Like"), reactions.on_undo_reaction)
    listeners.on(ListenerKey("Undo", undoing="Announce"), reactions.on_undo_reaction)


def _is_note(ctx: Context) -> bool:
    return (ctx.activity.object_doc or {}).get("type") == "Note"


async def on_create(ctx: Context) -> Outcome:
    return await (comments.on_reply(ctx) if _is_note(ctx) else on_event(ctx))


async def on_update(ctx: Context) -> Outcome:
    return await (comments.on_reply_updated(ctx) if _is_note(ctx) else on_event(ctx))


async def on_delete(ctx: Context) -> Outcome:
    if await comments.holds(ctx.services, ctx.activity.object_id):
        return await comments.on_reply_deleted(ctx)
    return await on_event_deleted(ctx)


async def on_allocation_answer(ctx: Context) -> Outcome:
    assert ctx.answered is not None
    post = id_of(ctx.answered.get("object"), "object")
    state = AllocationState.ALLOCATED if ctx.activity.type == "Accept" else AllocationState.REJECTED
    async with ctx.transaction() as session:
        item = await collections.get(session, allocations_of(post), ctx.answered["id"])
        data = dict(item.data or {}) if item else {"calendar": ctx.answered.get("target")}
        if not ALLOCATION.can_move(str(data.get("state", AllocationState.PENDING)), state):
            raise Unprocessable(f"that allocation was {data['state']} already")
        data.update(state=state.value, answered_by=ctx.activity.id, reason=ctx.activity.summary or "")
        if item is None:
            await collections.add(session, allocations_of(post), ctx.answered["id"], ctx.now, data)
        else:
            await collections.set_data(session, allocations_of(post), ctx.answered["id"], data)
    return Outcome.PROCESSED


async def on_event(ctx: Context) -> Outcome:
    """A Create/Update(Event) that features one of our posts is listed on that post's page: at once from a
    trusted actor (our events peer), after the editor's approval from anyone else."""
    services = ctx.services
    event = ctx.activity.object_doc
    if not event or event.get("type") != "Event":
        return Outcome.IGNORED
    event_id = id_of(event, "object")
    check_same_origin(ctx.activity, event_id)
    check_attribution(ctx.activity, event.get("attributedTo"))
    post = featured_post(event)
    if not post or not post.startswith(services.actor.base_url + "/"):
        return Outcome.IGNORED
    summary = {
        "name": _text(event.get("name"), 200),
        "startTime": str(event.get("startTime", ""))[:64],
        "location": _text(event["location"].get("name"), 200) if isinstance(event.get("location"), dict) else "",
        "url": url
        if isinstance(url := event.get("url"), str) and url.startswith(("http://", "https://"))
        else event_id,
        "actor": ctx.activity.actor,
    }
    async with ctx.transaction() as session:
        row = await objects.get(session, post)
        if row is None or row.deleted_at is not None:
            raise Unprocessable("the featured post does not exist here")
        listed = await collections.contains(session, events_of(post), event_id)
        collection = events_of(post) if listed or ctx.activity.actor in services.trusted else pending_events_of(post)
        if await collections.contains(session, collection, event_id):
            await _check_owner(session, collection, event_id, ctx.activity.actor)
            await collections.set_data(session, collection, event_id, summary)
            return Outcome.PROCESSED
        if collection != events_of(post):
            try:
                await pending.hold(session, services, "events", ctx.activity.actor, "events")
            except pending.TooManyPending as exc:
                raise Unprocessable(exc.reason) from None
        await collections.add(session, collection, event_id, ctx.now, summary)
    return Outcome.PROCESSED


def _text(value: object, limit: int) -> str:
    """A remote plain-text field as the blog keeps it: markup removed, bounded."""
    try:
        return plain(value, "text", limit * 4, required=False)[:limit]
    except ActivityError:
        return ""


async def _check_owner(session: AsyncSession, collection: str, event_id: str, actor: str) -> None:
    """Only the actor that announced an event may change or withdraw it (others on its host may not)."""
    item = await collections.get(session, collection, event_id)
    if item is not None and (item.data or {}).get("actor", actor) != actor:
        raise Forbidden("the event belongs to another actor")


async def on_event_deleted(ctx: Context) -> Outcome:
    services = ctx.services
    event_id = ctx.activity.object_id
    check_same_origin(ctx.activity, event_id)
    async with ctx.transaction() as session:
        prefix = post_id(services, "")
        listing = await collections.holding(session, event_id, prefix=prefix, suffix=events_of(""))
        waiting = await collections.holding(session, event_id, prefix=prefix, suffix=pending_events_of(""))
        for collection in listing + waiting:
            await _check_owner(session, collection, event_id, ctx.activity.actor)
            await collections.remove(session, collection, event_id)
        for _ in waiting:
            await pending.release(session, services, "events", ctx.activity.actor)
    return Outcome.PROCESSED
