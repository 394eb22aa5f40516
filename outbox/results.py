"""What the delivery worker holds of a claimed delivery and of its answer, and what a 410 does to followers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from outbox.retry import Verdict
from outbox.states import DeliveryState
from store import collections
from store.follow_states import FOLLOW, FollowState
from store.models import Follow, RemoteActor

# What a delivery becomes when its answer ends it (a RETRY stays pending, or fails past the horizon)
VERDICT_STATE = {
    Verdict.DELIVERED: DeliveryState.DELIVERED,
    Verdict.GIVE_UP: DeliveryState.FAILED,
    Verdict.GONE: DeliveryState.GONE,
}


@dataclass(frozen=True)
class Claimed:
    id: int
    activity_id: str
    actor: str
    inbox: str
    host: str
    attempts: int
    created_at: float


@dataclass(frozen=True)
class Result:
    delivery: Claimed
    status: int | None
    error: str | None
    retry_after: float | None
    started: float
    duration: float
    deferred_until: float | None = None  # not sent: its host asked for a pause after this was claimed
    host_trouble: bool = True  # False when the delivery itself could not be sent (its URL, the address guard)


async def drop_followers_at(session: AsyncSession, followers: str, inbox: str, now: float) -> None:
    """A 410 from a personal inbox: the followers whose inbox it is are gone."""
    gone_ids = list(await session.scalars(select(RemoteActor.id).where(RemoteActor.inbox == inbox)))
    if gone_ids:
        await collections.remove_many(session, followers, gone_ids)
        await session.execute(
            update(Follow)
            .where(
                Follow.remote_actor.in_(gone_ids),
                Follow.direction == "in",
                Follow.state.in_(FOLLOW.sources_of(FollowState.GONE)),
            )
            .values(state=FollowState.GONE, updated_at=now)
        )
