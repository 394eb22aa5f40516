"""The mail worker: claim due messages with a lease, send each, mark it sent once.

Any number of workers (the peer's own, `rose-ash worker` processes) share the queue: a claim is one UPDATE of
rows picked `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite's single writer serialises claims anyway), so two
workers never hold one message at once. A worker that dies after the server took a message but before marking
it lets the lease lapse and the message is sent again, with the same Message-ID: receivers see a duplicate
they can recognise, never a lost message. The result is marked only while the lease is still this worker's."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from mail.compose import Draft, build
from mail.queue import serialize
from mail.states import MAIL, MailState
from mail.transport import MailDeferred, MailRefused, Transport
from outbox.retry import RetryPolicy
from store.db import Store, affected, table_of
from store.models import MailMessage
from store.outage import log_round_failed

log = logging.getLogger(__name__)


def _build(draft: dict[str, Any]) -> str:
    return serialize(build(Draft.from_json(draft)))


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: str
    sender: str
    recipients: list[str]
    raw: str | None
    draft: dict[str, Any] | None
    attempts: int
    created_at: float


@dataclass
class MailWorker:
    store: Store
    transport: Transport
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], float] = time.time
    lease: float = 60.0
    batch: int = 10
    poll_interval: float = 5.0  # a queued message rings `wake`; polling only picks up other processes' mail
    name: str = field(default_factory=lambda: f"mail-{secrets.token_hex(4)}")
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                worked = await self.step()
            except Exception as exc:  # the store away for a moment: log, wait a round, carry on
                log_round_failed(log, "mail round", exc, self.poll_interval)
                worked = False
            if not worked:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def step(self) -> bool:
        """Claim a batch and send it over one connection (SMTP servers throttle parallel senders)."""
        claimed = await self.claim(self.batch)
        if claimed:
            await self.send(*claimed)
        return bool(claimed)

    async def drain(self, limit_seconds: float = 30.0) -> None:
        """Send until nothing is due (tests)."""
        deadline = time.monotonic() + limit_seconds
        while time.monotonic() < deadline and await self.step():
            pass

    async def claim(self, limit: int) -> list[Claimed]:
        now = self.clock()
        table = table_of(MailMessage)
        due = (
            select(table.c.id)
            .where(table.c.state == MailState.PENDING, table.c.next_attempt_at <= now, table.c.locked_until < now)
            .order_by(table.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self.store.write() as session:
            connection = await session.connection()
            ids = list((await connection.execute(due)).scalars())
            if not ids:
                return []
            rows = await connection.execute(
                update(table)
                .where(table.c.id.in_(ids))
                .values(locked_until=now + self.lease, locked_by=self.name)
                .returning(
                    table.c.id,
                    table.c.message_id,
                    table.c.sender,
                    table.c.recipients,
                    table.c.raw,
                    table.c.draft,
                    table.c.attempts,
                    table.c.created_at,
                )
            )
            return sorted((Claimed(*row) for row in rows), key=lambda m: m.id)

    async def send(self, *messages: Claimed) -> None:
        """Send claimed messages (building those queued as drafts first) and record each outcome."""
        built: dict[int, str] = {}
        outcomes: list[Exception | None]
        try:
            for message in messages:
                if message.raw is None:  # built here, off the event loop, after its transaction committed
                    assert message.draft is not None
                    built[message.id] = await asyncio.to_thread(_build, message.draft)
            envelopes = [(m.sender, m.recipients, m.raw or built[m.id]) for m in messages]
            # Well inside the lease, so that no other worker claims them while this one still talks to the server.
            async with asyncio.timeout(self.lease / 2):
                outcomes = await self.transport.send_many(envelopes)
        except TimeoutError:
            outcomes = [MailDeferred("the SMTP server did not finish within half the lease")] * len(messages)
        except Exception as exc:  # a bug must not leave the messages leased for ever
            log.exception("sending %d messages failed", len(messages))
            outcomes = [exc] * len(messages)
        await self.mark_many(
            [
                (message, _error(outcome), isinstance(outcome, MailRefused), built.get(message.id))
                for message, outcome in zip(messages, outcomes, strict=True)
            ]
        )

    async def mark(self, message: Claimed, error: str | None, permanent: bool, built: str | None = None) -> bool:
        """Record one outcome, only while the lease is still ours; False when it had lapsed."""
        return await self.mark_many([(message, error, permanent, built)]) == 1

    async def mark_many(self, outcomes: list[tuple[Claimed, str | None, bool, str | None]]) -> int:
        """Record outcomes (message, error or None, refused for good, the text built) in one transaction, each
        only while its lease is still ours; how many were recorded."""
        now = self.clock()
        table = table_of(MailMessage)
        recorded = 0
        async with self.store.write() as session:
            for message, error, permanent, built in outcomes:
                result = await session.execute(
                    update(table)
                    .where(table.c.id == message.id, table.c.locked_by == self.name, table.c.state == MailState.PENDING)
                    .values(**self._outcome(message, error, permanent, built, now))
                )
                recorded += affected(result)
        return recorded

    def _outcome(
        self, message: Claimed, error: str | None, permanent: bool, built: str | None, now: float
    ) -> dict[str, object]:
        attempts = message.attempts + 1
        values: dict[str, object] = {"attempts": attempts, "locked_until": 0.0, "locked_by": None, "last_error": error}
        if built is not None:  # kept as sent: the admin reads it, and a later attempt sends the same bytes
            values["raw"] = built
        if error is None:
            done = MailState.CAUGHT if self.transport.caught else MailState.SENT
            values.update(state=MAIL.move(MailState.PENDING, done), sent_at=now)
        else:
            retry_at = None if permanent else self.policy.next_attempt(
                attempts=attempts, created_at=message.created_at, now=now
            )
            values["state"] = MAIL.move(MailState.PENDING, MailState.PENDING if retry_at else MailState.FAILED)
            values["next_attempt_at"] = retry_at or now
            log.warning("mail %s not sent (attempt %d): %s", message.message_id, attempts, error)
        return values


def _error(outcome: Exception | None) -> str | None:
    if outcome is None:
        return None
    if isinstance(outcome, MailRefused | MailDeferred):
        return str(outcome)[:1000]
    return f"{type(outcome).__name__}: {outcome}"[:1000]
