"""Token introspection (RFC 7662) for the peers: a peer, authenticated as its client, asks whether a bearer token
it was handed is live. It learns only about tokens made for it (any other is `{"active": false}`), and gets the
member's roles as they are now, so a role taken away stops the token at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.account import members
from actors.account.clients import authenticate_client
from actors.scopes import token_digest
from actors.web import services_of
from store.models import Member, OAuthToken

BEARER_KINDS = ("access", "personal")  # a refresh token is not a bearer token
MAX_TOKEN = 512
INACTIVE: dict[str, Any] = {"active": False}


async def describe(db: AsyncSession, token: str, client_id: str, now: float, issuer: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN:
        return INACTIVE
    row = await db.get(OAuthToken, token_digest(token))
    if (
        row is None
        or row.kind not in BEARER_KINDS
        or row.client_id != client_id
        or row.revoked_at is not None
        or row.expires_at is None
        or row.expires_at <= now
    ):
        return INACTIVE
    member = await db.get(Member, row.member_id)
    if member is None:
        return INACTIVE
    return {
        "active": True,
        "iss": issuer,
        "sub": member.id,
        "client_id": row.client_id,
        "aud": row.client_id,
        "scope": row.scope,
        "token_type": "Bearer",
        "iat": int(row.created_at),
        "exp": int(row.expires_at),
        "email": member.email,
        "name": member.name,
        "roles": await members.roles_of(db, member.id),
    }


def _answer(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store", **headers})


async def introspect(request: Request) -> Response:
    services = services_of(request)
    form = await request.form(max_files=0, max_fields=10)
    client_id = await authenticate_client(request, services)
    if client_id is None:
        refusal = {"error": "invalid_client", "error_description": "the client id and secret do not match a client"}
        return _answer(refusal, 401, **{"WWW-Authenticate": 'Basic realm="account"'})
    token = form.get("token")
    if not isinstance(token, str) or not token:
        return _answer({"error": "invalid_request", "error_description": "the token to introspect is missing"}, 400)
    async with services.store.read() as db:
        body = await describe(db, token, client_id, services.clock(), services.actor.base_url)
    return _answer(body)


ROUTES = [Route("/oauth/introspect", introspect, methods=["POST"])]
