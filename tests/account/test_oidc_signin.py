"""One sign-in for every peer, with real processes: a member signs in on the blog through the account service,
the events peer then signs them in with one redirect and no password, their roles follow the account's, and
signing out on one peer ends their sessions on every peer."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from tests.account.oidc_world import Browser, sign_in_on, start_world
from tests.support.databases import Databases, Peek
from tests.support.processes import PeerProcess


def test_one_sign_in_for_every_peer(
    processes: Callable[..., PeerProcess], databases: Databases, peek: Callable[[str], Peek]
) -> None:
    world = start_world(processes, databases, peek)
    browser = Browser()
    try:
        before = browser.get(f"{world.blog.url}/login")
        assert "Sign in with your account" in before.text and 'name="token"' in before.text
        visitor_cookie = browser.cookie("rose_ash_blog")
        assert visitor_cookie.startswith("a.")

        home = sign_in_on(world, browser, world.blog)
        assert home.status_code == 200 and str(home.url) == f"{world.blog.url}/"
        assert world.account.url in browser.hops[-2] or "/auth/callback" in browser.hops[-2]
        signed_in = browser.cookie("rose_ash_blog")
        assert signed_in.startswith("s.") and signed_in != visitor_cookie, "a fresh session at sign-in"
        [blog_session] = world.sessions_of("blog", world.member)
        assert blog_session["email"] == "ada@example.org" and blog_session["roles"] == ["editor"]
        assert blog_session["account_sid"] and blog_session["refresh_token"]
        assert "ada@example.org" in home.text

        # ActivityPub and JSON requests, and form posts, are never sent to sign in
        actor = browser.get(f"{world.events.url}/actor", {"Accept": "application/activity+json"})
        assert actor.status_code == 200 and not actor.is_redirect
        posted = browser.client.post(f"{world.events.url}/calendars", data={}, headers={"Accept": "text/html"})
        assert world.account.url not in posted.headers.get("location", "")

        # the events peer: one redirect through the account service, no password
        first = browser.get(f"{world.events.url}/calendars")
        page = browser.follow(first)
        assert page.status_code == 200 and str(page.url) == f"{world.events.url}/calendars"
        assert [urlsplit(hop).path for hop in browser.hops] == ["/oauth/authorize", "/auth/callback", "/calendars"]
        assert "prompt=none" in browser.hops[0]
        [events_session] = world.sessions_of("events", world.member)
        assert events_session["roles"] == ["editor"]
        again = browser.get(f"{world.events.url}/calendars")
        assert again.status_code == 200, "signed in: no more redirects"

        # the roles follow the account's when the session is a few minutes old (the refresh token rotates)
        world.set_roles({"organiser"})
        world.age_sessions("events")
        assert browser.get(f"{world.events.url}/calendars").status_code == 200
        [refreshed] = world.sessions_of("events", world.member)
        assert refreshed["roles"] == ["organiser"]
        assert refreshed["refresh_token"] != events_session["refresh_token"]

        # signing out on the blog ends the sessions on every peer (back-channel logout)
        page = browser.get(f"{world.blog.url}/")
        out = browser.post(f"{world.blog.url}/logout", {}, page)
        assert urlsplit(out.headers["location"]).path == "/oauth/logout"
        landed = browser.follow(out)
        assert str(landed.url).startswith(f"{world.blog.url}/")
        assert world.sessions_of("blog", world.member) == []
        assert world.sessions_of("events", world.member) == []
        assert world.sessions_of("account", world.member) == []

        # the next page on events checks once, finds nobody signed in, and does not check again
        page = browser.follow(browser.get(f"{world.events.url}/calendars"))
        assert page.status_code == 200 and "error=login_required" in browser.hops[1]
        assert not browser.get(f"{world.events.url}/calendars").is_redirect
    finally:
        browser.close()
