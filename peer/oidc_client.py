"""This peer as an OpenID Connect client of the account service (`peers["account"]`, the issuer): the authorize
URL, the code exchange, refreshing, userinfo, and checking the ID tokens and logout tokens it signs against
its JWKS (fetched, kept a while, fetched again for a key not seen yet)."""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from actors.context import Services
from net.tls import client_context

ALG = "RS256"
TIMEOUT = 10.0
JWKS_SECONDS = 600.0
JWKS_REFETCH_SECONDS = 10.0  # a token under an unknown key fetches the JWKS again, at most this often
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
SCOPE = "openid email profile roles"


# the CA bundle SSL_CERT_FILE names, as for every other request a peer makes
tls = functools.cache(client_context)


def http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT, verify=tls())


class SignInError(Exception):
    """A sentence for the visitor: why signing in through the account service did not work."""


class Refused(SignInError):
    """The account service answered, and said no (a revoked, reused or expired grant)."""


def enabled(services: Services) -> bool:
    """Members sign in here through the account service (and this peer is not the account service)."""
    account = services.peers.get("account")
    return bool(account and services.oidc_secret and account != services.actor.base_url)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


@dataclass
class _Jwks:
    keys: KeySet | None = None
    fetched_at: float = 0.0


_JWKS: dict[str, _Jwks] = {}


@dataclass(frozen=True)
class AccountClient:
    issuer: str
    client_id: str
    secret: str = field(repr=False)
    base_url: str

    @classmethod
    def of(cls, services: Services) -> AccountClient:
        return cls(services.peers["account"], services.actor.name, services.oidc_secret, services.actor.base_url)

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/auth/callback"

    def authorize_url(self, state: str, nonce: str, challenge: str, *, silent: bool) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if silent:
            query["prompt"] = "none"
        return f"{self.issuer}/oauth/authorize?{urlencode(query)}"

    def logout_url(self, id_token: str) -> str:
        query = {"client_id": self.client_id, "post_logout_redirect_uri": f"{self.base_url}/"}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{self.issuer}/oauth/logout?{urlencode(query)}"

    async def _token(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            async with http_client() as http:
                answer = await http.post(
                    f"{self.issuer}/oauth/token", data=form, auth=httpx.BasicAuth(self.client_id, self.secret)
                )
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInError("The account service could not be reached; try again in a moment.") from exc
        if answer.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise Refused("The account service refused this sign-in; start again from the sign-in page.")
        return body

    async def exchange(self, code: str, verifier: str) -> dict[str, Any]:
        return await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            }
        )

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        return await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def userinfo(self, access_token: str) -> dict[str, Any]:
        try:
            async with http_client() as http:
                answer = await http.get(
                    f"{self.issuer}/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"}
                )
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInError("The account service could not be reached; try again in a moment.") from exc
        if answer.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("sub"), str):
            raise Refused("The account service no longer knows this sign-in.")
        return body

    async def _keys(self, *, again: bool = False) -> KeySet:
        cached = _JWKS.setdefault(self.issuer, _Jwks())
        now = time.monotonic()
        stale = cached.keys is None or now - cached.fetched_at > JWKS_SECONDS
        if stale or (again and now - cached.fetched_at > JWKS_REFETCH_SECONDS):
            try:
                async with http_client() as http:
                    answer = await http.get(f"{self.issuer}/.well-known/jwks.json")
                answer.raise_for_status()
                cached.keys = KeySet.import_key_set(answer.json())
                cached.fetched_at = now
            except (httpx.HTTPError, ValueError, JoseError) as exc:
                if cached.keys is None:
                    raise SignInError("The account service's keys could not be fetched; try again later.") from exc
        assert cached.keys is not None
        return cached.keys

    async def _decode(self, token: str) -> dict[str, Any]:
        for again in (False, True):
            try:
                return dict(jwt.decode(token, await self._keys(again=again), [ALG]).claims)
            except (JoseError, ValueError):
                continue
        raise SignInError("The account service's answer was not signed by its key.")

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        claims = await self._decode(id_token)
        registry = JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise SignInError("The account service's answer was not meant for this sign-in.") from exc
        return claims

    async def verify_logout_token(self, token: str) -> tuple[str, str]:
        """(member, account session) of a valid logout token."""
        claims = await self._decode(token)
        registry = JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            iat={"essential": True},
            jti={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise SignInError("That logout token is not for this peer.") from exc
        events = claims.get("events")
        if not isinstance(events, dict) or LOGOUT_EVENT not in events or "nonce" in claims:
            raise SignInError("That is not a back-channel logout token.")
        return str(claims["sub"]), str(claims.get("sid", ""))
