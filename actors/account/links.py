"""One-time links emailed to members (verify an address, reset a password, confirm a new address, accept an
invitation). The secret is only in the email; the store keeps its sha256 digest (MemberLink.id). A new link of a
purpose replaces the member's older ones of that purpose, and a link works once, until it expires."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from urllib.parse import quote

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.context import Services
from store.models import MemberLink

LIFETIMES = {"verify": 48 * 3600.0, "reset": 3600.0, "email": 48 * 3600.0, "invite": 7 * 24 * 3600.0}
PAGES = {"verify": "/verify", "reset": "/reset/new", "email": "/email/confirm", "invite": "/invitation"}
MAX_SECRET = 200
INVALID = (
    "This link is not valid: it was used already, has expired, was replaced by a newer one, or was copied incompletely."
)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def make(db: AsyncSession, member_id: str, purpose: str, email: str, now: float) -> str:
    """A new link for the member (their older links of this purpose stop working); its secret, for the email."""
    secret = secrets.token_urlsafe(32)
    await db.execute(delete(MemberLink).where(MemberLink.member_id == member_id, MemberLink.purpose == purpose))
    db.add(
        MemberLink(
            id=digest(secret),
            purpose=purpose,
            member_id=member_id,
            email=email,
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    await db.flush()
    return secret


async def live(db: AsyncSession, secret: str, purpose: str, now: float) -> MemberLink | None:
    """The link the secret opens, while it is unused and unexpired; None otherwise."""
    if not secret or len(secret) > MAX_SECRET:
        return None
    row = await db.get(MemberLink, digest(secret))
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= now:
        return None
    return row


async def opened(services: Services, query: Mapping[str, str], purpose: str) -> tuple[str, MemberLink | None]:
    """The secret of the link a page was opened with (its `?token=`) and the live link it names, or None."""
    secret = query.get("token", "")
    async with services.store.read() as db:
        return secret, await live(db, secret, purpose, services.clock())


async def use(db: AsyncSession, secret: str, purpose: str, now: float) -> MemberLink | None:
    """Spend the link (in the caller's transaction): the live link, now used; None when it is not live."""
    row = await live(db, secret, purpose, now)
    if row is not None:
        row.used_at = now
        await db.flush()
    return row


async def drop(db: AsyncSession, member_id: str, purpose: str) -> None:
    await db.execute(delete(MemberLink).where(MemberLink.member_id == member_id, MemberLink.purpose == purpose))


async def pending_email(db: AsyncSession, member_id: str, now: float) -> str | None:
    """The new address a member asked to move to and has not confirmed yet."""
    row = await db.scalar(
        select(MemberLink).where(
            MemberLink.member_id == member_id,
            MemberLink.purpose == "email",
            MemberLink.used_at.is_(None),
            MemberLink.expires_at > now,
        )
    )
    return row.email if row is not None else None


def url(services: Services, purpose: str, secret: str) -> str:
    return services.actor.url(f"{PAGES[purpose].lstrip('/')}?token={quote(secret)}")
