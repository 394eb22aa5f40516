"""Fan-out scaffolding: followers written straight into a peer's store, activities emitted through the real
`outbox.record.emit` in a write transaction, and the delivery state read back."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import func, select

from activities.build import activity
from activities.identity import LocalActor
from activities.vocab import PUBLIC
from outbox.record import emit
from store import Store, collections
from store.models import Delivery, DeliveryAttempt, Follow, RemoteActor
from tests.support.actors import RemoteActor as TestActor


async def add_followers(store: Store, me: LocalActor, followers: Iterable[TestActor], now: float = 0.0) -> None:
    """What an accepted Follow leaves behind: the remote actor cached, a Follow row, a followers item."""
    async with store.write() as session:
        for follower in followers:
            session.add(
                RemoteActor(
                    id=follower.id,
                    inbox=follower.inbox,
                    shared_inbox=follower.shared_inbox,
                    data=follower.document(),
                    fetched_at=now,
                )
            )
            session.add(
                Follow(
                    id=follower.new_id(),
                    local_actor=me.name,
                    remote_actor=follower.id,
                    direction="in",
                    state="accepted",
                    created_at=now,
                    updated_at=now,
                )
            )
            await collections.add(session, me.followers, follower.id, now)


async def emit_note(
    store: Store,
    me: LocalActor,
    *,
    to: list[str] | None = None,
    cc: list[str] | None = None,
    bto: list[str] | None = None,
    bcc: list[str] | None = None,
    text: str = "hello",
) -> dict[str, Any]:
    """Emit Create(Note) — by default to Public and the followers — through the transactional outbox."""
    note = {"id": me.url(f"notes/{time.monotonic_ns()}"), "type": "Note", "attributedTo": me.id, "content": text}
    doc = activity(
        "Create",
        me.new_activity_id(),
        me.id,
        note,
        to=to if to is not None else [PUBLIC],
        cc=cc if cc is not None else [me.followers],
        bto=bto,
        bcc=bcc,
    )
    async with store.write() as session:
        await emit(session, me, doc, time.time())
    return doc


async def delivery_rows(store: Store, activity_id: str | None = None) -> list[Delivery]:
    async with store.read() as session:
        query = select(Delivery).order_by(Delivery.id)
        if activity_id:
            query = query.where(Delivery.activity_id == activity_id)
        return list(await session.scalars(query))


async def attempts_of(store: Store, delivery_id: int) -> list[DeliveryAttempt]:
    async with store.read() as session:
        rows = await session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id).order_by(DeliveryAttempt.id)
        )
        return list(rows)


async def state_counts(store: Store) -> dict[str, int]:
    async with store.read() as session:
        rows = await session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return {state: int(n) for state, n in rows}


async def until(check: Callable[[], Any], within: float = 20.0, what: str = "", interval: float = 0.05) -> Any:
    """Poll `check` (sync or async) until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        last = result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what or 'a condition'}; last: {last!r}")
        await asyncio.sleep(interval)
