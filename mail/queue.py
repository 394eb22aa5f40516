"""Put an email on the durable queue, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mail.compose import Draft, MailError, build, check_address
from mail.states import MailState
from store.db import dialect, table_of
from store.models import MailMessage
from store.upsert import insert_ignore, insert_ignore_statement

_CHUNK = 500  # keys per look-up IN (…) and rows per executemany: well under the limits on bound parameters

MAX_BYTES = 10 * 1024 * 1024  # what most SMTP servers accept
TOO_BIG = "The email is larger than 10 MiB; send a link instead of the attachment."


def _addresses(message: EmailMessage, header: str) -> list[str]:
    value = message[header]
    return [a.addr_spec for a in value.addresses] if value is not None else []


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope: the From address and every To/Cc/Bcc address."""
    senders = _addresses(message, "From")
    if len(senders) != 1:
        raise MailError("An email needs exactly one From address.")
    recipients = [address for name in ("To", "Cc", "Bcc") for address in _addresses(message, name)]
    if not recipients:
        raise MailError("An email needs at least one recipient.")
    return check_address(senders[0]), [check_address(r) for r in recipients]


def serialize(message: EmailMessage) -> str:
    """The message as sent: SMTP line endings, without Bcc (which lives in the envelope only)."""
    bcc = message.get_all("Bcc") or []
    del message["Bcc"]
    try:
        return message.as_string(policy=policy.SMTP)
    finally:
        for value in bcc:
            message["Bcc"] = value


def raw_of(row: MailMessage) -> str | None:
    """A queued row's MIME text, built from its draft when it was queued unbuilt; None once emptied after its
    retention (`mail.retention`)."""
    if row.raw is not None:
        return row.raw
    if row.draft is None:
        return None
    return serialize(build(Draft.from_json(row.draft)))


async def enqueue(
    session: AsyncSession, message: EmailMessage | Draft, *, now: float, key: str | None = None
) -> bool:
    """Queue `message` in `session`'s transaction: it is sent once that commits, and never if it rolls back.
    A `key` already queued (the same cause run twice) queues nothing: False then, True when queued.

    A `Draft` (from `mail.compose.draft`) is stored as it is and built by the worker; an `EmailMessage` is
    stored built."""
    return await insert_ignore(session, MailMessage, _row(message, now, key), ("key",))


def _row(message: EmailMessage | Draft, now: float, key: str | None) -> dict[str, Any]:
    values: dict[str, Any]
    if isinstance(message, Draft):
        if message.size > MAX_BYTES:
            raise MailError(TOO_BIG)
        values = {
            "message_id": message.message_id,
            "sender": check_address(message.sender_address),
            "recipients": list(message.to),
            "subject": message.subject,
            "raw": None,
            "draft": message.to_json(),
        }
    else:
        sender, recipients = envelope(message)
        if message["Message-ID"] is None:
            raise MailError("An email needs a Message-ID: build it with mail.compose.")
        raw = serialize(message)
        if len(raw) > MAX_BYTES:
            raise MailError(TOO_BIG)
        values = {
            "message_id": str(message["Message-ID"]).strip(),
            "sender": sender,
            "recipients": recipients,
            "subject": str(message["Subject"] or ""),
            "raw": raw,
            "draft": None,
        }
    values.update(
        key=key,
        state=MailState.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        locked_until=0.0,
        locked_by=None,
        last_error=None,
        created_at=now,
        sent_at=None,
    )
    return values


async def enqueue_many(session: AsyncSession, messages: Sequence[tuple[Draft, str]], *, now: float) -> int:
    """Queue many keyed drafts with one INSERT per chunk (a newsletter to every subscriber); those whose key
    was queued before are skipped. How many were queued."""
    table = table_of(MailMessage)
    queued = 0
    for start in range(0, len(messages), _CHUNK):
        chunk = messages[start : start + _CHUNK]
        keys = [key for _, key in chunk]
        known = set(await session.scalars(select(table.c.key).where(table.c.key.in_(keys))))
        rows = [_row(message, now, key) for message, key in chunk if key not in known]
        if rows:
            await session.execute(insert_ignore_statement(dialect(session), MailMessage, ("key",)), rows)
        queued += len(rows)
    return queued
