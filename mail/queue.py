"""Put an email on the durable queue, in the caller's transaction."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncSession

from mail.compose import MailError, check_address
from mail.states import MailState
from store.models import MailMessage
from store.upsert import insert_ignore

MAX_BYTES = 10 * 1024 * 1024  # what most SMTP servers accept


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope: the From address and every To/Cc/Bcc address."""
    senders = _addresses(message, "From")
    if len(senders) != 1:
        raise MailError("An email needs exactly one From address.")
    recipients = [address for name in ("To", "Cc", "Bcc") for address in _addresses(message, name)]
    if not recipients:
        raise MailError("An email needs at least one recipient.")
    return check_address(senders[0]), [check_address(r) for r in recipients]


def _addresses(message: EmailMessage, header: str) -> list[str]:
    value = message[header]
    return [a.addr_spec for a in value.addresses] if value is not None else []


async def enqueue(session: AsyncSession, message: EmailMessage, *, now: float, key: str | None = None) -> bool:
    """Queue `message` in `session`'s transaction: it is sent once that commits, and never if it rolls back.
    A `key` already queued (the same cause run twice) queues nothing: False then, True when queued."""
    sender, recipients = envelope(message)
    if message["Message-ID"] is None:
        raise MailError("An email needs a Message-ID: build it with mail.compose.")
    bcc = message["Bcc"]
    del message["Bcc"]  # in the envelope, never in the headers the recipients see
    raw = message.as_string(policy=policy.SMTP)
    if bcc is not None:
        message["Bcc"] = bcc
    if len(raw) > MAX_BYTES:
        raise MailError("The email is larger than 10 MiB; send a link instead of the attachment.")
    values = {
        "key": key,
        "message_id": str(message["Message-ID"]).strip(),
        "sender": sender,
        "recipients": recipients,
        "subject": str(message["Subject"] or ""),
        "raw": raw,
        "state": MailState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "locked_until": 0.0,
        "locked_by": None,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }
    return await insert_ignore(session, MailMessage, values, ("key",))
