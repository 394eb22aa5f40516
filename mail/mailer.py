"""What a peer's code calls to send an email: compose it and queue it in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from mail.compose import Attachment, Draft, QrCode, draft
from mail.queue import enqueue, enqueue_many


def _no_worker() -> None:
    """What is woken after a commit that queued mail when no worker answered (`answer_with`): nothing."""


@dataclass
class Mailer:
    sender: str  # ROSE_ASH_MAIL_FROM, e.g. "Rose Ash Blog <blog@example.org>"
    clock: Callable[[], float]
    # A factory, not a default: a function as a class-level default would become a bound method (called with self).
    _wake: Callable[[], None] = field(default_factory=lambda: _no_worker, init=False)

    def answer_with(self, wake: Callable[[], None]) -> None:
        """The mail worker's `wake`, rung after a transaction that queued mail commits."""
        self._wake = wake

    async def queue(self, session: AsyncSession, message: EmailMessage | Draft, *, key: str | None = None) -> bool:
        """Queue a composed message in `session`'s transaction (see `mail.enqueue`); the worker is woken on commit."""
        queued = await enqueue(session, message, now=self.clock(), key=key)
        if queued:
            self._wake_on_commit(session)
        return queued

    async def queue_many(self, session: AsyncSession, messages: Sequence[tuple[Draft, str]]) -> int:
        """Queue many keyed drafts at once (`mail.queue.enqueue_many`); how many were new."""
        queued = await enqueue_many(session, messages, now=self.clock())
        if queued:
            self._wake_on_commit(session)
        return queued

    def _wake_on_commit(self, session: AsyncSession) -> None:
        wake = self._wake
        event.listen(session.sync_session, "after_commit", lambda _s: wake(), once=True)

    def draft(
        self,
        *,
        to: str | Iterable[str],
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Iterable[Attachment | QrCode] = (),
        headers: Mapping[str, str] | None = None,
    ) -> Draft:
        """A checked message from this peer's sender (MailError otherwise), for `queue` or `queue_many`."""
        return draft(
            sender=self.sender, to=to, subject=subject, text=text, html=html, attachments=attachments, headers=headers
        )

    async def send(
        self,
        session: AsyncSession,
        *,
        to: str | Iterable[str],
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Iterable[Attachment | QrCode] = (),
        headers: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> bool:
        """Check and queue in one call (the worker builds the MIME message after the commit); True when queued,
        False when `key` was queued before."""
        checked = self.draft(to=to, subject=subject, text=text, html=html, attachments=attachments, headers=headers)
        return await self.queue(session, checked, key=key)
