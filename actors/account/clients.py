"""Which peer is calling the account service: its client id and secret (`services.oidc_clients`), sent as HTTP
Basic (client_secret_basic) or in the form (client_secret_post), compared in constant time."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from urllib.parse import unquote

from starlette.datastructures import FormData
from starlette.requests import Request

# compared against when the client id is unknown, so that an unknown client costs as long as a wrong secret
_DECOY = "not the secret of any client of this account service"


def basic_credentials(header: str) -> tuple[str, str] | None:
    """`Authorization: Basic base64(id:secret)`, each part form-encoded (RFC 6749 §2.3.1)."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if colon else None


def authenticate_client(request: Request, form: FormData, clients: Mapping[str, str]) -> str | None:
    """The client id whose secret the request carries; None when it names no client or the secret is wrong."""
    found = basic_credentials(request.headers.get("authorization", ""))
    if found is None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(secret, str):
            return None
        found = client_id, secret
    client_id, secret = found
    expected = clients.get(client_id)
    matches = hmac.compare_digest(secret.encode(), (expected or _DECOY).encode())
    return client_id if matches and expected else None
