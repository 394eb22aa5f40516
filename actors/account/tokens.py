"""Authorization codes and tokens at the account service, kept as digests (oauth_codes, oauth_tokens).

The tokens made from one code, and every refresh token rotated from them with their access tokens, are one
grant: each row's `name` is the grant's id (the code's digest). A replayed code, or a refresh token used again
after it was rotated, revokes its whole grant. These run inside Authlib's (synchronous) grant hooks, on the
synchronous face of the request's store session (`AsyncSession.run_sync`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from actors.roles import ROLES
from store.models import Member, MemberRole, OAuthCode, OAuthToken

CODE_SECONDS = 60.0
ACCESS_SECONDS = 600.0
REFRESH_SECONDS = 30 * 24 * 3600.0
SIGNED_IN_KINDS = ("access", "refresh")  # a member's personal tokens outlive their sign-ins


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Holder:
    """The member a code or token speaks for, with what their ID token and userinfo say of them."""

    id: str
    email: str
    email_verified: bool
    name: str
    roles: list[str] = field(default_factory=list)
    sid: str = ""

    def get_user_id(self) -> str:
        return self.id

    def claims(self) -> dict[str, object]:
        return {
            "sub": self.id,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.name,
            "roles": self.roles,
            "sid": self.sid,
        }


def holder(db: Session, member_id: str, sid: str) -> Holder | None:
    member = db.get(Member, member_id)
    if member is None:
        return None
    roles = sorted(
        r for r in db.scalars(select(MemberRole.role).where(MemberRole.member_id == member_id)) if r in ROLES
    )
    return Holder(member.id, member.email, member.email_verified_at is not None, member.name, roles, sid)


class Code:
    """An unused, unexpired authorization code, as Authlib's grant reads it."""

    def __init__(self, row: OAuthCode) -> None:
        self.row = row

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.row.auth_time)

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class Refresh:
    """A live refresh token, as Authlib's refresh grant reads it."""

    def __init__(self, row: OAuthToken, now: float) -> None:
        self.row = row
        self.now = now

    def check_client(self, client: object) -> bool:
        return getattr(client, "client_id", None) == self.row.client_id

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.row.expires_at or self.now) - self.now)

    def is_expired(self) -> bool:
        return self.row.expires_at is not None and self.row.expires_at <= self.now

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None


def save_code(db: Session, code: str, values: dict[str, object], now: float) -> None:
    db.execute(delete(OAuthCode).where(OAuthCode.expires_at < now - 24 * 3600))
    db.add(OAuthCode(id=digest(code), expires_at=now + CODE_SECONDS, used_at=None, **values))


def usable_code(db: Session, code: str, client_id: str, now: float) -> Code | None:
    """The code if it may be exchanged by this client now; a code used before revokes what it gave."""
    row = db.get(OAuthCode, digest(code), with_for_update=True)
    if row is None:
        return None
    if row.used_at is not None:
        revoke_grant(db, row.id, now)
        return None
    if row.client_id != client_id or row.expires_at <= now:
        return None
    return Code(row)


def use_code(db: Session, code: Code, now: float) -> None:
    code.row.used_at = now


def save_tokens(db: Session, token: dict[str, object], client_id: str, holder: Holder, grant: str, now: float) -> str:
    """Store the access (and refresh) token just issued under `grant`; the new refresh token's digest, if any."""
    scope = str(token.get("scope", ""))
    common = {"client_id": client_id, "member_id": holder.id, "scope": scope, "session_id": holder.sid or None}
    db.add(
        OAuthToken(
            id=digest(str(token["access_token"])),
            kind="access",
            name=grant,
            created_at=now,
            expires_at=now + ACCESS_SECONDS,
            **common,
        )
    )
    refresh = token.get("refresh_token")
    if not isinstance(refresh, str):
        return ""
    db.add(
        OAuthToken(
            id=digest(refresh), kind="refresh", name=grant, created_at=now, expires_at=now + REFRESH_SECONDS, **common
        )
    )
    return digest(refresh)


def live_refresh(db: Session, secret: str, now: float) -> Refresh | None:
    """The refresh token if it may be used now; one already rotated revokes its whole grant (it was stolen, or
    the thief has already used it)."""
    row = db.get(OAuthToken, digest(secret), with_for_update=True)
    if row is None or row.kind != "refresh":
        return None
    if row.replaced_by is not None:
        revoke_grant(db, row.name, now)
        return None
    found = Refresh(row, now)
    return None if found.is_revoked() or found.is_expired() else found


def rotate(db: Session, old: Refresh, new_digest: str) -> None:
    old.row.replaced_by = new_digest or "revoked"


def revoke_grant(db: Session, grant: str, now: float) -> None:
    db.execute(
        update(OAuthToken)
        .where(OAuthToken.name == grant, OAuthToken.kind.in_(SIGNED_IN_KINDS), OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_member(db: Session, member_id: str, now: float) -> None:
    """Signing out everywhere: every access and refresh token of the member stops working."""
    db.execute(
        update(OAuthToken)
        .where(
            OAuthToken.member_id == member_id,
            OAuthToken.kind.in_(SIGNED_IN_KINDS),
            OAuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


def live_access(db: Session, secret: str, now: float) -> OAuthToken | None:
    row = db.get(OAuthToken, digest(secret))
    if row is None or row.kind != "access" or row.revoked_at is not None:
        return None
    return row if row.expires_at is not None and row.expires_at > now else None
