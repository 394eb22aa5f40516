"""The admin's relay form refuses what it must not subscribe to, with a sentence, and the store does not move:
a relay reached over plain http, one on a private address (the guarded transport's SSRF rule), an unknown
style, a form without its CSRF token, and anyone who is not the admin."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.app import App, row_counts, running_app
from tests.support.processes import ADMIN_TOKEN

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.text[:300])
    match = CSRF.search(page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
async def admin_app(database_url: str) -> AsyncIterator[App]:
    async with running_app(database_url, kind="events", allow_private=False) as app:
        token = await csrf(app.client, "/login")
        answer = await app.client.post("/login", data={"csrf": token, "token": ADMIN_TOKEN, "next": "/admin/relays"})
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/relays", answer.text[:300]
        yield app


async def refused_with(app: App, relay: str, style: str, sentence: str) -> None:
    before = await row_counts(app.store)
    token = await csrf(app.client, "/admin/relays")
    answer = await app.client.post("/admin/relays/add", data={"csrf": token, "relay": relay, "style": style})
    assert answer.status_code == 303, answer.text[:300]
    message = httpx.URL("http://peer.test" + answer.headers["location"]).params.get("m", "")
    assert message == sentence
    assert await row_counts(app.store) == before
    page = (await app.client.get(answer.headers["location"])).text
    assert "No relay yet." in page


async def test_a_plain_http_relay_is_refused(admin_app: App) -> None:
    await refused_with(
        admin_app,
        "http://relay.example/actor",
        "mastodon",
        "The relay URL must start with https:// (http://relay.example/actor does not).",
    )


async def test_a_relay_on_a_private_address_is_refused_before_any_request(admin_app: App) -> None:
    for url in ("https://127.0.0.1/inbox", "https://10.0.0.1/actor", "https://[::1]/actor"):
        host = httpx.URL(url).host
        await refused_with(
            admin_app,
            url,
            "litepub",
            f"The relay at {url} could not be reached: {host} resolves to a non-public address {host}.",
        )


async def test_a_relay_url_that_is_no_url_is_refused(admin_app: App) -> None:
    await refused_with(
        admin_app,
        "relay dot example",
        "mastodon",
        "The relay URL must be an https URL, such as https://relay.example/actor.",
    )


async def test_an_unknown_style_is_refused(admin_app: App) -> None:
    await refused_with(
        admin_app, "https://relay.example/actor", "misskey", "Choose the relay's style: mastodon or litepub."
    )


async def test_the_form_needs_its_csrf_token_and_the_admin(admin_app: App) -> None:
    before = await row_counts(admin_app.store)
    forged = await admin_app.client.post(
        "/admin/relays/add", data={"relay": "https://relay.example/actor", "style": "mastodon"}
    )
    assert forged.status_code == 403, forged.text[:300]
    stranger = httpx.AsyncClient(transport=admin_app.client._transport, base_url="http://peer.test")
    async with stranger:
        assert (await stranger.get("/admin/relays")).status_code == 303
        answer = await stranger.post("/admin/relays/remove", data={"follow": "x"})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert await row_counts(admin_app.store) == before
