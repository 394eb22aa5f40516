"""A signed-in member's personal access tokens (client-to-server): one peer each, the scopes their roles allow,
a name and an expiry. The token is shown once; only its digest is kept (OAuthToken, kind "personal")."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import roles
from actors.account import members
from actors.context import Services
from actors.scopes import PEERS, SCOPES, TOKEN_PREFIX, token_digest
from actors.web import checked_form, redirect, render, services_of, session
from store.models import Member, OAuthToken

PAGE = "/account/tokens"
DEFAULT_DAYS, MAX_DAYS = 30, 365
MAX_TOKENS = 50  # live tokens a member may hold at once
MAX_NAME = 200
NO_MEMBER = (
    "Personal access tokens belong to members. The admin token is no member: sign in with your email address "
    "and password to make one."
)


class TokenRefused(ValueError):
    """A sentence for the member at the form."""


def _day(at: float | None) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d") if at else "—"


async def _signed_in(db: AsyncSession, data: dict[str, Any]) -> Member | None:
    member_id = data.get("member")
    return await db.get(Member, member_id) if isinstance(member_id, str) else None


async def _live_tokens(db: AsyncSession, member_id: str, now: float) -> list[OAuthToken]:
    rows = await db.scalars(
        select(OAuthToken)
        .where(
            OAuthToken.member_id == member_id,
            OAuthToken.kind == "personal",
            OAuthToken.revoked_at.is_(None),
            OAuthToken.expires_at > now,
        )
        .order_by(OAuthToken.created_at.desc())
    )
    return list(rows)


def wanted(form: FormData, held: frozenset[str]) -> tuple[str, str, list[str], int]:
    """The name, peer, scopes and days the form asks for, each checked against what the member may have."""
    name = str(form.get("name", "")).strip()
    if not name:
        raise TokenRefused("Give the token a name, so that you know it again in the list (the client it is for).")
    if len(name) > MAX_NAME:
        raise TokenRefused(f"A token's name can be at most {MAX_NAME} characters.")
    peer = str(form.get("peer", ""))
    if peer not in PEERS:
        raise TokenRefused(f"Choose the peer the token is for: {', '.join(PEERS)}.")
    asked = sorted({str(s) for s in form.getlist("scope")})
    if not asked:
        raise TokenRefused("Choose at least one scope: what the token may do.")
    for name_of_scope in asked:
        scope = SCOPES.get(name_of_scope)
        if scope is None:
            raise TokenRefused(f"There is no scope called {name_of_scope[:60]}.")
        if scope.peer != peer:
            raise TokenRefused(
                f"The scope {scope.name} is used at {scope.peer}, not at {peer}: make a separate token for {scope.peer}."
            )
        if scope.role not in held:
            raise TokenRefused(
                f"The scope {scope.name} needs the role {roles.ROLES[scope.role]}, which you do not have; "
                "an admin of the cooperative can give it to you."
            )
    raw_days = str(form.get("days", "") or DEFAULT_DAYS).strip()
    if not raw_days.isdigit() or not 1 <= int(raw_days) <= MAX_DAYS:
        raise TokenRefused(f"A token lasts from 1 to {MAX_DAYS} days; {raw_days[:20]!r} is not such a number.")
    return name, peer, asked, int(raw_days)


async def _page(
    request: Request, services: Services, member: Member, held: frozenset[str], status: int = 200, **extra: Any
) -> Response:
    async with services.store.read() as db:
        tokens = await _live_tokens(db, member.id, services.clock())
    listed = [
        {
            "id": t.id,
            "name": t.name,
            "peer": t.client_id,
            "scopes": t.scope.split(),
            "created": _day(t.created_at),
            "expires": _day(t.expires_at),
        }
        for t in tokens
    ]
    scopes = [
        {"name": s.name, "peer": s.peer, "label": s.label, "role": roles.ROLES[s.role], "allowed": s.role in held}
        for s in SCOPES.values()
    ]
    context = {"tokens": listed, "scopes": scopes, "peer_names": PEERS, "default_days": DEFAULT_DAYS, **extra}
    context.setdefault("form", {"name": "", "peer": "", "scopes": [], "days": DEFAULT_DAYS})
    return render(request, services, "account/tokens.html", context, status, private=True)


async def _member_or_refusal(request: Request, services: Services) -> tuple[Member, frozenset[str]] | Response:
    data = session(request, services)
    if "member" not in data:
        if data.get("admin") is True:
            return render(request, services, "account/tokens.html", {"no_member": NO_MEMBER}, 403, private=True)
        return RedirectResponse(f"/signin?next={PAGE}", status_code=303)
    async with services.store.read() as db:
        member = await _signed_in(db, data)
        held = roles.roles_of({"roles": await members.roles_of(db, member.id)}) if member else frozenset()
    if member is None:
        return RedirectResponse(f"/signin?next={PAGE}", status_code=303)
    return member, held


async def _make(services: Services, member: Member, name: str, peer: str, scopes: list[str], days: int) -> str:
    """A new token (returned once, kept as its digest), unless the member holds too many already."""
    now = services.clock()
    token = f"{TOKEN_PREFIX}.{peer}.{secrets.token_urlsafe(32)}"
    async with services.store.write() as db:
        if len(await _live_tokens(db, member.id, now)) >= MAX_TOKENS:
            raise TokenRefused(f"You hold {MAX_TOKENS} tokens already; revoke one you no longer use first.")
        db.add(
            OAuthToken(
                id=token_digest(token),
                kind="personal",
                client_id=peer,
                member_id=member.id,
                scope=" ".join(scopes),
                name=name,
                created_at=now,
                expires_at=now + days * 86400.0,
            )
        )
    return token


async def tokens_page(request: Request) -> Response:
    services = services_of(request)
    found = await _member_or_refusal(request, services)
    if isinstance(found, Response):
        return found
    member, held = found
    if request.method == "GET":
        return await _page(request, services, member, held)
    form = await checked_form(request, services)
    try:
        name, peer, scopes, days = wanted(form, held)
        token = await _make(services, member, name, peer, scopes, days)
    except TokenRefused as exc:
        shown: dict[str, Any] = {
            "name": str(form.get("name", ""))[:MAX_NAME],
            "peer": str(form.get("peer", "")),
            "days": str(form.get("days", ""))[:20],
            "scopes": [str(s) for s in form.getlist("scope")],
        }
        return await _page(request, services, member, held, 400, error=str(exc), form=shown)
    shown_once = {"token": token, "name": name, "peer": peer, "peer_url": services.peers.get(peer, "")}
    return await _page(request, services, member, held, 201, made=shown_once)


async def revoke(request: Request) -> Response:
    services = services_of(request)
    found = await _member_or_refusal(request, services)
    if isinstance(found, Response):
        return found
    member, held = found
    form = await checked_form(request, services)
    digest = str(form.get("token", ""))
    async with services.store.write() as db:
        row = await db.get(OAuthToken, digest) if digest else None
        mine = row is not None and row.kind == "personal" and row.member_id == member.id and row.revoked_at is None
        if mine and row is not None:
            row.revoked_at = services.clock()
    if not mine:
        return await _page(request, services, member, held, 404, error="You hold no such token (already revoked?).")
    return redirect(request, services, PAGE)


ROUTES = [
    Route(PAGE, tokens_page, methods=["GET", "POST"]),
    Route(f"{PAGE}/revoke", revoke, methods=["POST"]),
]
