"""Authlib's authorization server, wired to the account service: the code grant with PKCE (S256 only, always
required) and OpenID Connect ID tokens, and the refresh grant with rotation. Authlib's hooks are synchronous,
so a request is answered inside `AsyncSession.run_sync`: `Exchange.db` is the synchronous face of the store
session of that request."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    InvalidRequestError,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from actors.account import tokens
from actors.account.clients import Client
from actors.account.oidc_keys import ALG
from actors.context import Services
from store.models import OAuthCode

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
ID_TOKEN_SECONDS = 600


class Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._data = dict(items)
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class Exchange(OAuth2Request):  # type: ignore[misc]
    """One request to the authorize or token endpoint, with what the hooks need besides Authlib's fields."""

    def __init__(self, method: str, uri: str, headers: Any, items: list[tuple[str, str]], now: float) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = Payload(items)
        self.now = now
        self.db: Session | None = None
        self.auth_time = now
        self.new_refresh = ""

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data

    @property
    def store(self) -> Session:
        assert self.db is not None, "an exchange is answered inside run_sync"
        return self.db


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client (they are all confidential, and all still prove the code is theirs), S256 only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: send a code_challenge with code_challenge_method=S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: tokens.Code) -> str | None:
        return authorization_code.row.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: tokens.Code) -> str | None:
        return authorization_code.row.code_challenge_method


class IdTokens(OpenIDCode):  # type: ignore[misc]
    def __init__(self, issuer: str, key: RSAKey) -> None:
        super().__init__(require_nonce=True)
        self.issuer = issuer
        self.key = key

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.key

    def get_client_algorithm(self, client: Client) -> str:
        return ALG

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": ALG, "kid": str(self.key.kid)}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.issuer, "aud": client.client_id, "exp": int(time.time()) + ID_TOKEN_SECONDS}

    def exists_nonce(self, nonce: str, request: Exchange) -> bool:
        used = select(OAuthCode.id).where(OAuthCode.client_id == request.payload.client_id, OAuthCode.nonce == nonce)
        return request.store.scalar(used.limit(1)) is not None

    def generate_user_info(self, user: tokens.Holder, scope: str) -> dict[str, Any]:
        return user.claims()


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, request: Exchange) -> None:
        data = request.payload.data
        values = {
            "client_id": request.client.client_id,
            "member_id": request.user.id,
            "redirect_uri": request.payload.redirect_uri,
            "scope": request.scope or "",
            "nonce": data.get("nonce"),
            "code_challenge": data.get("code_challenge"),
            "code_challenge_method": data.get("code_challenge_method"),
            "session_id": request.user.sid,
            "auth_time": request.auth_time,
        }
        tokens.save_code(request.store, code, values, request.now)

    def query_authorization_code(self, code: str, client: Client) -> tokens.Code | None:
        request: Exchange = self.request
        return tokens.usable_code(request.store, code, client.client_id, request.now)

    def delete_authorization_code(self, authorization_code: tokens.Code) -> None:
        request: Exchange = self.request
        tokens.use_code(request.store, authorization_code, request.now)

    def authenticate_user(self, authorization_code: tokens.Code) -> tokens.Holder | None:
        row = authorization_code.row
        request: Exchange = self.request
        return tokens.holder(request.store, row.member_id, row.session_id)


class RotatingRefresh(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> tokens.Refresh | None:
        request: Exchange = self.request
        return tokens.live_refresh(request.store, refresh_token, request.now)

    def authenticate_user(self, refresh_token: tokens.Refresh) -> tokens.Holder | None:
        request: Exchange = self.request
        return tokens.holder(request.store, refresh_token.row.member_id, refresh_token.row.session_id or "")

    def revoke_old_credential(self, refresh_token: tokens.Refresh) -> None:
        request: Exchange = self.request
        tokens.rotate(request.store, refresh_token, request.new_refresh)


class Server(AuthorizationServer):  # type: ignore[misc]
    """Made for each request (cheap): its clients are the settings', its key the current signing key."""

    def __init__(self, services: Services, clients: dict[str, Client], key: RSAKey) -> None:
        super().__init__(scopes_supported=["openid", "email", "profile", "roles"])
        self.clients = clients
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: generate_token(48),
                refresh_token_generator=lambda **_: generate_token(48),
                expires_generator=lambda client, grant_type: int(tokens.ACCESS_SECONDS),
            ),
        )
        self.register_grant(CodeGrant, [S256Challenge(required=True), IdTokens(services.actor.base_url, key)])
        self.register_grant(RotatingRefresh)

    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: Exchange) -> None:
        if request.authorization_code is not None:
            grant = request.authorization_code.row.id
        else:
            grant = request.refresh_token.row.name
        request.new_refresh = tokens.save_tokens(
            request.store, token, request.client.client_id, request.user, grant, request.now
        )

    def create_oauth2_request(self, request: Exchange) -> Exchange:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("the account service takes no JSON requests at these endpoints")

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass
