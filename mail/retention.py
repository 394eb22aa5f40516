"""Sent mail is personal data: past its retention a message's content and addresses are emptied. The row
stays, with its key and Message-ID, so a cause that runs again (a publish retried) still queues nothing twice."""

from __future__ import annotations

from sqlalchemy import func, or_, update

from mail.states import MailState
from store.db import Store, affected, table_of
from store.models import MailMessage

DONE = (MailState.SENT.value, MailState.CAUGHT.value, MailState.FAILED.value)


async def prune_mail(store: Store, now: float, retention: float, batch: int = 1000) -> int:
    """Empty the messages finished more than `retention` seconds ago; how many. In batches, so a first run over
    a large store does not hold one long write."""
    table = table_of(MailMessage)
    emptied = 0
    while True:
        async with store.write() as session:
            due = (
                table.select()
                .with_only_columns(table.c.id)
                .where(
                    table.c.state.in_(DONE),
                    func.coalesce(table.c.sent_at, table.c.created_at) < now - retention,  # failed: never sent
                    or_(table.c.raw.is_not(None), table.c.draft.is_not(None)),
                )
                .limit(batch)
                .scalar_subquery()
            )
            result = await session.execute(
                update(table).where(table.c.id.in_(due)).values(raw=None, draft=None, recipients=[], subject="")
            )
            count = affected(result)
        emptied += count
        if count < batch:
            return emptied
