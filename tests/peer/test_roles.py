"""Every staff page checks its role: a member signed in without it gets a 403 page naming the role and their
POSTs change nothing; a visitor is sent to sign in; the admin token's session holds every role. In-process
peers on both stores, members' sessions opened as the sign-in flow opens them."""

from __future__ import annotations

import httpx
import pytest

from actors import roles
from actors.account import KIND as ACCOUNT
from actors.blog import KIND as BLOG
from actors.events import KIND as EVENTS
from actors.shop import KIND as SHOP
from tests.support.app import BASE, App, row_counts, running_app
from tests.support.members import sign_in_admin_token, sign_in_member

HTML = {"accept": "text/html"}
EVENT_FORM = {
    "calendar": f"{BASE}/calendars/main",
    "name": "Concert",
    "start": "2027-07-01T19:00",
    "end": "2027-07-01T21:00",
    "timezone": "Europe/London",
    "location": "Hall",
    "capacity": "10",
    "price": "5.00",
}
PEER_ADMIN = ["/admin/deliveries", "/admin/followers", "/admin/mail", "/admin/store", "/admin/audit"]  # relays: events only


def assert_refused(answer: httpx.Response, role: str) -> None:
    assert answer.status_code == 403, (answer.request.url, answer.status_code, answer.text[:300])
    assert f"this page needs the role\n<strong>{roles.ROLES[role]}</strong>" in answer.text, answer.text[:600]


async def scheduled_event(app: App) -> str:
    """An organiser makes a calendar and schedules an event through the pages; the event's slug."""
    csrf = await sign_in_member(app, [roles.ORGANISER], "org@example.org")
    made = await app.client.post("/calendars/new", data={"csrf": csrf, "name": "Main"})
    assert made.status_code == 303, made.text[:300]
    scheduled = await app.client.post("/calendars/schedule", data={"csrf": csrf, **EVENT_FORM})
    assert scheduled.status_code == 303, scheduled.text[:300]
    return scheduled.headers["location"].removeprefix("/calendars#")


async def test_an_editor_writes_on_the_blog_but_not_the_peers_admin_pages(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in_member(app, [roles.EDITOR])
        for path in ("/posts/new", "/drafts", "/pages", "/pages/new", "/admin/import"):
            answer = await app.client.get(path, headers=HTML)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        front = (await app.client.get("/")).text
        assert "ed@example.org" in front and "Sign out" in front and 'href="/posts/new"' in front
        assert "/admin/deliveries" not in front and "/admin/audit" not in front
        before = await row_counts(app.store)
        for path in PEER_ADMIN:
            assert_refused(await app.client.get(path, headers=HTML), roles.ADMIN)
        for path in ("/admin/follow", "/admin/followers/decide"):
            assert_refused(await app.client.post(path, data={"csrf": csrf, "actor": "http://x.test/a"}), roles.ADMIN)
        assert await row_counts(app.store) == before
        published = await app.client.post(
            "/posts", data={"csrf": csrf, "title": "Hello", "body": "Hi", "action": "publish"}
        )
        assert published.status_code == 303 and published.headers["location"] == "/posts/hello"
        post = await app.client.get("/posts/hello")
        assert "/posts/hello/edit" in post.text and "/posts/hello/delete" in post.text


async def test_an_editor_is_refused_the_events_pages_and_the_door(database_url: str) -> None:
    async with running_app(database_url, "events", peers={"shop": "http://shop.test"}) as app:
        slug = await scheduled_event(app)
        csrf = await sign_in_member(app, [roles.EDITOR])
        calendars = (await app.client.get("/calendars")).text
        assert "/calendars/schedule" not in calendars and f"/events/{slug}/edit" not in calendars
        before = await row_counts(app.store)
        assert_refused(await app.client.get(f"/events/{slug}/edit", headers=HTML), roles.ORGANISER)
        assert_refused(await app.client.get(f"/events/{slug}/checkin", headers=HTML), roles.BOX_OFFICE)
        assert_refused(await app.client.get("/admin/tickets", headers=HTML), roles.SHOP_STAFF)
        posts = [
            ("/calendars/new", {"name": "Other"}, roles.ORGANISER),
            ("/calendars/schedule", {**EVENT_FORM, "name": "Forged"}, roles.ORGANISER),
            ("/calendars/decide", {"calendar": f"{BASE}/calendars/main", "add": "x"}, roles.ORGANISER),
            (f"/events/{slug}/edit", {**EVENT_FORM, "name": "Renamed"}, roles.ORGANISER),
            (f"/events/{slug}/cancel", {}, roles.ORGANISER),
            (f"/events/{slug}/checkin", {"code": "A" * 22}, roles.BOX_OFFICE),
        ]
        for path, form, role in posts:
            assert_refused(await app.client.post(path, data={"csrf": csrf, **form}), role)
        assert await row_counts(app.store) == before
        assert "Concert" in (await app.client.get(f"/events/{slug}")).text


async def test_an_editor_is_refused_the_shops_orders(database_url: str) -> None:
    async with running_app(database_url, "shop") as app:
        csrf = await sign_in_member(app, [roles.EDITOR])
        assert 'href="/orders"' not in (await app.client.get("/")).text
        before = await row_counts(app.store)
        assert_refused(await app.client.get("/orders", headers=HTML), roles.SHOP_STAFF)
        for path in ("/orders/1/paid", "/orders/1/cancel", "/orders/1/refund", "/orders/1/refund-tickets"):
            assert_refused(await app.client.post(path, data={"csrf": csrf, "ticket": "1"}), roles.SHOP_STAFF)
        # the orders collection, a private one, is not even there for them
        listed = await app.client.get("/orders", headers={"accept": "application/activity+json"})
        assert listed.status_code == 404
        assert await row_counts(app.store) == before
        await sign_in_member(app, [roles.SHOP_STAFF], "till@example.org")
        assert (await app.client.get("/orders", headers=HTML)).status_code == 200
        assert (await app.client.get("/orders", headers={"accept": "application/activity+json"})).status_code == 200
        assert 'href="/orders"' in (await app.client.get("/")).text


async def test_an_organiser_cannot_publish_or_upload_on_the_blog(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in_member(app, [roles.ORGANISER], "org@example.org")
        before = await row_counts(app.store)
        assert_refused(await app.client.get("/posts/new", headers=HTML), roles.EDITOR)
        published = await app.client.post(
            "/posts", data={"csrf": csrf, "title": "Sneaky", "body": "Hi", "action": "publish"}
        )
        assert_refused(published, roles.EDITOR)
        assert_refused(await app.client.post("/media", data={"csrf": csrf}), roles.EDITOR)
        assert_refused(
            await app.client.post("/pages/new", data={"csrf": csrf, "title": "P", "body": "b"}), roles.EDITOR
        )
        assert await row_counts(app.store) == before
        assert (await app.client.get("/posts/sneaky")).status_code == 404
        front = (await app.client.get("/")).text
        assert "org@example.org" in front and 'href="/posts/new"' not in front


async def test_box_office_reaches_the_door_but_not_the_events_editing(database_url: str) -> None:
    async with running_app(database_url, "events", peers={"shop": "http://shop.test"}) as app:
        slug = await scheduled_event(app)
        assert "At the door" in (page := await app.client.get(f"/events/{slug}")).text  # the organiser's counts
        assert f"/events/{slug}/checkin" not in page.text
        csrf = await sign_in_member(app, [roles.BOX_OFFICE], "door@example.org")
        door = await app.client.get(f"/events/{slug}/checkin")
        assert door.status_code == 200 and "0 of 0" in door.text, door.text[:300]
        checked = await app.client.post(f"/events/{slug}/checkin", data={"csrf": csrf, "code": "A" * 22})
        assert checked.status_code == 200 and "Unknown code" in checked.text, checked.text[:300]
        assert f"/events/{slug}/checkin" in (await app.client.get(f"/events/{slug}")).text
        before = await row_counts(app.store)
        assert_refused(await app.client.get(f"/events/{slug}/edit", headers=HTML), roles.ORGANISER)
        assert_refused(await app.client.post(f"/events/{slug}/cancel", data={"csrf": csrf}), roles.ORGANISER)
        assert await row_counts(app.store) == before


@pytest.mark.parametrize(
    ("kind", "path", "method"),
    [
        ("blog", "/drafts", "GET"),
        ("blog", "/pages", "GET"),
        ("blog", "/admin/import", "GET"),
        ("blog", "/media", "POST"),
        ("events", "/events/nothing/checkin", "GET"),
        ("events", "/events/nothing/checkin", "POST"),
        ("events", "/admin/tickets", "GET"),
        ("shop", "/admin/audit", "GET"),
        ("shop", "/orders/1/refund-tickets", "POST"),
    ],
)
async def test_a_visitor_is_sent_to_sign_in(database_url: str, kind: str, path: str, method: str) -> None:
    async with running_app(database_url, kind) as app:
        before = await row_counts(app.store)
        answer = await app.client.request(method, path, headers=HTML)
        assert answer.status_code == 303 and answer.headers["location"] == f"/login?next={path}", answer.text[:300]
        assert await row_counts(app.store) == before


async def test_the_admin_tokens_session_reaches_everything(database_url: str) -> None:
    async with running_app(database_url, "events", peers={"shop": "http://shop.test"}) as app:
        slug = await scheduled_event(app)
        await sign_in_admin_token(app)
        for path in [f"/events/{slug}/edit", f"/events/{slug}/checkin", "/admin/tickets", *PEER_ADMIN, "/admin/relays"]:
            answer = await app.client.get(path, headers=HTML)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        front = (await app.client.get("/calendars")).text
        assert "admin token" in front and "/admin/audit" in front and "/calendars/schedule" in front
    async with running_app(database_url, "blog") as app:
        await sign_in_admin_token(app)
        for path in ("/posts/new", "/drafts", "/pages", "/admin/import", "/admin/audit"):
            assert (await app.client.get(path, headers=HTML)).status_code == 200, path


def test_each_kinds_staff_role_is_the_one_its_client_to_server_scope_needs() -> None:
    assert (BLOG.staff_role, EVENTS.staff_role, SHOP.staff_role) == (roles.EDITOR, roles.ORGANISER, roles.SHOP_STAFF)
    assert ACCOUNT.staff_role == roles.ADMIN
