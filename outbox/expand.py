"""Stage one of delivery: turn a fan-out row into one delivery row per distinct inbox."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.identity import LocalActor
from outbox.addressing import Target, inboxes
from outbox.states import FANOUT, DeliveryState, FanOutState
from outbox.wakeup import notify_workers
from store.db import dialect
from store.models import CollectionItem, Delivery, FanOut, RemoteActor
from store.upsert import insert_ignore_statement

log = logging.getLogger(__name__)

ResolveActor = Callable[[str], Awaitable[Target]]


class UnresolvedRecipient(Exception):
    pass


async def follower_targets(session: AsyncSession, followers: str) -> list[Target]:
    actors, items = RemoteActor.__table__.c, CollectionItem.__table__.c
    # Core on the session's connection: tens of thousands of rows skip the ORM's per-row loading.
    rows = await (await session.connection()).execute(
        select(actors.id, actors.inbox, actors.shared_inbox)
        .join(CollectionItem.__table__, items.item == actors.id)
        .where(items.collection == followers)
    )
    return [Target(actor_id, inbox, shared) for actor_id, inbox, shared in rows]


async def resolve_targets(
    session: AsyncSession, fanout: FanOut, actor: LocalActor, resolve: ResolveActor
) -> list[Target]:
    targets: list[Target] = []
    for recipient in fanout.recipients:
        if recipient == actor.followers:
            targets.extend(await follower_targets(session, actor.followers))
        elif recipient.startswith(actor.base_url + "/"):
            continue  # our own collections other than followers have no inboxes
        else:
            try:
                targets.append(await resolve(recipient))
            except Exception as exc:
                raise UnresolvedRecipient(f"{recipient}: {exc}") from exc
    return targets


async def write_deliveries(session: AsyncSession, fanout: FanOut, targets: list[Target], now: float) -> int:
    rows = [
        {
            "activity_id": fanout.activity_id,
            "actor": fanout.actor,
            "inbox": inbox,
            "host": urlsplit(inbox).netloc.lower(),
            "recipients": actors,
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "locked_until": 0.0,
            "locked_by": None,
            "created_at": now,
            "updated_at": now,
        }
        for inbox, actors in inboxes(targets, prefer_shared=True).items()
    ]
    created = 0
    if rows:  # one multi-row INSERT … ON CONFLICT DO NOTHING per thousand rows, not one statement per inbox
        statement = insert_ignore_statement(dialect(session), Delivery, ("activity_id", "inbox"))
        result = await (await session.connection()).execute(statement.returning(Delivery.__table__.c.id), rows)
        created = len(result.all())
        if created:  # workers in other processes share the sending
            await notify_workers(session)
    fanout.state = FANOUT.move(fanout.state, FanOutState.DONE)
    return created
