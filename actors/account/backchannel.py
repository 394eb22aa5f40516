"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a member signs out, every client is told
with a signed logout_token, best effort and briefly; a client missed here finds out at its next refresh."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from actors.account.clients import Client
from actors.account.oidc_keys import ALG
from net.tls import client_context

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TIMEOUT = 3.0
log = logging.getLogger(__name__)


def logout_token(issuer: str, key: RSAKey, client_id: str, member: str, sid: str) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
        "sub": member,
        "sid": sid,
    }
    return jwt.encode({"alg": ALG, "kid": str(key.kid), "typ": "logout+jwt"}, claims, key, [ALG])


async def tell_clients(issuer: str, key: RSAKey, clients: list[Client], member: str, sid: str) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT, verify=client_context()) as http:

        async def tell(client: Client) -> None:
            token = logout_token(issuer, key, client.client_id, member, sid)
            try:
                answer = await http.post(client.backchannel_logout_uri, data={"logout_token": token})
                if answer.status_code != 200:
                    log.warning("back-channel logout at %s answered %s", client.client_id, answer.status_code)
            except httpx.HTTPError as exc:
                log.warning("back-channel logout at %s failed: %s", client.client_id, exc)

        await asyncio.gather(*(tell(client) for client in clients))
