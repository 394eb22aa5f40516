"""Admin sessions: the cookie key is random (no offline token guessing from a visitor's cookie), a sign-in
starts a new session, logout ends it for good, and sign-in attempts are throttled."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import httpx

from tests.hostile.conftest import World
from tests.hostile.helpers import Visitor, csrf_of
from tests.support.processes import PeerProcess


def cookie_value(visitor: Visitor, peer: PeerProcess) -> str:
    return str(visitor.http.cookies.get(f"rose_ash_{peer.kind}"))


def test_a_visitors_cookie_is_not_signed_with_the_admin_token(world: World) -> None:
    """Before, the cookie's MAC key was a hash of the admin token, so one anonymous cookie let anyone test
    token guesses offline. Now the key is random: the cookie does not verify under the token-derived key."""
    visitor = Visitor(world.blog, "/login")
    value = cookie_value(visitor, world.blog)
    visitor.close()
    kind, sid, mac = value.split(".")
    assert kind == "a" and sid and mac
    token_key = hashlib.sha256(f"rose-ash-session:blog:{world.blog.admin_token}".encode()).digest()
    for message in (f"visitor:{sid}".encode(), sid.encode()):
        guess = base64.urlsafe_b64encode(hmac.new(token_key, message, hashlib.sha256).digest()).decode().rstrip("=")
        assert guess != mac


def test_signing_in_starts_a_new_session(world: World) -> None:
    visitor = Visitor(world.blog, "/login")
    before_cookie, before_csrf = cookie_value(visitor, world.blog), visitor.csrf
    visitor.login()
    assert cookie_value(visitor, world.blog) != before_cookie and visitor.csrf != before_csrf
    # the visitor's old token no longer opens forms of the signed-in session
    stale = visitor.http.post(f"{world.blog.url}/posts", data={"csrf": before_csrf, "title": "x", "body": "y"})
    assert stale.status_code == 403
    visitor.close()


def test_logout_ends_the_session_everywhere(world: World) -> None:
    admin = Visitor(world.events, "/login").login()
    stolen = admin.cookie  # what someone who copied the cookie holds
    assert admin.get("/admin/deliveries").status_code == 200
    assert admin.post("/logout").status_code == 303
    admin.close()
    with httpx.Client(trust_env=False, timeout=10) as other:
        replayed = other.get(f"{world.events.url}/admin/deliveries", headers={"cookie": stolen})
    assert replayed.status_code == 303 and replayed.headers["location"].startswith("/login"), replayed.text[:200]


def test_wrong_tokens_are_throttled(peer_process: Callable[..., PeerProcess]) -> None:
    blog = peer_process("blog")
    visitor = Visitor(blog, "/login")
    try:
        for _ in range(5):
            assert visitor.post("/login", token="not-the-token", next="/").status_code == 403
        held = visitor.post("/login", token=blog.admin_token, next="/")  # even the right one, for a while
        assert held.status_code == 429 and "Wait a minute" in held.text
        assert csrf_of(held.text)  # still a page with its form, not a bare error
    finally:
        visitor.close()
