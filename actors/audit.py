"""The audit log: who did what, when, written in the transaction of the change it records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.roles import who
from store.models import AuditEntry


async def record(
    db: AsyncSession, session_data: Mapping[str, Any], action: str, subject: str, at: float, detail: str = ""
) -> None:
    """Note `action` on `subject` by the session's holder; committed or rolled back with the change itself."""
    db.add(
        AuditEntry(at=at, who=who(session_data)[:254], action=action[:64], subject=subject[:2048], detail=detail[:2000])
    )


async def latest(db: AsyncSession, limit: int = 500) -> list[AuditEntry]:
    return list(await db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
