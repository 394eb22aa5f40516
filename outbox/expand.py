"""Stage one of delivery: turn a fan-out row into one delivery row per distinct inbox."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
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


FOLLOWER_PAGE = 500  # distinct inboxes per page of a followers expansion: the memory a fan-out peaks at


def _inbox_key() -> Any:
    """The inbox a follower is reached at, in SQL: its server's shared inbox when it names one (as `inboxes`)."""
    actors = RemoteActor.__table__.c
    return func.coalesce(func.nullif(actors.shared_inbox, ""), actors.inbox)


async def follower_page(
    session: AsyncSession, followers: str, after: str | None, size: int = FOLLOWER_PAGE
) -> tuple[list[Target], list[str]]:
    """The followers reached at the next `size` distinct inboxes after the inbox `after` (in the database's
    order, so an inbox's followers all come in one page), and those inboxes, the last of them for the next
    call; ([], []) at the end."""
    actors, items = RemoteActor.__table__.c, CollectionItem.__table__.c
    key = _inbox_key()
    joined = CollectionItem.__table__.join(RemoteActor.__table__, items.item == actors.id)
    chosen = select(key).select_from(joined).where(items.collection == followers)
    if after is not None:
        chosen = chosen.where(key > after)
    chosen = chosen.group_by(key).order_by(key).limit(size)
    # Core on the session's connection: thousands of rows skip the ORM's per-row loading.
    connection = await session.connection()
    wanted = list((await connection.execute(chosen)).scalars())
    if not wanted:
        return [], []
    rows = await connection.execute(
        select(actors.id, actors.inbox, actors.shared_inbox)
        .select_from(joined)
        .where(items.collection == followers, key >= wanted[0], key <= wanted[-1])
    )
    return [Target(actor_id, inbox, shared) for actor_id, inbox, shared in rows], wanted


async def resolve_targets(
    session: AsyncSession, fanout: FanOut, actor: LocalActor, resolve: ResolveActor
) -> tuple[list[Target], bool]:
    """The targets other than the actor's followers, and whether the followers are addressed too (they are
    expanded page by page, `follower_page`)."""
    targets: list[Target] = []
    followers = False
    for recipient in fanout.recipients:
        if recipient == actor.followers:
            followers = True
        elif recipient.startswith(actor.base_url + "/"):
            continue  # our own collections other than followers have no inboxes
        else:
            try:
                targets.append(await resolve(recipient))
            except Exception as exc:
                raise UnresolvedRecipient(f"{recipient}: {exc}") from exc
    return targets, followers


class HostTurns:
    """Due times that take a fan-out's hosts in turn. The worker claims the oldest due rows and at most a few
    per host at a time; rows written inbox by inbox, due at the same moment, come out of the due index host by
    host, so a claim would find one host's rows at its cap and nothing for the others. The n-th row for a host
    is due n microseconds after the fan-out's start instead: the index then yields every host's first row,
    then every host's second."""

    def __init__(self, start: float) -> None:
        self.start = start
        self._rows: dict[str, int] = {}

    def due(self, host: str) -> float:
        n = self._rows.get(host, 0)
        self._rows[host] = n + 1
        return self.start + n * 1e-6


async def write_deliveries(
    session: AsyncSession,
    fanout: FanOut,
    targets: list[Target],
    now: float,
    *,
    last: bool = True,
    turns: HostTurns | None = None,
    notify: bool = True,
) -> int:
    """One delivery row per distinct inbox of `targets` (one already written is left as it is), due now or as
    `turns` has it; with `last`, the fan-out is done; with `notify`, the other processes' workers are told."""
    turns = turns or HostTurns(now)
    rows = []
    for inbox, actors in inboxes(targets, prefer_shared=True).items():
        host = urlsplit(inbox).netloc.lower()
        rows.append(
            {
                "activity_id": fanout.activity_id,
                "actor": fanout.actor,
                "inbox": inbox,
                "host": host,
                "recipients": actors,
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": turns.due(host),
                "locked_until": 0.0,
                "locked_by": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    created = 0
    if rows:  # one multi-row INSERT … ON CONFLICT DO NOTHING per thousand rows, not one statement per inbox
        statement = insert_ignore_statement(dialect(session), Delivery, ("activity_id", "inbox"))
        result = await (await session.connection()).execute(statement.returning(Delivery.__table__.c.id), rows)
        created = len(result.all())
        if created and notify:  # workers in other processes share the sending
            await notify_workers(session, fanouts=False)
    if last:
        fanout.state = FANOUT.move(fanout.state, FanOutState.DONE)
    return created
