"""What every peer handles itself: Follow, Undo{Follow}, and the followee's answer to a Follow we sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.parse import id_of
from actors.context import Context, Services
from inbox.dispatch import ListenerKey, Listeners, Outcome
from inbox.errors import FetchError, Forbidden, Unprocessable, unfetchable
from store import collections
from store.follow_states import FOLLOW, FollowState
from store.models import Follow, RelaySubscription


def register(listeners: Listeners[Services]) -> None:
    listeners.on(ListenerKey("Follow"), on_follow).on(ListenerKey("Undo"), on_undo)
    listeners.on(ListenerKey("Undo", undoing="Follow"), on_undo)
    listeners.on(ListenerKey("Accept", answering="Follow"), on_follow_answered)
    listeners.on(ListenerKey("Reject", answering="Follow"), on_follow_answered)


async def on_follow(ctx: Context) -> Outcome:
    services = ctx.services
    if ctx.activity.object_id != services.actor.id:
        raise Unprocessable("this inbox only accepts follows of its own actor")
    try:
        await services.directory.actor(ctx.activity.actor)
    except FetchError as exc:
        raise Unprocessable(unfetchable("the follower's actor", exc)) from None
    manual = services.manually_approves_followers
    async with ctx.transaction() as session:
        session.add(
            Follow(
                id=ctx.activity.id,
                local_actor=services.actor.name,
                remote_actor=ctx.activity.actor,
                direction="in",
                state=FollowState.PENDING if manual else FollowState.ACCEPTED,
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        )
        if not manual:
            await accept_follow(session, services, ctx.activity.id, ctx.activity.actor, ctx.now)
    return Outcome.PROCESSED


async def accept_follow(session: AsyncSession, services: Services, follow_id: str, follower: str, now: float) -> None:
    await collections.add(session, services.actor.followers, follower, now)
    await services.emit(session, answer(services, "Accept", follow_id, follower))


def answer(services: Services, kind: str, follow_id: str, follower: str) -> dict[str, Any]:
    follow = {"id": follow_id, "type": "Follow", "actor": follower, "object": services.actor.id}
    return activity(kind, services.actor.new_activity_id(), services.actor.id, follow, to=[follower])


def move(row: Follow, new: FollowState, now: float) -> None:
    row.state, row.updated_at = FOLLOW.move(row.state, new), now


async def decide(session: AsyncSession, services: Services, follow_id: str, accept: bool) -> bool:
    """The admin's answer to a follow of us that waits for approval; False when none waits under that id."""
    row = await session.get(Follow, follow_id)
    if row is None or row.direction != "in" or row.state != FollowState.PENDING:
        return False
    now = services.clock()
    if accept:
        move(row, FollowState.ACCEPTED, now)
        await accept_follow(session, services, row.id, row.remote_actor, now)
    else:
        move(row, FollowState.REJECTED, now)
        await services.emit(session, answer(services, "Reject", row.id, row.remote_actor))
    return True


async def on_undo(ctx: Context) -> Outcome:
    undone = ctx.activity.object_doc or {}
    if undone.get("type") not in (None, "Follow"):
        return Outcome.IGNORED
    follow_id = ctx.activity.object_id
    async with ctx.services.store.read() as session:
        row = await _undone_follow(session, ctx, follow_id, undone)
        if row is None or row.direction != "in":
            return Outcome.IGNORED
    if row.remote_actor != ctx.activity.actor:
        raise Forbidden("only the follower may undo its follow")
    async with ctx.transaction() as session:
        row = await session.get(Follow, row.id)
        if row is None or not FOLLOW.can_move(row.state, FollowState.UNDONE):
            return Outcome.PROCESSED  # undone meanwhile: the same end
        move(row, FollowState.UNDONE, ctx.now)
        await collections.remove(session, ctx.services.actor.followers, row.remote_actor)
    return Outcome.PROCESSED


async def _undone_follow(session: AsyncSession, ctx: Context, follow_id: str, undone: dict[str, Any]) -> Follow | None:
    """The Follow an Undo names, by id, or else (a follower that forgot the id) its accepted follow of us."""
    row = await session.get(Follow, follow_id)
    if row is None and undone.get("actor") == ctx.activity.actor:
        row = await session.scalar(
            select(Follow).where(
                Follow.remote_actor == ctx.activity.actor,
                Follow.direction == "in",
                Follow.state == FollowState.ACCEPTED,
            )
        )
    return row


async def on_follow_answered(ctx: Context) -> Outcome:
    services = ctx.services
    follow_id = id_of(ctx.activity.object, "object")
    accepted = ctx.activity.type == "Accept"
    new = FollowState.ACCEPTED if accepted else FollowState.REJECTED
    async with ctx.transaction() as session:
        row = await session.get(Follow, follow_id)
        if row is None or row.direction != "out" or row.remote_actor != ctx.activity.actor:
            raise Forbidden("no follow of that actor is pending")
        if not FOLLOW.can_move(row.state, new):
            raise Forbidden(f"that follow was {row.state}; it cannot be {new} now")
        move(row, new, ctx.now)
        if await session.get(RelaySubscription, follow_id) is not None:
            return Outcome.PROCESSED  # a relay subscription: the relay is not an account we follow
        if accepted:
            await collections.add(session, services.actor.following, row.remote_actor, ctx.now)
        else:
            await collections.remove(session, services.actor.following, row.remote_actor)
    return Outcome.PROCESSED


def outgoing_follow(services: Services, follow_id: str, remote: str, now: float) -> Follow:
    """The row of a Follow this peer sends, pending until the remote side answers."""
    return Follow(
        id=follow_id,
        local_actor=services.actor.name,
        remote_actor=remote,
        direction="out",
        state=FollowState.PENDING,
        created_at=now,
        updated_at=now,
    )


async def follow(services: Services, target: str) -> str:
    """Send a Follow to `target` (an actor id); returns the Follow's id."""
    info = await services.directory.actor(target)
    follow_id = services.actor.new_activity_id()
    now = services.clock()
    async with services.store.write() as session:
        session.add(outgoing_follow(services, follow_id, info.id, now))
        await services.emit(session, activity("Follow", follow_id, services.actor.id, info.id, to=[info.id]))
    return follow_id


async def unfollow(services: Services, follow_id: str) -> bool:
    """Undo one of our follows: `Undo{Follow}` to the followee, and it leaves our following collection."""
    now = services.clock()
    async with services.store.write() as session:
        row = await session.get(Follow, follow_id)
        if row is None or row.direction != "out" or not FOLLOW.can_move(row.state, FollowState.UNDONE):
            return False
        if await session.get(RelaySubscription, follow_id) is not None:
            return False  # a relay subscription ends on /admin/relays, which also ends the relay's follow of us
        move(row, FollowState.UNDONE, now)
        await collections.remove(session, services.actor.following, row.remote_actor)
        follow_doc = {"id": row.id, "type": "Follow", "actor": services.actor.id, "object": row.remote_actor}
        await services.emit(
            session,
            activity("Undo", services.actor.new_activity_id(), services.actor.id, follow_doc, to=[row.remote_actor]),
        )
    return True
