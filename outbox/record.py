"""Record an emitted activity in the caller's transaction: the document, the outbox entry and a fan-out
row for the delivery worker. Nothing is sent here, so a rollback un-sends it.

An activity addressed only to actors whose inboxes the store knows already (an Accept to a buyer, an Offer to
the shop) gets its delivery rows here instead, and no fan-out row (its delivery rows name the recipients): the
worker need not spend a read and a write expanding it. Anything addressed to followers, or to an actor not yet
known, is expanded by the worker as before (outbox/expand.py)."""

from __future__ import annotations

import time
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
    session: AsyncSession,
    actor: LocalActor,
    activity: dict[str, Any],
    now: float,
    *,
    notify: bool = True,
    memory: TargetMemory | None = None,
) -> dict[str, Any]:
    """Record `activity`; without `notify`, delivery rows written here are left to this process's own worker
    (a fan-out to expand is announced to every worker all the same). `memory` spares reading the inboxes of
    actors addressed a moment ago."""
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
        known = await known_targets(session, actor, targets, memory)
        fanout = FanOut(
            activity_id=activity["id"],
            actor=actor.name,
            recipients=targets,
            state=FanOutState.PENDING,  # written only when the worker must expand it
            attempts=0,
            next_attempt_at=now,
            locked_until=0.0,
            created_at=now,
        )
        if known is None:
            session.add(fanout)
            await notify_workers(session)
        else:  # the delivery rows say it all: no fan-out row; notifies the workers itself, if asked to
            await write_deliveries(session, fanout, known, now, last=False, notify=notify)
    return public_view(activity)


class TargetMemory:
    """The inboxes the store gave for actors at a recent emit, kept `seconds`: the next activity to the same
    actor (each of a rush's Offers to the shop, each Accept back) is addressed without reading them again. An
    inbox another process re-fetched is seen once the memory lapses, as with the directory's memory of actors."""

    def __init__(self, seconds: float = 60.0, limit: int = 4096) -> None:
        self.seconds, self.limit = seconds, limit
        self._known: dict[str, tuple[float, Target]] = {}

    def recall(self, actors: list[str]) -> list[Target] | None:
        now = time.monotonic()
        found = []
        for actor_id in actors:
            kept = self._known.get(actor_id)
            if kept is None or kept[0] < now:
                return None
            found.append(kept[1])
        return found

    def keep(self, targets: list[Target]) -> None:
        if len(self._known) + len(targets) > self.limit:
            self._known.clear()
        until = time.monotonic() + self.seconds
        self._known.update((target.actor, (until, target)) for target in targets)


async def known_targets(
    session: AsyncSession, actor: LocalActor, targets: list[str], memory: TargetMemory | None = None
) -> list[Target] | None:
    """The targets, when every one is an individual remote actor whose inbox the store knows (the worker's
    resolving would read the same rows); None when the worker must expand the fan-out."""
    remote = list(dict.fromkeys(t for t in targets if not t.startswith(actor.base_url + "/")))
    if not remote or actor.followers in targets:
        return None
    if memory is not None and (recalled := memory.recall(remote)) is not None:
        return recalled
    table = RemoteActor.__table__.c
    rows = await session.execute(select(table.id, table.inbox, table.shared_inbox).where(table.id.in_(remote)))
    found = {actor_id: Target(actor_id, inbox, shared) for actor_id, inbox, shared in rows}
    if len(found) != len(remote):
        return None
    known = [found[t] for t in remote]
    if memory is not None:
        memory.keep(known)
    return known


async def accepted_relays(session: AsyncSession) -> list[str]:
    """The actors of the relays that accepted our subscription: they get every public Create, Update and
    Delete as delivery targets (not as addressees: the activity's own addressing is unchanged)."""
    rows = await session.scalars(
        select(RelaySubscription.actor)
        .join(Follow, Follow.id == RelaySubscription.follow_id)
        .where(Follow.state == FollowState.ACCEPTED)
    )
    return list(rows)
