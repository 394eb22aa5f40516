"""The pages' module-level handlers in one in-process app per kind: admin-only pages send anyone else to the
login page (and come back after it), the events kind's forms work through to a ticket, and the ticket status
waits on the events kind's own `PurchaseWaiters`, bound to its handler."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from actors.events.pages import RECHECK
from actors.events.purchase_states import PurchaseState
from actors.events.tickets import PurchaseWaiters, purchase_id, update_purchase
from peer.app import create_app
from peer.settings import Settings
from store import objects
from tests.support.processes import ADMIN_TOKEN

BASE = "http://peer.test"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    app: Starlette
    client: httpx.AsyncClient

    async def csrf(self, path: str) -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:300])
        match = CSRF.search(page.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    async def login(self) -> None:
        csrf = await self.csrf("/login")
        answer = await self.client.post(
            "/login", data={"csrf": csrf, "token": ADMIN_TOKEN, "next": "/admin/deliveries"}
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/deliveries", answer.text[:300]


@contextlib.asynccontextmanager
async def browsing(database_url: str, kind: str) -> AsyncIterator[Browser]:
    settings = Settings(
        kind=kind,
        base_url=BASE,
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        peers={"shop": "http://shop.test"},  # a purchase records its Offer; nothing is delivered
        allow_private=True,
        inprocess_worker=False,
        seed=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Browser(app, client)


ADMIN_ONLY = [
    ("blog", "GET", "/admin/deliveries"),
    ("blog", "GET", "/admin/followers"),
    ("blog", "POST", "/admin/follow"),
    ("blog", "POST", "/admin/unfollow"),
    ("blog", "POST", "/admin/followers/decide"),
    ("blog", "GET", "/posts/new"),
    ("blog", "POST", "/posts"),
    ("blog", "GET", "/posts/nothing/edit"),  # the login comes before the 404
    ("blog", "POST", "/posts/nothing/delete"),
    ("blog", "POST", "/posts/nothing/allocate"),
    ("events", "POST", "/calendars/new"),
    ("events", "POST", "/calendars/schedule"),
    ("events", "POST", "/calendars/decide"),
    ("events", "GET", "/events/nothing/edit"),
    ("events", "POST", "/events/nothing/cancel"),
    ("shop", "GET", "/orders"),
]


@pytest.mark.parametrize(("kind", "method", "path"), ADMIN_ONLY)
async def test_admin_only_pages_send_visitors_to_the_login(
    database_url: str, kind: str, method: str, path: str
) -> None:
    async with browsing(database_url, kind) as browser:
        answer = await browser.client.request(method, path, headers={"accept": "text/html"})
        assert answer.status_code == 303, (answer.status_code, answer.text[:300])
        assert answer.headers["location"] == f"/login?next={path}"
        assert answer.content == b""


async def test_the_admin_reaches_them(database_url: str) -> None:
    async with browsing(database_url, "shop") as browser:
        await browser.login()
        for path in ("/admin/deliveries", "/admin/followers", "/orders"):
            answer = await browser.client.get(path, headers={"accept": "text/html"})
            assert answer.status_code == 200, (path, answer.status_code)
        assert (await browser.client.get("/orders", headers={"accept": "application/activity+json"})).status_code == 200


@pytest.mark.parametrize(("kind", "mounted"), [("events", True), ("blog", False), ("shop", False)])
async def test_the_relay_page_is_only_where_the_kind_uses_relays(database_url: str, kind: str, mounted: bool) -> None:
    async with browsing(database_url, kind) as browser:
        await browser.login()
        page = await browser.client.get("/admin/relays", headers={"accept": "text/html"})
        assert page.status_code == (200 if mounted else 404), (page.status_code, page.text[:300])
        nav = (await browser.client.get("/admin/deliveries", headers={"accept": "text/html"})).text
        assert ('href="/admin/relays"' in nav) is mounted


def status_waiters(app: Starlette) -> PurchaseWaiters:
    """The events kind's waiters, as its register bound them to the ticket status handler."""
    (route,) = [r for r in app.routes if isinstance(r, Route) and r.path == "/tickets/{token}/status"]
    assert isinstance(route.endpoint, partial)
    waiters = route.endpoint.keywords["waiters"]
    assert isinstance(waiters, PurchaseWaiters)
    return waiters


async def test_a_ticket_through_the_events_pages(database_url: str) -> None:
    async with browsing(database_url, "events") as browser:
        await browser.login()
        csrf = await browser.csrf("/calendars")
        made = await browser.client.post("/calendars/new", data={"csrf": csrf, "name": "Main"})
        assert made.status_code == 303 and made.headers["location"] == "/calendars", made.text[:300]
        form = {
            "csrf": csrf,
            "calendar": f"{BASE}/calendars/main",
            "name": "Concert",
            "start": "2027-07-01T19:00",
            "end": "2027-07-01T21:00",
            "timezone": "Europe/London",
            "location": "Hall",
            "capacity": "10",
            "price": "5.00",
        }
        scheduled = await browser.client.post("/calendars/schedule", data=form)
        assert scheduled.status_code == 303, scheduled.text[:300]
        slug = scheduled.headers["location"].removeprefix("/calendars#")
        bad = await browser.client.post("/calendars/schedule", data={**form, "capacity": "none"})
        assert bad.status_code == 400 and "capacity must be a whole number" in bad.text

        bought = await browser.client.post(
            f"/events/{slug}/buy", data={"csrf": csrf, "name": "Ada", "email": "ada@example.org", "quantity": "2"}
        )
        assert bought.status_code == 303 and bought.headers["location"].startswith("/tickets/"), bought.text[:300]
        token = bought.headers["location"].removeprefix("/tickets/")
        assert "Concert" in (await browser.client.get(f"/tickets/{token}")).text
        status = await browser.client.get(f"/tickets/{token}/status")
        assert status.json()["fields"]["state"] == PurchaseState.PENDING

        # A waiting status request is answered when the kind's waiters are told, not at the next re-read.
        waiting = asyncio.create_task(browser.client.get(f"/tickets/{token}/status", params={"wait": "15"}))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        services = browser.app.state.services
        async with services.store.write() as session:
            row = await objects.get(session, purchase_id(services, token))
            assert row is not None
            update_purchase(row, services.clock(), PurchaseState.CONFIRMED, orderNumber="A-1")
            status_waiters(browser.app).notify_after_commit(session, row.id)
        told = time.monotonic()
        answer = await asyncio.wait_for(waiting, RECHECK)
        assert time.monotonic() - told < RECHECK / 2
        assert answer.json()["fields"] == {"state": PurchaseState.CONFIRMED, "orderNumber": "A-1", "reason": ""}
