"""Who a bearer token on the outbox speaks for: the admin token, or a member's personal access token, asked of
the account service by introspection (RFC 7662) and honoured only for this peer, with the kind's scope and while
the member still holds the kind's role. Answers are kept a short while, by the token's digest."""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from actors import roles
from actors.context import Services
from actors.scopes import Scope, token_audience, token_digest
from peer.respond import error

MAX_CACHE_SECONDS = 30.0
CACHE_SIZE = 1024
INTROSPECTION_TIMEOUT = 5.0


@dataclass
class IntrospectionCache:
    """The account service's answers, by token digest, for `seconds` (monotonic), the oldest dropped first."""

    seconds: float = MAX_CACHE_SECONDS
    size: int = CACHE_SIZE
    clock: Callable[[], float] = time.monotonic
    _answers: OrderedDict[str, tuple[float, dict[str, Any]]] = field(default_factory=OrderedDict)

    def get(self, digest: str) -> dict[str, Any] | None:
        found = self._answers.get(digest)
        if found is None:
            return None
        if self.clock() - found[0] >= self.seconds:
            del self._answers[digest]
            return None
        return found[1]

    def put(self, digest: str, answer: dict[str, Any]) -> None:
        self._answers[digest] = (self.clock(), answer)
        self._answers.move_to_end(digest)
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)


class AccountUnavailable(Exception):
    """The account service could not answer; the sentence says why."""


def cache_of(request: Request) -> IntrospectionCache:
    cache = getattr(request.app.state, "bearer_cache", None)
    if not isinstance(cache, IntrospectionCache):
        cache = request.app.state.bearer_cache = IntrospectionCache()
    return cache


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _unauthorized(reason: str, invalid: bool = True) -> Response:
    challenge = 'Bearer realm="outbox"' + (', error="invalid_token"' if invalid else "")
    return error(401, reason, **{"WWW-Authenticate": challenge})


def _forbidden(reason: str, scope: str) -> Response:
    return error(
        403, reason, **{"WWW-Authenticate": f'Bearer realm="outbox", error="insufficient_scope", scope="{scope}"'}
    )


async def introspect(services: Services, token: str) -> dict[str, Any]:
    """The account service's answer about `token`, this peer authenticating as its client."""
    account = services.peers.get("account")
    if not account or not services.oidc_secret:
        raise AccountUnavailable(
            "members' tokens cannot be checked here: this peer knows no account service (ROSE_ASH_PEERS "
            "account=… and ROSE_ASH_OIDC_SECRET)"
        )
    try:
        response = await services.fetcher.client.post(
            f"{account}/oauth/introspect",
            data={"token": token, "token_type_hint": "access_token"},
            auth=(services.actor.name, services.oidc_secret),
            headers={"accept": "application/json"},
            timeout=INTROSPECTION_TIMEOUT,
        )
    except httpx.HTTPError:
        raise AccountUnavailable(
            "the account service could not be reached to check the token; try again soon"
        ) from None
    if response.status_code != 200:
        raise AccountUnavailable(f"the account service would not check the token (HTTP {response.status_code})")
    try:
        answer = response.json()
    except ValueError:
        raise AccountUnavailable("the account service's answer about the token was not JSON") from None
    if not isinstance(answer, dict):
        raise AccountUnavailable("the account service's answer about the token was not a JSON object")
    return answer


async def holder_of(
    request: Request, services: Services, access: Scope | None, doing: str = "posting here"
) -> dict[str, Any] | Response:
    """The session-like data of whoever the request's bearer token speaks for, or the response refusing it;
    `doing` names the action in the sentence refusing a token without `access`'s scope."""
    token = _bearer(request)
    if token is None:
        return _unauthorized("a bearer token is required", invalid=False)
    if hmac.compare_digest(token.encode(), services.admin_token.encode()):
        if services.admin_token_login:
            return {"admin": True}
        return _unauthorized("the admin token is switched off here: use a member's personal access token")
    mine = services.actor.name
    if access is None:
        return _unauthorized(f"a bearer token is required: this outbox ({mine}) takes the admin token only")
    audience = token_audience(token)
    if audience is None:
        return _unauthorized(
            "a bearer token is required: the admin token, or a member's personal access token from the account service"
        )
    if audience != mine:
        return _forbidden(
            f"this token was made for {audience}, not for {mine}: make one for {mine} on your account's tokens page",
            access.name,
        )
    cache, digest = cache_of(request), token_digest(token)
    answer = cache.get(digest)
    if answer is None:
        try:
            answer = await introspect(services, token)
        except AccountUnavailable as exc:
            return error(503, str(exc), **{"Retry-After": "5"})
        cache.put(digest, answer)
    return _judged(answer, services, access, doing)


def _judged(answer: dict[str, Any], services: Services, access: Scope, doing: str) -> dict[str, Any] | Response:
    mine = services.actor.name
    exp = answer.get("exp")
    if answer.get("active") is not True or not isinstance(exp, int | float) or exp <= services.clock():
        return _unauthorized("this token is not valid: it is unknown, expired or revoked")
    if answer.get("aud") != mine or answer.get("client_id") != mine:
        return _forbidden(f"this token was made for {answer.get('aud')}, not for {mine}", access.name)
    scopes = str(answer.get("scope", "")).split()
    if access.name not in scopes:
        return _forbidden(f"this token does not carry the scope {access.name}, which {doing} needs", access.name)
    held = answer.get("roles")
    data: dict[str, Any] = {"member": answer.get("sub"), "email": answer.get("email"), "roles": held}
    if not isinstance(held, list) or not roles.allows(data, access.role):
        label = roles.ROLES[access.role]
        return _forbidden(f"the token's member does not hold the role {label}, which {access.name} needs", access.name)
    return data
