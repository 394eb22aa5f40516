"""The audit log: who did what, when, written in the transaction of the change it records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from actors.roles import who
from actors.web import services_of, session
from store.models import AuditEntry


async def record(
    db: AsyncSession, session_data: Mapping[str, Any], action: str, subject: str, at: float, detail: str = ""
) -> None:
    """Note `action` on `subject` by the session's holder; committed or rolled back with the change itself."""
    db.add(
        AuditEntry(at=at, who=who(session_data)[:254], action=action[:64], subject=subject[:2048], detail=detail[:2000])
    )


async def record_for(db: AsyncSession, request: Request, action: str, subject: str, detail: str = "") -> None:
    """`record` the change a staff page's request makes, by that request's session, at the peer's time."""
    services = services_of(request)
    await record(db, session(request, services), action, subject, services.clock(), detail)


async def latest(db: AsyncSession, limit: int = 500, before: int | None = None) -> list[AuditEntry]:
    """The newest entries first; with `before`, those older than the entry of that id (the next page)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return list(await db.scalars(query))
