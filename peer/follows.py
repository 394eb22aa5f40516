"""What every peer handles itself: Follow, Undo{Follow}, and Accept/Reject of what it sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.parse import id_of
from actors.context import Services
from inbox.dispatch import InboxContext, Listeners
from inbox.errors import FetchError, Forbidden, Unprocessable
from store import collections, objects
from store.models import Follow


def register(listeners: Listeners) -> None:
    listeners.on("Follow", on_follow).on("Undo", on_undo)
    listeners.on("Accept", _answer_listener(listeners, "Accept")).on("Reject", _answer_listener(listeners, "Reject"))
    listeners.on("Accept", on_follow_answered, answering="Follow")
    listeners.on("Reject", on_follow_answered, answering="Follow")


async def on_follow(ctx: InboxContext) -> None:
    services: Services = ctx.services
    if ctx.activity.object_id != services.actor.id:
        raise Unprocessable("this inbox only accepts follows of its own actor")
    try:
        await services.directory.actor(ctx.activity.actor)
    except FetchError as exc:
        raise Unprocessable(f"cannot fetch the follower's actor: {exc.reason}") from None
    manual = bool(services.extra.get("manually_approves_followers"))
    async with ctx.transaction() as session:
        session.add(
            Follow(
                id=ctx.activity.id,
                local_actor=services.actor.name,
                remote_actor=ctx.activity.actor,
                direction="in",
                state="pending" if manual else "accepted",
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        )
        if not manual:
            await accept_follow(session, services, ctx.activity.id, ctx.activity.actor, ctx.now)


async def accept_follow(session: AsyncSession, services: Services, follow_id: str, follower: str, now: float) -> None:
    await collections.add(session, services.actor.followers, follower, now)
    await services.emit(session, answer(services, "Accept", follow_id, follower))


def answer(services: Services, kind: str, follow_id: str, follower: str) -> dict[str, Any]:
    follow = {"id": follow_id, "type": "Follow", "actor": follower, "object": services.actor.id}
    return activity(kind, services.actor.new_activity_id(), services.actor.id, follow, to=[follower])


async def on_undo(ctx: InboxContext) -> None:
    services: Services = ctx.services
    undone = ctx.activity.object_doc or {}
    if undone.get("type") not in (None, "Follow"):
        ctx.state = "ignored"
        return
    follow_id = ctx.activity.object_id
    async with ctx.transaction() as session:
        row = await session.get(Follow, follow_id)
        if row is None and undone.get("actor") == ctx.activity.actor:
            row = await session.scalar(
                select(Follow).where(
                    Follow.remote_actor == ctx.activity.actor, Follow.direction == "in", Follow.state == "accepted"
                )
            )
        if row is None or row.direction != "in":
            ctx.state = "ignored"
            return
        if row.remote_actor != ctx.activity.actor:
            raise Forbidden("only the follower may undo its follow")
        row.state, row.updated_at = "undone", ctx.now
        await collections.remove(session, services.actor.followers, row.remote_actor)


def _answer_listener(listeners: Listeners, kind: str):  # type: ignore[no-untyped-def]
    async def on_answer(ctx: InboxContext) -> None:
        """Accept/Reject count only from a recipient of an activity we sent; then the listener for the
        answered type (e.g. Accept of an Offer) takes over."""
        services: Services = ctx.services
        try:
            answered_id = ctx.activity.object_id
        except Exception:
            raise Unprocessable(f"{kind} needs an object") from None
        async with services.store.read() as session:
            sent = await objects.get(session, answered_id)
        if sent is None or sent.actor != services.actor.name or sent.data.get("actor") != services.actor.id:
            raise Forbidden(f"{kind} of an activity this peer did not send")
        addressed = {a for f in ("to", "cc", "bto", "bcc") for a in _as_list(sent.data.get(f))}
        if ctx.activity.actor not in addressed:
            raise Forbidden(f"{kind} from an actor the activity was not sent to")
        listener = listeners.get(kind, answering=str(sent.data.get("type")))
        if listener is None:
            ctx.state = "ignored"
            return
        ctx.answered = sent.data
        await listener(ctx)

    return on_answer


async def on_follow_answered(ctx: InboxContext) -> None:
    services: Services = ctx.services
    follow_id = id_of(ctx.activity.object, "object")
    async with ctx.transaction() as session:
        row = await session.get(Follow, follow_id)
        if row is None or row.direction != "out" or row.remote_actor != ctx.activity.actor:
            raise Forbidden("no follow of that actor is pending")
        accepted = ctx.activity.type == "Accept"
        row.state, row.updated_at = ("accepted" if accepted else "rejected"), ctx.now
        if accepted:
            await collections.add(session, services.actor.following, row.remote_actor, ctx.now)
        else:
            await collections.remove(session, services.actor.following, row.remote_actor)


async def follow(services: Services, target: str) -> str:
    """Send a Follow to `target` (an actor id); returns the Follow's id."""
    info = await services.directory.actor(target)
    follow_id = services.actor.new_activity_id()
    now = services.clock()
    async with services.store.write() as session:
        session.add(
            Follow(
                id=follow_id,
                local_actor=services.actor.name,
                remote_actor=info.id,
                direction="out",
                state="pending",
                created_at=now,
                updated_at=now,
            )
        )
        await services.emit(session, activity("Follow", follow_id, services.actor.id, info.id, to=[info.id]))
    return follow_id


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


async def unfollow(services: Services, follow_id: str) -> bool:
    """Undo one of our follows: `Undo{Follow}` to the followee, and it leaves our following collection."""
    now = services.clock()
    async with services.store.write() as session:
        row = await session.get(Follow, follow_id)
        if row is None or row.direction != "out" or row.state not in ("pending", "accepted"):
            return False
        row.state, row.updated_at = "undone", now
        await collections.remove(session, services.actor.following, row.remote_actor)
        follow_doc = {"id": row.id, "type": "Follow", "actor": services.actor.id, "object": row.remote_actor}
        await services.emit(
            session,
            activity("Undo", services.actor.new_activity_id(), services.actor.id, follow_doc, to=[row.remote_actor]),
        )
    return True
