"""Client authentication at the account service (`authenticate_client`, for every endpoint a peer calls as its
client): the right secret, by HTTP Basic or in the form, names the client; anything else names nobody. An
account service whose base URL is plain http (not loopback) signs nobody in, and says why."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from starlette.requests import Request

from actors.account.clients import authenticate_client
from actors.context import Services
from tests.support.app import row_counts, running_app

SECRET = "s" * 40
PEERS = {"blog": "http://127.0.0.1:9", "events": "http://127.0.0.1:10"}
CLIENTS = {"blog": SECRET, "events": "e" * 40}


def request_with(headers: dict[str, str], form: dict[str, str] | None = None) -> Request:
    body = urlencode(form or {}).encode()
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if form is not None:
        raw.append((b"content-type", b"application/x-www-form-urlencoded"))
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({"type": "http", "method": "POST", "path": "/oauth/introspect", "headers": raw}, receive)


def basic(client: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode()}


async def check(services: Services) -> None:
    assert await authenticate_client(request_with(basic("blog", SECRET)), services) == "blog"
    assert (
        await authenticate_client(request_with({}, {"client_id": "blog", "client_secret": SECRET}), services) == "blog"
    )
    for headers, form in (
        (basic("blog", SECRET + "x"), None),
        (basic("events", SECRET), None),
        (basic("mallory", SECRET), None),
        ({"Authorization": "Basic not base64!"}, None),
        ({"Authorization": f"Bearer {SECRET}"}, None),
        ({}, {"client_id": "blog"}),
        ({}, {"client_id": "blog", "client_secret": ""}),
        ({}, None),
    ):
        assert await authenticate_client(request_with(headers, form), services) is None, (headers, form)


async def test_only_a_clients_own_secret_names_it(database_url: str) -> None:
    async with running_app(database_url, kind="account", peers=PEERS, oidc_clients=CLIENTS) as app:
        await check(app.services)
        before = await row_counts(app.store)
        answer = await app.client.post(
            "/oauth/token",
            data={"grant_type": "authorization_code", "code": "x", "redirect_uri": f"{PEERS['blog']}/auth/callback"},
            auth=("blog", "wrong" * 10),
        )
        assert answer.status_code == 503 and "only over https" in answer.json()["error_description"]
        page = await app.client.get(
            "/oauth/authorize",
            params={"client_id": "blog", "redirect_uri": f"{PEERS['blog']}/auth/callback", "response_type": "code"},
        )
        assert page.status_code == 503 and "only over https" in page.text and "location" not in page.headers
        assert await row_counts(app.store) == before
