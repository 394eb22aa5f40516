"""Members' sign-in on a peer through the account service: the button on /login, the silent check on a
browser's first page (one redirect with prompt=none), /auth/callback, refreshing a session's roles, back-channel
logout and signing out everywhere.

The flow's state, nonce and PKCE verifier live in a cookie signed with the peer's session secret and bound to
the visitor's session id, so a callback from another browser, or for another sign-in, is refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from actors.context import Services
from actors.sessions import close_member_sessions
from actors.web import (
    SESSION_SCOPE,
    TOKEN_SCOPE,
    checked_form,
    cookie_name,
    redirect,
    render,
    safe_next,
    services_of,
    session,
    sign_in,
    sign_out,
)
from peer.oidc_client import AccountClient, Refused, SignInError, enabled, pkce_pair

log = logging.getLogger(__name__)
REFRESH_AFTER = 300.0  # a member's session re-reads their roles from the account service this often
FLOW_SECONDS = 600
NOT_FOR_SILENT = ("/auth/", "/static/", "/.well-known/", "/login", "/logout", "/healthz", "/metrics", "/embed")
STALE = "This sign-in was started somewhere else or has expired; start again from the sign-in page."


def _flow_cookie(services: Services) -> str:
    return f"{cookie_name(services)}_signin"


def _checked_cookie(services: Services) -> str:
    return f"{cookie_name(services)}_checked"


def _mac(services: Services, payload: bytes) -> str:
    return hmac.new(services.sessions.secret, b"signin:" + payload, hashlib.sha256).hexdigest()


def _seal(services: Services, flow: dict[str, Any]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(flow, separators=(",", ":")).encode()).decode()
    return f"{payload}.{_mac(services, payload.encode())}"


def _unseal(services: Services, raw: str) -> dict[str, Any] | None:
    payload, _, mac = raw.partition(".")
    if not payload or not hmac.compare_digest(_mac(services, payload.encode()), mac):
        return None
    try:
        flow = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    return flow if isinstance(flow, dict) else None


def start(request: Request, services: Services, back: str, *, silent: bool) -> Response:
    """Send the browser to the account service's authorize endpoint, remembering what the callback checks."""
    client = AccountClient.of(services)
    verifier, challenge = pkce_pair()
    flow = {
        "sid": session(request, services)["sid"],
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": verifier,
        "next": safe_next(back),
        "silent": silent,
    }
    response = redirect(request, services, client.authorize_url(flow["state"], flow["nonce"], challenge, silent=silent))
    _set_cookie(response, services, _flow_cookie(services), _seal(services, flow), FLOW_SECONDS)
    return response


def _set_cookie(response: Response, services: Services, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=services.actor.base_url.startswith("https://"),
    )


async def begin(request: Request) -> Response:
    """The "Sign in with your account" button."""
    services = services_of(request)
    form = await checked_form(request, services)
    if not enabled(services):
        return redirect(request, services, "/login")
    return start(request, services, str(form.get("next", "")), silent=False)


def login_context(services: Services, back: str | None) -> dict[str, object]:
    """What /login shows: the button for members (when there is an account service) and the admin token's form
    (unless it is switched off)."""
    return {
        "next": safe_next(back),
        "member_signin": enabled(services),
        "admin_token_login": services.admin_token_login,
    }


def _login_page(request: Request, services: Services, error: str, back: str = "/") -> Response:
    return render(request, services, "layout/login.html", {**login_context(services, back), "error": error}, 400)


async def callback(request: Request) -> Response:
    services = services_of(request)
    if not enabled(services):
        return redirect(request, services, "/login")
    flow = _unseal(services, request.cookies.get(_flow_cookie(services), ""))
    state = request.query_params.get("state", "")
    if (
        flow is None
        or not hmac.compare_digest(str(flow.get("sid", "")), str(session(request, services).get("sid", "")))
        or not state
        or not hmac.compare_digest(str(flow.get("state", "")), state)
    ):
        return _login_page(request, services, STALE)
    back = safe_next(str(flow.get("next", "")))
    if "error" in request.query_params:
        if flow.get("silent"):
            response = redirect(request, services, back)
            _set_cookie(response, services, _checked_cookie(services), "1", None)
        else:
            response = _login_page(request, services, "The account service did not sign you in.", back)
        response.delete_cookie(_flow_cookie(services))
        return response
    client = AccountClient.of(services)
    try:
        answer = await client.exchange(request.query_params.get("code", ""), str(flow["verifier"]))
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise SignInError("The account service sent no ID token.")
        claims = await client.verify_id_token(id_token, str(flow["nonce"]))
    except SignInError as exc:
        response = _login_page(request, services, str(exc), back)
        response.delete_cookie(_flow_cookie(services))
        return response
    roles = claims.get("roles")
    await sign_in(
        request,
        services,
        {
            "member": str(claims["sub"]),
            "email": str(claims.get("email", "")),
            "name": str(claims.get("name", "")),
            "roles": [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else [],
            "account_sid": str(claims.get("sid", "")),
            "refresh_token": str(answer.get("refresh_token", "")),
            "refreshed_at": services.clock(),
            "id_token": id_token,
        },
    )
    response = redirect(request, services, back)
    response.delete_cookie(_flow_cookie(services))
    response.delete_cookie(_checked_cookie(services))
    return response


async def backchannel_logout(request: Request) -> Response:
    services = services_of(request)
    if not enabled(services):
        return JSONResponse({"error": "invalid_request", "error_description": "no account service here"}, 400)
    form = await request.form()
    token = form.get("logout_token")
    if not isinstance(token, str):
        return JSONResponse({"error": "invalid_request", "error_description": "send a logout_token"}, 400)
    try:
        member, _ = await AccountClient.of(services).verify_logout_token(token)
    except SignInError as exc:
        return JSONResponse({"error": "invalid_request", "error_description": str(exc)}, 400)
    ended = await close_member_sessions(services.store, member)
    return JSONResponse({"ended": ended}, headers={"Cache-Control": "no-store"})


async def sign_out_everywhere(request: Request, services: Services) -> Response:
    """End this peer's session; a member's is ended at the account service too (and so at every peer)."""
    data = session(request, services)
    id_token = data.get("id_token") if "member" in data else None
    await sign_out(request, services)
    if enabled(services) and isinstance(id_token, str):
        return redirect(request, services, AccountClient.of(services).logout_url(id_token))
    return redirect(request, services, "/")


ROUTES = (
    Route("/auth/signin", begin, methods=["POST"]),
    Route("/auth/callback", callback),
    Route("/auth/backchannel-logout", backchannel_logout, methods=["POST"]),
)


def is_first_page(request: Request) -> bool:
    """A browser opening a page: a top-level navigation by its Fetch Metadata (every current browser sends it),
    so that no script, feed reader, ActivityPub fetch, frame or form post is sent through the account service
    (a browser without Fetch Metadata signs in with the Sign in button)."""
    if request.method != "GET" or request.url.path.startswith(NOT_FOR_SILENT):
        return False
    mode, dest = request.headers.get("sec-fetch-mode"), request.headers.get("sec-fetch-dest", "document")
    return mode == "navigate" and dest == "document"


class MemberSessions:
    """After SessionLoader: a first page without a session checks once, silently, whether the browser is
    signed in at the account service; a member's session re-reads their roles when it is a few minutes old,
    and ends if the account service no longer honours it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._refreshing: dict[str, asyncio.Lock] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            services = services_of(request)
            if enabled(services):
                data = scope.get(SESSION_SCOPE) or {}
                if isinstance(data.get("refresh_token"), str) and data["refresh_token"]:
                    await self._refresh(request, services, data)
                elif (
                    "member" not in data
                    and data.get("admin") is not True
                    and _checked_cookie(services) not in request.cookies
                    and is_first_page(request)
                ):
                    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    await start(request, services, back, silent=True)(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _refresh(self, request: Request, services: Services, data: dict[str, Any]) -> None:
        token = request.scope.get(TOKEN_SCOPE)
        if not isinstance(token, str) or services.clock() - float(data.get("refreshed_at", 0)) < REFRESH_AFTER:
            return
        lock = self._refreshing.setdefault(token, asyncio.Lock())
        try:
            async with lock:
                await self._refresh_once(request, services, token)
        finally:
            if not lock.locked():
                self._refreshing.pop(token, None)

    async def _refresh_once(self, request: Request, services: Services, token: str) -> None:
        current = await services.sessions.load(token)  # another request may have refreshed it meanwhile
        if current is None:
            await sign_out(request, services)
            return
        if services.clock() - float(current.get("refreshed_at", 0)) < REFRESH_AFTER:
            request.scope[SESSION_SCOPE] = current
            return
        client = AccountClient.of(services)
        try:
            answer = await client.refresh(str(current.get("refresh_token", "")))
            info = await client.userinfo(str(answer["access_token"]))
            if info.get("sub") != current.get("member"):
                raise Refused("the account service answered for someone else")
        except Refused:
            await sign_out(request, services)
            return
        except SignInError as exc:
            log.warning("could not refresh a member's session: %s", exc)
            return
        roles = info.get("roles")
        fresh = {
            **current,
            "email": str(info.get("email", current.get("email", ""))),
            "name": str(info.get("name", current.get("name", ""))),
            "roles": [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else [],
            "refresh_token": str(answer.get("refresh_token", "")),
            "refreshed_at": services.clock(),
        }
        if await services.sessions.update(token, fresh):
            request.scope[SESSION_SCOPE] = fresh
