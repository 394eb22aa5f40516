"""Listeners an actor kind registers, and the context a listener runs in.

A listener does its remote look-ups first, then opens `ctx.transaction()`: the inbox row that makes
the activity idempotent is written in that same transaction as the listener's effects, so a replay,
a crash or a refusal leaves no half-done state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.parse import Activity
from inbox.signatures import Verified
from store.db import Store
from store.models import InboxActivity
from store.upsert import insert_ignore

Listener = Callable[["InboxContext"], Awaitable[None]]


class Outcome(Enum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class DuplicateActivity(Exception):
    """The activity id was recorded while the listener was working: someone else processed it."""


class Listeners:
    """Type → listener. `Accept` and `Reject` are keyed by the type of the activity they answer,
    e.g. `on("Accept", handler, answering="Offer")`."""

    def __init__(self) -> None:
        self._by_key: dict[str, Listener] = {}

    def on(self, kind: str, listener: Listener, *, answering: str | None = None) -> Listeners:
        key = f"{kind}:{answering}" if answering else kind
        if key in self._by_key:
            raise ValueError(f"a listener for {key} is already registered")
        self._by_key[key] = listener
        return self

    def get(self, kind: str, answering: str | None = None) -> Listener | None:
        return self._by_key.get(f"{kind}:{answering}" if answering else kind)

    def __contains__(self, key: str) -> bool:
        return key in self._by_key


@dataclass
class InboxContext:
    activity: Activity
    verified: Verified
    recipient: str | None
    store: Store
    services: Any  # the running peer's services; actor kinds know its type
    now: float
    state: str = "processed"
    answered: dict[str, Any] | None = None  # for Accept/Reject: the activity of ours they answer
    _session: AsyncSession | None = field(default=None, init=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The one transaction of this activity: it records the activity, then yields for the effects."""
        if self._session is not None:
            raise RuntimeError("a listener opens its transaction once")
        async with self.store.write() as session:
            await record(session, self.activity, self.recipient, self.state, self.now)
            self._session = session
            yield session

    @property
    def recorded(self) -> bool:
        return self._session is not None


def inbox_row(activity: Activity, recipient: str | None, state: str, now: float) -> dict[str, Any]:
    """The inbox_activities row that records `activity` (and makes a replay of it a no-op)."""
    return {
        "id": activity.id,
        "actor": activity.actor,
        "type": activity.type,
        "data": activity.raw,
        "recipient": recipient,
        "state": state,
        "error": None,
        "received_at": now,
    }


async def record(session: AsyncSession, activity: Activity, recipient: str | None, state: str, now: float) -> None:
    inserted = await insert_ignore(session, InboxActivity, inbox_row(activity, recipient, state, now), ("id",))
    if not inserted:
        raise DuplicateActivity(activity.id)
