"""The account service as an OpenID Connect provider: discovery, JWKS, /oauth/authorize, /oauth/token,
/oauth/userinfo and /oauth/logout (ending the member's sessions at every peer through back-channel logout).

A wrong client or redirect URI is answered with a page here, never a redirect: only a redirect URI that is
exactly its client's `<peer>/auth/callback` is ever sent anywhere."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc6749 import InsecureTransportError, OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.account import backchannel, tokens
from actors.account.clients import SCOPES, Client, clients_of
from actors.account.oidc_keys import ALG, SigningKeys
from actors.account.oidc_server import AUTH_METHODS, Exchange, Server
from actors.context import Services
from actors.sessions import close_member_sessions
from actors.web import TOKEN_SCOPE, checked_form, redirect, render, session, sign_out
from store.models import WebSession

UNKNOWN_CLIENT = "This sign-in link is for an application the account service does not know, so it was stopped."
WRONG_REDIRECT = (
    "This sign-in link would send you somewhere other than its application's own address, so it was stopped."
)
INSECURE = "The account service signs members in only over https (or on loopback): its base URL is plain http."
WRONG_LOGOUT_TARGET = (
    "This sign-out link would send you to an address the account service does not know, so it was stopped."
)


class Provider:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.keys = SigningKeys(services.store)

    @property
    def issuer(self) -> str:
        return self.services.actor.base_url

    async def _server(self) -> Server:
        return Server(self.services, clients_of(self.services), await self.keys.current())

    def _exchange(self, request: Request, items: list[tuple[str, str]]) -> Exchange:
        uri = f"{self.issuer}{request.url.path}"
        return Exchange(request.method, uri, request.headers, items, self.services.clock())

    async def discovery(self, request: Request) -> Response:
        base = self.issuer
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/oauth/authorize",
                "token_endpoint": f"{base}/oauth/token",
                "userinfo_endpoint": f"{base}/oauth/userinfo",
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "end_session_endpoint": f"{base}/oauth/logout",
                "introspection_endpoint": f"{base}/oauth/introspect",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": [ALG],
                "scopes_supported": list(SCOPES),
                "token_endpoint_auth_methods_supported": AUTH_METHODS,
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "email", "email_verified", "name", "roles", "sid", "nonce", "auth_time"],
                "backchannel_logout_supported": True,
                "backchannel_logout_session_supported": True,
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(await self.keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    def _refused(self, request: Request, sentence: str, status: int = 400) -> Response:
        return render(request, self.services, "account/oauth_error.html", {"error": sentence}, status, private=True)

    async def authorize(self, request: Request) -> Response:
        services = self.services
        params = request.query_params
        clients = clients_of(services)
        client = clients.get(params.get("client_id", ""))
        if client is None or len(params.getlist("client_id")) != 1:
            return self._refused(request, UNKNOWN_CLIENT)
        if len(params.getlist("redirect_uri")) != 1 or not client.check_redirect_uri(params["redirect_uri"]):
            return self._refused(request, WRONG_REDIRECT)
        data = session(request, services)
        member = data.get("member") if isinstance(data.get("member"), str) else None
        try:
            exchange = self._exchange(request, list(params.multi_items()))
        except InsecureTransportError:
            return self._refused(request, INSECURE, 503)
        exchange.auth_time = await self._signed_in_at(request)
        server = await self._server()

        def answer(db: Any) -> tuple[int, Any, list[tuple[str, str]]] | None:
            exchange.db = db
            user = tokens.holder(db, member, str(data.get("sid", ""))) if member else None
            try:
                grant = server.get_consent_grant(exchange, end_user=user)
            except OAuth2Error as error:
                return server.handle_error_response(exchange, error)  # type: ignore[no-any-return]
            if user is None:
                return None
            return server.create_authorization_response(exchange, grant_user=user, grant=grant)  # type: ignore[no-any-return]

        async with services.store.write() as db:
            result = await db.run_sync(answer)
        if result is None:
            here = f"{request.url.path}?{request.url.query}"
            return redirect(request, services, f"/signin?{urlencode({'next': here})}")
        status, body, headers = result
        location = dict(headers).get("Location", "")
        if status == 302 and location.startswith(client.redirect_uri + "?"):
            return redirect(request, services, location)
        description = body.get("error_description") if isinstance(body, dict) else None
        return self._refused(request, description or "This sign-in request is not one the account service can answer.")

    async def _signed_in_at(self, request: Request) -> float:
        token = request.scope.get(TOKEN_SCOPE)
        if not isinstance(token, str):
            return self.services.clock()
        async with self.services.store.read() as db:
            row = await db.get(WebSession, hashlib.sha256(token.encode()).hexdigest())
        return row.created_at if row is not None else self.services.clock()

    async def token(self, request: Request) -> Response:
        form = await request.form()
        items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        try:
            exchange = self._exchange(request, items)
        except InsecureTransportError:
            return JSONResponse({"error": "invalid_request", "error_description": INSECURE}, 503)
        server = await self._server()

        def answer(db: Any) -> tuple[int, Any, list[tuple[str, str]]]:
            exchange.db = db
            return server.create_token_response(exchange)  # type: ignore[no-any-return]

        async with self.services.store.write() as db:
            status, body, headers = await db.run_sync(answer)
        return JSONResponse(body, status_code=status, headers=dict(headers))

    async def userinfo(self, request: Request) -> Response:
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        now = self.services.clock()

        def look(db: Any) -> tokens.Holder | None:
            row = tokens.live_access(db, secret.strip(), now) if scheme.lower() == "bearer" else None
            return tokens.holder(db, row.member_id, row.session_id or "") if row is not None else None

        async with self.services.store.read() as db:
            found = await db.run_sync(look)
        if found is None:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "The access token is unknown, expired or revoked."},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return JSONResponse(found.claims(), headers={"Cache-Control": "no-store"})

    async def logout(self, request: Request) -> Response:
        """End the member's account session and their sessions at every peer, then go back to the client that
        asked (only to its registered `post_logout_redirect_uri`). A request without a valid `id_token_hint`
        for this session is asked to confirm, so that no other site can sign a member out."""
        services = self.services
        if request.method == "POST":
            form = await checked_form(request, services)
            params = {k: str(v) for k, v in form.items() if k in ("post_logout_redirect_uri", "state")}
        else:
            params = dict(request.query_params)
        target = params.get("post_logout_redirect_uri", "")
        known = {c.post_logout_redirect_uri for c in clients_of(services).values()}
        if target and target not in known:
            return self._refused(request, WRONG_LOGOUT_TARGET)
        data = session(request, services)
        member, sid = data.get("member"), str(data.get("sid", ""))
        hint = await self._hinted(params.get("id_token_hint", ""))
        if request.method == "GET" and member is not None and (hint is None or hint != (member, sid)):
            context = {"target": target, "state": params.get("state", "")}
            return render(request, services, "account/signout_confirm.html", context, private=True)
        if isinstance(member, str):
            await self.end_everywhere(member, sid)
            await sign_out(request, services)
        elif hint is not None:
            await self.end_everywhere(*hint)
        if not target:
            return render(request, services, "account/signed_out.html", {}, private=True)
        state = params.get("state")
        return redirect(request, services, target + (f"?{urlencode({'state': state})}" if state else ""))

    async def _hinted(self, hint: str) -> tuple[str, str] | None:
        """The (member, account session) an ID token we issued names, expired or not."""
        if not hint:
            return None
        try:
            keys = KeySet.import_key_set(await self.keys.jwks())  # type: ignore[arg-type]
            token = jwt.decode(hint, keys, [ALG])
        except (JoseError, ValueError):
            return None
        claims = token.claims
        if claims.get("iss") != self.issuer or claims.get("aud") not in clients_of(self.services):
            return None
        sub, sid = claims.get("sub"), claims.get("sid")
        return (sub, sid) if isinstance(sub, str) and isinstance(sid, str) else None

    async def end_everywhere(self, member: str, sid: str) -> None:
        now = self.services.clock()
        async with self.services.store.write() as db:
            await db.run_sync(lambda s: tokens.revoke_member(s, member, now))
        await close_member_sessions(self.services.store, member)  # every browser's, as at the peers
        clients: list[Client] = list(clients_of(self.services).values())
        await backchannel.tell_clients(self.issuer, await self.keys.current(), clients, member, sid)

    def routes(self) -> list[Route]:
        return [
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/.well-known/jwks.json", self.jwks),
            Route("/oauth/authorize", self.authorize),
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/oauth/userinfo", self.userinfo, methods=["GET", "POST"]),
            Route("/oauth/logout", self.logout, methods=["GET", "POST"]),
        ]
