"""A queued email's lifecycle."""

from __future__ import annotations

from enum import StrEnum

from store.lifecycle import Lifecycle


class MailState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at; claimed by a worker while its lease lasts
    SENT = "sent"  # the SMTP server took it
    CAUGHT = "caught"  # no SMTP server is configured: kept for the admin's mail page instead
    FAILED = "failed"  # refused for good (5xx) or past the give-up horizon


MAIL = Lifecycle(
    "mail",
    MailState,
    {MailState.PENDING: frozenset({MailState.PENDING, MailState.SENT, MailState.CAUGHT, MailState.FAILED})},
)
