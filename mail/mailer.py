"""What a peer's code calls to send an email: compose it and queue it in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from mail.compose import Attachment, compose
from mail.queue import enqueue


@dataclass
class Mailer:
    sender: str  # ROSE_ASH_MAIL_FROM, e.g. "Rose Ash Blog <blog@example.org>"
    clock: Callable[[], float]
    _wake: Callable[[], None] = field(default=lambda: None, init=False)

    def answer_with(self, wake: Callable[[], None]) -> None:
        """The mail worker's `wake`, rung after a transaction that queued mail commits."""
        self._wake = wake

    def compose(
        self,
        *,
        to: str | Iterable[str],
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Iterable[Attachment] = (),
        headers: Mapping[str, str] | None = None,
    ) -> EmailMessage:
        return compose(
            sender=self.sender, to=to, subject=subject, text=text, html=html, attachments=attachments, headers=headers
        )

    async def queue(self, session: AsyncSession, message: EmailMessage, *, key: str | None = None) -> bool:
        """Queue a composed message in `session`'s transaction (see `mail.enqueue`); the worker is woken on commit."""
        queued = await enqueue(session, message, now=self.clock(), key=key)
        if queued:
            wake = self._wake
            event.listen(session.sync_session, "after_commit", lambda _s: wake(), once=True)
        return queued

    async def send(
        self,
        session: AsyncSession,
        *,
        to: str | Iterable[str],
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Iterable[Attachment] = (),
        headers: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> bool:
        """Compose and queue in one call; True when queued, False when `key` was queued before."""
        message = self.compose(to=to, subject=subject, text=text, html=html, attachments=attachments, headers=headers)
        return await self.queue(session, message, key=key)
