"""Members: their addresses, passwords (argon2id through argon2-cffi) and roles."""

from __future__ import annotations

import uuid
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.roles import ROLES
from mail import MailError
from mail.compose import check_address
from store.models import Member, MemberRole

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" is only a way to burn our CPU
_hasher = PasswordHasher()
# Verified against when the address is unknown, so that a wrong address costs as long as a wrong password.
_DECOY = _hasher.hash("not a password of anyone's")


class MemberError(ValueError):
    """A sentence for the person at the form."""


def normal_email(value: str) -> str:
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise MemberError("That is not an email address.")
    try:
        check_address(email)  # one the mail queue can send to
    except MailError:
        raise MemberError("That is not an email address.") from None
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise MemberError(f"Choose a password of at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise MemberError(f"A password can be at most {MAX_PASSWORD} characters.")


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def password_matches(member: Member | None, password: str) -> bool:
    """Whether `password` is the member's; the same work is done for an unknown member or one with no password."""
    if len(password) > MAX_PASSWORD:
        return False
    stored = member.password_hash if member is not None and member.password_hash else _DECOY
    try:
        ok = _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and member is not None and bool(member.password_hash)


async def by_email(db: AsyncSession, email: str) -> Member | None:
    return await db.scalar(select(Member).where(Member.email == email.strip().lower()))


async def new_member(db: AsyncSession, email: str, name: str, password_hash: str | None, now: float) -> Member:
    member = Member(
        id=str(uuid.uuid4()),
        email=normal_email(email),
        name=name.strip()[:200],
        password_hash=password_hash,
        created_at=now,
        password_changed_at=now if password_hash else None,
    )
    db.add(member)
    await db.flush()
    return member


async def roles_of(db: AsyncSession, member_id: str) -> list[str]:
    rows = await db.scalars(select(MemberRole.role).where(MemberRole.member_id == member_id))
    return sorted(r for r in rows if r in ROLES)


async def set_roles(db: AsyncSession, member_id: str, roles: set[str], by: str, now: float) -> None:
    unknown = roles - set(ROLES)
    if unknown:
        raise MemberError(f"There is no role called {sorted(unknown)[0]}.")
    await db.execute(delete(MemberRole).where(MemberRole.member_id == member_id, MemberRole.role.not_in(roles)))
    held = set(await roles_of(db, member_id))
    for role in sorted(roles - held):
        db.add(MemberRole(member_id=member_id, role=role, granted_by=by[:254], granted_at=now))


async def count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Member)) or 0)


def session_data(member: Member, roles: list[str]) -> dict[str, Any]:
    """What a signed-in session at the account service holds (actors/roles.py reads the roles)."""
    return {"member": member.id, "email": member.email, "name": member.name, "roles": roles}
