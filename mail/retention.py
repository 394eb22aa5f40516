"""Sent mail is personal data: past its retention a message's content and addresses are emptied. The row
stays, with its key and Message-ID, so a cause that runs again (a publish retried) still queues nothing twice."""

from __future__ import annotations

from sqlalchemy import and_, func, or_

from mail.states import MailState
from store.db import Store, table_of
from store.models import MailMessage
from store.retention import empty_in_batches

DONE = (MailState.SENT.value, MailState.CAUGHT.value, MailState.FAILED.value)


async def prune_mail(store: Store, now: float, retention: float, batch: int = 1000) -> int:
    """Empty the messages finished more than `retention` seconds ago; how many."""
    table = table_of(MailMessage)
    due = and_(
        table.c.state.in_(DONE),
        func.coalesce(table.c.sent_at, table.c.created_at) < now - retention,  # failed: never sent
        or_(table.c.raw.is_not(None), table.c.draft.is_not(None)),
    )
    return await empty_in_batches(store, table, due, {"raw": None, "draft": None, "recipients": [], "subject": ""}, batch)
