"""Record an emitted activity in the caller's transaction: the document, the outbox entry and a fan-out
row for the delivery worker. Nothing is sent here, so a rollback un-sends it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import public_view
from activities.identity import LocalActor
from activities.vocab import recipients
from outbox.addressing import is_publicly_addressed
from outbox.states import FanOutState
from outbox.wakeup import notify_workers
from store import collections, objects
from store.follow_states import FollowState
from store.models import FanOut, Follow, RelaySubscription

RELAYED_TYPES = frozenset({"Create", "Update", "Delete"})


async def emit(session: AsyncSession, actor: LocalActor, activity: dict[str, Any], now: float) -> dict[str, Any]:
    if activity.get("actor") != actor.id:
        raise ValueError("an actor emits only its own activities")
    public = is_publicly_addressed(activity)
    targets = recipients(activity, actor.id)
    if public and activity.get("type") in RELAYED_TYPES:
        targets += [relay for relay in await accepted_relays(session) if relay not in targets]
    await objects.put(session, activity, actor=actor.name, now=now, public=public, readers=None if public else targets)
    if public:
        await collections.add(session, actor.outbox, activity["id"], now)
    if targets:
        session.add(
            FanOut(
                activity_id=activity["id"],
                actor=actor.name,
                recipients=targets,
                state=FanOutState.PENDING,
                attempts=0,
                next_attempt_at=now,
                locked_until=0.0,
                created_at=now,
            )
        )
        await notify_workers(session)
    return public_view(activity)


async def accepted_relays(session: AsyncSession) -> list[str]:
    """The actors of the relays that accepted our subscription: they get every public Create, Update and
    Delete as delivery targets (not as addressees: the activity's own addressing is unchanged)."""
    rows = await session.scalars(
        select(RelaySubscription.actor)
        .join(Follow, Follow.id == RelaySubscription.follow_id)
        .where(Follow.state == FollowState.ACCEPTED)
    )
    return list(rows)
