"""The listings kept for visitors who are not signed in (actors/page_cache.py): what this process commits shows on
the next request, each visitor's page carries that visitor's own CSRF token, and a signed-in admin gets their own
page, never the kept one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from activities.event import parse_event_input
from actors.blog.posts import create_post, delete_post
from actors.events.calendars import create_calendar
from actors.events.schedule import schedule
from actors.web import CSRF_PLACEHOLDER
from store import objects
from tests.media.helpers import sign_in
from tests.support.app import BASE, App, running_app

EVENT = {
    "start": "2027-07-01T19:00",
    "end": "2027-07-01T23:00",
    "timezone": "Europe/London",
    "capacity": "50",
    "location": "The Hall",
}
HTML = {"accept": "text/html"}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def events(database_url: str) -> AsyncIterator[App]:
    async with running_app(database_url, "events") as app:
        async with app.store.write() as session:
            await create_calendar(session, app.services, "Main")
        yield app


async def _schedule(app: App, name: str) -> None:
    async with app.store.write() as session:
        await schedule(
            session, app.services, f"{BASE}/calendars/main", parse_event_input({**EVENT, "name": name}), None
        )


def _visitor(app: App) -> httpx.AsyncClient:
    """Another browser: the same app, no cookies."""
    return httpx.AsyncClient(transport=app.client._transport, base_url=BASE)


def _tokens(page: str) -> set[str]:
    return set(CSRF.findall(page))


async def test_a_new_event_shows_on_the_next_request_and_each_visitor_gets_their_own_token(events: App) -> None:
    await _schedule(events, "First night")
    first = (await events.client.get("/calendars", headers=HTML)).text
    assert "First night" in first
    await _schedule(events, "Second night")
    again = (await events.client.get("/calendars", headers=HTML)).text
    assert "First night" in again and "Second night" in again, "the commit moved the page on"

    async with _visitor(events) as other:
        theirs = (await other.get("/calendars", headers=HTML)).text
        assert theirs.count("Second night") == again.count("Second night")
        mine, their_tokens = _tokens(again), _tokens(theirs)
        assert len(mine) == 1 and len(their_tokens) == 1, "one token per page, the visitor's own"
        assert mine != their_tokens, "the kept page is not handed out with another visitor's token"
        assert mine == _tokens((await events.client.get("/calendars", headers=HTML)).text), "a visitor keeps theirs"
        assert CSRF_PLACEHOLDER not in theirs + again


async def test_the_admin_gets_their_own_page_with_its_forms(events: App) -> None:
    await _schedule(events, "First night")
    async with _visitor(events) as visitor:
        anonymous = (await visitor.get("/calendars", headers=HTML)).text
    assert 'action="/calendars/new"' not in anonymous, "a visitor sees no staff forms"
    token = await sign_in(events.client)
    admin = (await events.client.get("/calendars", headers=HTML)).text
    assert 'action="/calendars/new"' in admin and "First night" in admin
    assert _tokens(admin) == {token}


async def test_the_blog_index_follows_new_and_deleted_posts(database_url: str) -> None:
    async with running_app(database_url, "blog") as blog:
        async with blog.store.write() as session:
            await create_post(session, blog.services, "Hello there", "Words.", slug="hello")
        assert "Hello there" in (await blog.client.get("/", headers=HTML)).text
        async with blog.store.write() as session:
            await create_post(session, blog.services, "Second thoughts", "More words.", slug="second")
        page = (await blog.client.get("/", headers=HTML)).text
        assert "Hello there" in page and "Second thoughts" in page
        async with blog.store.write() as session:
            row = await objects.get(session, f"{BASE}/posts/hello")
            assert row is not None
            await delete_post(session, blog.services, row)
        page = (await blog.client.get("/", headers=HTML)).text
        assert "Hello there" not in page and "Second thoughts" in page


async def test_a_visitor_without_a_cookie_gets_the_kept_page_before_the_application(
    events: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """peer/visitor_pages.py: the same page, headers and cookie as the application gives, and a token that is
    the visitor's own (their next page, read through the application with the cookie, carries the same one)."""
    from peer import visitor_pages

    answered: list[int] = []
    real = visitor_pages.visitor_page
    monkeypatch.setattr(
        visitor_pages, "visitor_page", lambda services, pieces: answered.append(1) or real(services, pieces)
    )
    await _schedule(events, "First night")
    async with _visitor(events) as first:
        through_app = await first.get("/calendars", headers=HTML)
    assert not answered, "the first request renders the page through the application"
    async with _visitor(events) as second:
        kept = await second.get("/calendars", headers=HTML)
        assert answered, "a cookie-less GET of the same shape is answered before the application"
        assert kept.status_code == 200 and "First night" in kept.text
        names = ("content-type", "content-security-policy", "x-content-type-options")
        assert [kept.headers[n] for n in names] == [through_app.headers[n] for n in names]
        assert kept.headers["content-length"] == str(len(kept.content))
        value = re.compile(r"^([^=]+)=[^;]*")  # the cookie's value is the visitor's own; name and flags the same
        assert value.sub(r"\1", kept.headers["set-cookie"]) == value.sub(r"\1", through_app.headers["set-cookie"])
        again = await second.get("/calendars", headers=HTML)  # with the cookie: through the application
        assert len(answered) == 1, "a request with a cookie goes the whole way"
        assert _tokens(kept.text) == _tokens(again.text) and len(_tokens(kept.text)) == 1
        assert CSRF_PLACEHOLDER not in kept.text
        json_view = await second.get("/calendars", headers={"accept": "application/activity+json"})
        assert json_view.headers["content-type"].startswith("application/activity+json")
    async with _visitor(events) as third:
        as_json = await third.get("/calendars", headers={"accept": "application/activity+json"})
        assert as_json.headers["content-type"].startswith("application/activity+json"), "another Accept: routed"
    await _schedule(events, "Second night")
    async with _visitor(events) as fourth:
        assert "Second night" in (await fourth.get("/calendars", headers=HTML)).text, "a commit: rendered again"
    assert len(answered) == 1


async def test_a_kept_page_does_not_skip_the_silent_sign_in_check(database_url: str) -> None:
    navigation = {**HTML, "sec-fetch-mode": "navigate", "sec-fetch-dest": "document"}
    account = {"peers": {"account": "http://account.test"}, "oidc_secret": "s" * 40}
    async with running_app(database_url, "events", **account) as app:
        async with app.store.write() as session:
            await create_calendar(session, app.services, "Main")
        await _schedule(app, "First night")
        async with _visitor(app) as reader:
            assert (await reader.get("/calendars", headers=HTML)).status_code == 200  # kept now
        async with _visitor(app) as browser:
            opened = await browser.get("/calendars", headers=navigation)
        assert opened.status_code == 303 and opened.headers["location"].startswith("http://account.test")
