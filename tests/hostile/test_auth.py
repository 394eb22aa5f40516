"""Forms without their CSRF token, admin pages without the login, C2S without the bearer token: refused, and
nothing changes."""

from __future__ import annotations

import pytest

from tests.hostile.conftest import World
from tests.hostile.helpers import Unchanged, Visitor, assert_refused, event_activity, schedule_event, slug_of
from tests.support.processes import PeerProcess

CSRF_REASON = "CSRF token is missing or wrong"


def an_event(world: World) -> str:
    if "auth-event" not in world.cache:
        world.cache["auth-event"] = schedule_event(world.http, world.events, name="Auth gig", capacity=5)
    return str(world.cache["auth-event"])


def refused_form(world: World, peer_kind: str, path: str, data: dict[str, str], cookie: str) -> None:
    """As a browser posts it (HTML error page) and as a script asking for JSON: 403 with the reason."""
    peer = world.peers[peer_kind]
    headers = {"cookie": cookie} if cookie else {}
    with Unchanged(world.view(peer)):
        page = world.http.post(peer.url + path, data=data, headers=headers)
        assert page.status_code == 403, (path, page.status_code, page.text[:300])
        assert CSRF_REASON in page.text
        as_json = world.http.post(peer.url + path, data=data, headers={**headers, "accept": "application/json"})
        assert_refused(as_json, 403, CSRF_REASON)


def session_of(peer: PeerProcess, page: str) -> tuple[str, str]:
    """A fresh browser session on that peer: its cookie header and CSRF token."""
    visitor = Visitor(peer, page)
    visitor.close()
    return visitor.cookie, visitor.csrf


def test_buy_form_without_or_with_a_wrong_csrf_token(world: World) -> None:
    event = an_event(world)
    path = f"/events/{slug_of(event)}/buy"
    cookies, csrf = session_of(world.events, "/calendars")
    other_cookies, other_csrf = session_of(world.events, f"/events/{slug_of(event)}")
    _, blog_csrf = session_of(world.blog, "/login")
    fields = {"name": "Ada", "email": "ada@example.org", "quantity": "1"}
    for data, jar in [
        (fields, cookies),  # no token
        ({**fields, "csrf": ""}, cookies),
        ({**fields, "csrf": other_csrf}, cookies),  # another session's token
        ({**fields, "csrf": blog_csrf}, cookies),  # another peer's token
        ({**fields, "csrf": csrf}, ""),  # the token without its session
        ({**fields, "csrf": csrf}, other_cookies),
        ({**fields, "csrf": csrf + "x"}, cookies),
    ]:
        refused_form(world, "events", path, data, jar)
    # the right pair works
    right = world.http.post(world.events.url + path, data={**fields, "csrf": csrf}, headers={"cookie": cookies})
    assert right.status_code == 303, right.text[:300]


@pytest.mark.parametrize(
    ("kind", "path", "fields", "as_admin"),
    [
        ("events", "/login", {"token": "test-admin-token-0123456789"}, False),
        ("blog", "/login", {"token": "test-admin-token-0123456789"}, False),
        ("shop", "/login", {"token": "test-admin-token-0123456789"}, False),
        ("events", "/logout", {}, True),
        ("events", "/calendars/new", {"name": "Sneaky"}, True),
        ("events", "/admin/follow", {"actor": "http://127.0.0.1:9/users/x"}, True),
        ("blog", "/posts", {"title": "Sneaky", "body": "x"}, True),
        ("blog", "/posts/welcome/delete", {}, True),
        ("blog", "/posts/autosave", {"title": "Sneaky", "body": "x"}, True),
        ("blog", "/posts/preview", {"body": "x"}, True),
        ("blog", "/media", {"alt": "x"}, True),
        ("blog", "/pages", {"nav:about": "on"}, True),
    ],
)
def test_other_forms_without_a_csrf_token(
    world: World, kind: str, path: str, fields: dict[str, str], as_admin: bool
) -> None:
    """Even the admin's own session posts nothing without the page's token (a cross-site form can't have it)."""
    visitor = Visitor(world.peers[kind], "/login")
    if as_admin:
        visitor.login()
    visitor.close()
    refused_form(world, kind, path, fields, visitor.cookie)


ADMIN_PAGES = [
    ("events", "GET", "/admin/deliveries"),
    ("events", "GET", "/admin/followers"),
    ("blog", "GET", "/posts/new"),
    ("blog", "GET", "/posts/welcome/edit"),
    ("shop", "GET", "/orders"),
    ("shop", "GET", "/admin/deliveries"),
    ("events", "GET", "/events/{slug}/edit"),
    ("events", "POST", "/calendars/schedule"),
    ("events", "POST", "/calendars/new"),
    ("events", "POST", "/calendars/decide"),
    ("events", "POST", "/events/{slug}/cancel"),
    ("events", "POST", "/events/{slug}/edit"),
    ("events", "POST", "/admin/follow"),
    ("events", "POST", "/admin/followers/decide"),
    ("blog", "POST", "/posts"),
    ("blog", "POST", "/posts/welcome/delete"),
    ("blog", "POST", "/posts/welcome/allocate"),
    ("blog", "POST", "/posts/welcome/edit"),
    ("blog", "GET", "/drafts"),
    ("blog", "POST", "/posts/autosave"),
    ("blog", "POST", "/posts/preview"),
    ("blog", "POST", "/media"),
    ("blog", "GET", "/pages"),
    ("blog", "POST", "/pages"),
    ("blog", "POST", "/pages/new"),
]


@pytest.mark.parametrize(("kind", "method", "path"), ADMIN_PAGES)
def test_admin_pages_without_the_login(world: World, kind: str, method: str, path: str) -> None:
    """A visitor with a valid session and CSRF token, but not logged in, is sent to the login page."""
    peer = world.peers[kind]
    path = path.format(slug=slug_of(an_event(world)))
    cookie, csrf = session_of(peer, "/login")
    data = {
        "csrf": csrf,
        "name": "Sneaky",
        "calendar": f"{world.events.url}/calendars/main",
        "actor": world.alice.id,
        "title": "Sneaky",
        "body": "x",
        "decision": "accept",
        "start": "2027-07-01T19:00",
        "end": "2027-07-01T20:00",
        "capacity": "5",
        "location": "Hall",
    }
    with Unchanged(world.view(peer)):
        response = world.http.request(
            method, peer.url + path, data=data if method == "POST" else None, headers={"cookie": cookie}
        )
    assert response.status_code == 303, (response.status_code, response.text[:300])
    assert response.headers["location"].startswith("/login?next="), response.headers["location"]


def test_forged_admin_sessions(world: World) -> None:
    """The blog's real admin session presented to the events peer; a made-up session token; a visitor's
    cookie with its id changed; junk. None is an admin session."""
    admin = Visitor(world.blog, "/login").login()
    value = admin.http.cookies["rose_ash_blog"]
    admin.close()
    assert value.startswith("s.")
    visitor = Visitor(world.events, "/login")
    anonymous = visitor.http.cookies["rose_ash_events"]
    visitor.close()
    _, sid, mac = anonymous.split(".")
    forged = ("s." + "A" * 43, f"a.{sid}x.{mac}", f"a.{sid}.", "s.", "a..", "garbage")
    for cookie in (value, *forged):
        with Unchanged(world.view(world.events)):
            response = world.http.get(
                world.events.url + "/admin/deliveries", headers={"cookie": f"rose_ash_events={cookie}"}
            )
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), cookie


@pytest.mark.parametrize("kind", ["blog", "events", "shop"])
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token-0123456789", "Basic dGVzdC1hZG1pbi10b2tlbi0wMTIzNDU2Nzg5", "bearer  x"],
)
def test_c2s_without_the_bearer_token(world: World, kind: str, authorization: str | None) -> None:
    peer = world.peers[kind]
    headers = {} if authorization is None else {"authorization": authorization}
    activity = event_activity(name="Unauthorized") if kind == "events" else {"type": "Create", "object": {}}
    with Unchanged(world.view(peer)):
        response = world.http.post(f"{peer.url}/actor/outbox", json=activity, headers=headers)
        assert_refused(response, 401, "bearer token is required")
        assert response.headers.get("www-authenticate", "").startswith("Bearer")
        # nor in the query string or a cookie
        in_query = world.http.post(f"{peer.url}/actor/outbox?access_token={peer.admin_token}", json=activity)
        assert_refused(in_query, 401, "bearer token is required")
