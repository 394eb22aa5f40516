"""Listeners an actor kind registers, and the context a listener runs in.

A listener does its remote look-ups first, then opens `ctx.transaction()`: the inbox row that makes
the activity idempotent is written in that same transaction as the listener's effects, so a replay,
a crash or a refusal leaves no half-done state. It returns what came of the activity: an `Outcome`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from activities.parse import Activity
from inbox.signatures import Verified
from store.db import Store
from store.inbox_states import RecordState
from store.models import InboxActivity
from store.upsert import insert_ignore

S = TypeVar("S")  # the running peer's services, as the actor kinds know them

ANSWER_TYPES = frozenset({"Accept", "Reject"})


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class DuplicateActivity(Exception):
    """The activity id was recorded while the listener was working: someone else processed it."""


@dataclass(frozen=True)
class ListenerKey:
    """What a listener is for: an activity type, for an `Accept`/`Reject` the type of our activity it
    answers (`ListenerKey("Accept", answering="Offer")`), and for an `Undo` the type of what it undoes when
    that is known (`ListenerKey("Undo", undoing="Like")`; `ListenerKey("Undo")` when it is not)."""

    type: str
    answering: str | None = None
    undoing: str | None = None

    def __post_init__(self) -> None:
        if (self.answering is not None) != (self.type in ANSWER_TYPES):
            raise ValueError(f"only {', '.join(sorted(ANSWER_TYPES))} are keyed by the type they answer")
        if self.undoing is not None and self.type != "Undo":
            raise ValueError("only Undo is keyed by the type it undoes")

    def __str__(self) -> str:
        of = self.answering or self.undoing
        return f"{self.type} of {of}" if of else self.type


Listener = Callable[["InboxContext[S]"], Awaitable[Outcome]]


class Listeners(Generic[S]):
    """ListenerKey → listener, each key at most once."""

    def __init__(self) -> None:
        self._by_key: dict[ListenerKey, Listener[S]] = {}

    def on(self, key: ListenerKey, listener: Listener[S]) -> Listeners[S]:
        if key in self._by_key:
            raise ValueError(f"a listener for {key} is already registered")
        self._by_key[key] = listener
        return self

    def get(self, key: ListenerKey) -> Listener[S] | None:
        return self._by_key.get(key)

    def __contains__(self, key: ListenerKey) -> bool:
        return key in self._by_key


@dataclass
class InboxContext(Generic[S]):
    activity: Activity
    verified: Verified
    recipient: str | None
    store: Store
    services: S
    now: float
    answered: dict[str, Any] | None = None  # for Accept/Reject: the activity of ours they answer
    _session: AsyncSession | None = field(default=None, init=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The one transaction of this activity: it records the activity, then yields for the effects."""
        if self._session is not None:
            raise RuntimeError("a listener opens its transaction once")
        async with self.store.write() as session:
            await record(session, self.activity, self.recipient, RecordState.PROCESSED, self.now)
            self._session = session
            yield session

    @property
    def recorded(self) -> bool:
        return self._session is not None


def inbox_row(activity: Activity, recipient: str | None, state: RecordState, now: float) -> dict[str, Any]:
    """The inbox_activities row that records `activity` (and makes a replay of it a no-op)."""
    return {
        "id": activity.id,
        "actor": activity.actor,
        "type": activity.type,
        "data": activity.raw,
        "recipient": recipient,
        "state": state.value,
        "error": None,
        "received_at": now,
    }


async def record(
    session: AsyncSession, activity: Activity, recipient: str | None, state: RecordState, now: float
) -> None:
    inserted = await insert_ignore(session, InboxActivity, inbox_row(activity, recipient, state, now), ("id",))
    if not inserted:
        raise DuplicateActivity(activity.id)
