"""Email as an outbox: a message is a row written in the transaction that causes it, sent by a worker.

The API (core: imports no actor kind; a kind reaches it as `services.mail`, a `Mailer`):

    async with services.store.write() as session:
        order = ...                                      # the change that causes the email
        await services.mail.send(
            session,
            to="ada@example.org",
            subject="Your tickets",
            text="…plain text…",                         # always: the text/plain part
            html="<p>…</p>",                             # optional text/html alternative
            attachments=[Attachment("event.ics", ics_bytes, "text/calendar"),
                         Attachment("ticket-1.png", png, "image/png", inline_id="t1"),   # <img src="cid:t1">
                         QrCode("ticket-2.png", code, inline_id="t2")],  # a PNG the worker draws
            headers={"List-Unsubscribe": "<https://…>"},  # optional extra headers (no line breaks)
            key=f"order-paid:{order_id}",               # optional: the same key twice queues once
        )

- `send` returns True when queued, False when `key` was queued before (a retried cause sends nothing twice).
  The message commits or rolls back with the caller's change: a crash never loses one nor invents one.
- Bad input (an address that is not one, a header with a line break, over 10 MiB) raises `MailError`, with a
  sentence to show, before anything is written.
- A `QrCode(filename, text, inline_id=…)` attachment is the QR symbol of `text` as a PNG, drawn by the worker
  when it builds the message (a few milliseconds each, which the causing transaction need not hold).
- `send` checks everything and stores a draft (a JSON insert, well under a millisecond); the worker builds the
  MIME message (stdlib `email`: about 5 ms each here) after the commit, so a post emailed to thousands of
  subscribers does not hold its transaction for seconds.
- `mail.compose(...)` builds the `EmailMessage` at once without queueing; `services.mail.queue(session,
  message, key=...)` queues one built elsewhere (or a `mail.draft(...)`); `mail.enqueue(session, message,
  now=..., key=...)` is the bare function.
- Sending: `mail.worker.MailWorker` runs in the peer process and in `rose-ash worker`. It claims due rows
  with a lease, sends over SMTP (`ROSE_ASH_SMTP_URL`: `smtp://user:password@host:587`, STARTTLS when offered,
  `?tls=required` to insist; `smtps://host:465`), retries 4xx and unreachable servers with exponential backoff
  (the delivery retry policy, `ROSE_ASH_RETRY_BASE`), gives up on 5xx, and marks each message sent once. Every
  message has its own Message-ID, the same on every attempt: a crash between the server taking a message and
  the worker marking it sends it again, recognisably the same message.
- With no `ROSE_ASH_SMTP_URL` (as under `rose-ash up`) nothing leaves: messages are "caught" and the admin reads
  them at `/admin/mail` (`mail.reading` parses them; HTML is sanitized).
- `ROSE_ASH_MAIL_FROM` is the From address. The SMTP password is never logged nor shown.
- Tests: `tests/support/smtp.py` runs a real SMTP server (aiosmtpd) on loopback and parses what it receives.
"""

from mail.compose import Attachment, Draft, MailError, QrCode, build, check_address, compose, draft
from mail.mailer import Mailer
from mail.queue import enqueue
from mail.states import MailState

__all__ = [
    "Attachment", "Draft", "MailError", "MailState", "Mailer", "QrCode", "build", "check_address", "compose", "draft",
    "enqueue",
]  # fmt: skip
