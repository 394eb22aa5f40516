"""The account service's OpenID Connect clients: the peers named in ROSE_ASH_OIDC_CLIENTS, each with its secret,
its one redirect URI (`<peer>/auth/callback`) and its one post-logout address (`<peer>/`), both from `peers`."""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from urllib.parse import unquote

from authlib.oauth2.rfc6749 import ClientMixin
from starlette.requests import Request

from actors.context import Services

SCOPES = ("openid", "email", "profile", "roles")


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    secret: str
    base_url: str

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/auth/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        return f"{self.base_url}/"

    @property
    def backchannel_logout_uri(self) -> str:
        return f"{self.base_url}/auth/backchannel-logout"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return hmac.compare_digest(redirect_uri.encode(), self.redirect_uri.encode())

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(self.secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


def secret_matches(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def clients_of(services: Services) -> dict[str, Client]:
    """The clients the account service knows: a secret in `oidc_clients` and a base URL in `peers`."""
    return {
        name: Client(name, secret, services.peers[name])
        for name, secret in services.oidc_clients.items()
        if name in services.peers
    }


def client_of(services: Services, client_id: str | None) -> Client | None:
    return clients_of(services).get(client_id or "")


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


async def authenticate_client(request: Request, services: Services) -> str | None:
    """The client id of a request authenticated as a client (client_secret_basic, or client_secret_post in a
    form body); None when the credentials are missing or wrong. For every endpoint a peer calls as its client."""
    credentials = _basic_credentials(request)
    if credentials is None and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if isinstance(client_id, str) and isinstance(secret, str):
            credentials = (client_id, secret)
    if credentials is None:
        return None
    client = client_of(services, credentials[0])
    if client is None or not client.check_client_secret(credentials[1]):
        return None
    return client.client_id
