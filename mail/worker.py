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
            except Exception:  # the store away for a moment: log, wait a round, carry on
                log.exception("mail round failed")
                worked = False
            if not worked:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def step(self) -> bool:
        """Claim a batch and send it, one message after another (SMTP servers throttle parallel senders)."""
        claimed = await self.claim(self.batch)
        for message in claimed:
            await self.send(message)
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

    async def send(self, message: Claimed) -> None:
        error: str | None = None
        permanent = False
        built: str | None = None
        try:
            raw = message.raw
            if raw is None:  # queued as a draft: built here, off the event loop, after its transaction committed
                assert message.draft is not None
                raw = built = await asyncio.to_thread(_build, message.draft)
            # Well inside the lease, so that no other worker claims it while this one still talks to the server.
            async with asyncio.timeout(self.lease / 2):
                await self.transport.send(message.sender, message.recipients, raw)
        except MailRefused as exc:
            error, permanent = str(exc)[:1000], True
        except MailDeferred as exc:
            error = str(exc)[:1000]
        except TimeoutError:
            error = "the SMTP server did not finish within half the lease"
        except Exception as exc:  # a bug must not leave the message leased for ever
            log.exception("mail %s failed", message.message_id)
            error = f"{type(exc).__name__}: {exc}"[:1000]
        await self.mark(message, error, permanent, built)

    async def mark(self, message: Claimed, error: str | None, permanent: bool, built: str | None = None) -> bool:
        """Record the outcome, only while the lease is still ours; False when it had lapsed."""
        now = self.clock()
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
        table = table_of(MailMessage)
        async with self.store.write() as session:
            result = await session.execute(
                update(table)
                .where(table.c.id == message.id, table.c.locked_by == self.name, table.c.state == MailState.PENDING)
                .values(**values)
            )
            return affected(result) == 1
