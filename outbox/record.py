"""Record an emitted activity in the caller's transaction: the document, the outbox entry and a fan-out
row for the delivery worker. Nothing is sent here, so a rollback un-sends it.

An activity addressed only to actors whose inboxes the store knows already (an Accept to a buyer, an Offer to
the shop) gets its delivery rows here too, and its fan-out row is written done: the worker need not spend a
read and a write expanding it. Anything addressed to followers, or to an actor not yet known, is expanded by
the worker as before (outbox/expand.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import public_view
from activities.identity import LocalActor
from activities.vocab import recipients
from outbox.addressing import Target, is_publicly_addressed
from outbox.expand import write_deliveries
from outbox.states import FanOutState
from outbox.wakeup import notify_workers
from store import collections, objects
from store.follow_states import FollowState
from store.models import FanOut, Follow, RelaySubscription, RemoteActor

RELAYED_TYPES = frozenset({"Create", "Update", "Delete"})


async def emit(
    session: AsyncSession, actor: LocalActor, activity: dict[str, Any], now: float, *, notify: bool = True
) -> dict[str, Any]:
    """Record `activity`; without `notify`, delivery rows written here are left to this process's own worker
    (a fan-out to expand is announced to every worker all the same)."""
    if activity.get("actor") != actor.id:
        raise ValueError("an actor emits only its own activities")
    public = is_publicly_addressed(activity)
    targets = recipients(activity, actor.id)
    if public and activity.get("type") in RELAYED_TYPES:
        targets += [relay for relay in await accepted_relays(session) if relay not in targets]
    await objects.put_new(
        session, activity, actor=actor.name, now=now, public=public, readers=None if public else targets
    )
    if public:
        await collections.add(session, actor.outbox, activity["id"], now)
    if targets:
        known = await known_targets(session, actor, targets)
        fanout = FanOut(
            activity_id=activity["id"],
            actor=actor.name,
            recipients=targets,
            state=FanOutState.PENDING if known is None else FanOutState.DONE,
            attempts=0,
            next_attempt_at=now,
            locked_until=0.0,
            created_at=now,
        )
        session.add(fanout)
        if known is None:
            await notify_workers(session)
        else:  # notifies the workers itself, if asked to
            await write_deliveries(session, fanout, known, now, last=False, notify=notify)
    return public_view(activity)


async def known_targets(session: AsyncSession, actor: LocalActor, targets: list[str]) -> list[Target] | None:
    """The targets, when every one is an individual remote actor whose inbox the store knows (the worker's
    resolving would read the same rows); None when the worker must expand the fan-out."""
    remote = [t for t in targets if not t.startswith(actor.base_url + "/")]
    if not remote or actor.followers in targets:
        return None
    table = RemoteActor.__table__.c
    rows = await session.execute(select(table.id, table.inbox, table.shared_inbox).where(table.id.in_(remote)))
    found = {actor_id: Target(actor_id, inbox, shared) for actor_id, inbox, shared in rows}
    if len(found) != len(set(remote)):
        return None
    return [found[t] for t in dict.fromkeys(remote)]


async def accepted_relays(session: AsyncSession) -> list[str]:
    """The actors of the relays that accepted our subscription: they get every public Create, Update and
    Delete as delivery targets (not as addressees: the activity's own addressing is unchanged)."""
    rows = await session.scalars(
        select(RelaySubscription.actor)
        .join(Follow, Follow.id == RelaySubscription.follow_id)
        .where(Follow.state == FollowState.ACCEPTED)
    )
    return list(rows)
