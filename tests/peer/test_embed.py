"""The calendar widget: `/embed` and `/calendars/<slug>/embed` list the upcoming events compactly, with links
that leave the frame; only they carry `frame-ancestors` from ROSE_ASH_EMBED_ANCESTORS (default 'self'), no
script and no cookie; every other page keeps `frame-ancestors 'none'`. A bad setting is refused at start."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from activities.event import parse_event_input
from actors.events.calendars import create_calendar
from actors.events.schedule import schedule
from peer.settings import Settings, embed_ancestors
from tests.hostile.test_startup import GOOD_TOKEN, assert_one_clear_line, start
from tests.media.helpers import sign_in
from tests.support.app import App, running_app

EVENT = {"start": "2027-07-01T19:00", "end": "2027-07-01T23:00", "timezone": "Europe/London", "capacity": "50"}


async def _schedule(app: App, calendar: str, name: str, **more: str) -> str:
    form = {**EVENT, "name": name, "location": "The Hall", **more}
    async with app.store.write() as session:
        doc = await schedule(session, app.services, calendar, parse_event_input(form), None)
    return str(doc["id"])


MAIN, TALKS = "http://peer.test/calendars/main", "http://peer.test/calendars/talks"


@pytest.fixture
async def events(database_url: str) -> AsyncIterator[App]:
    async with running_app(database_url, "events", embed_ancestors="http://127.0.0.1:8765 https://*.example.org") as app:
        async with app.store.write() as session:
            assert await create_calendar(session, app.services, "Main") == MAIN
            assert await create_calendar(session, app.services, "Talks") == TALKS
        yield app


def _policy(answer: object) -> str:
    return str(getattr(answer, "headers").get("content-security-policy", ""))  # noqa: B009


async def test_the_widget_lists_upcoming_events_and_may_be_framed_by_the_setting(events: App) -> None:
    main, talks = MAIN, TALKS
    gig = await _schedule(events, main, "Summer Gig", locality="Leeds")
    await _schedule(events, main, "Last year's gig", start="2020-07-01T19:00", end="2020-07-01T23:00")
    off = await _schedule(events, main, "Called off", status="EventCancelled", start="2027-08-01T19:00", end="2027-08-01T21:00")
    talk = await _schedule(events, talks, "A talk", start="2027-06-01T18:30", end="2027-06-01T20:00", location="Room 1")

    answer = await events.client.get("/calendars/main/embed")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    policy = _policy(answer)
    assert "frame-ancestors http://127.0.0.1:8765 https://*.example.org" in policy, policy
    assert "'none'" not in policy.split("frame-ancestors", 1)[1]
    assert "script-src" not in policy and "default-src 'none'" in policy, "nothing runs in the widget"
    assert "set-cookie" not in answer.headers, "a framed page sets no cookie"
    page = answer.text
    assert "<script" not in page and "<form" not in page and "Log in" not in page, "no admin chrome"
    assert f'<a href="{gig}" target="_blank" rel="noopener">Summer Gig</a>' in page
    assert "<time>Thu 1 Jul 2027</time><time>19:00</time>" in page and "The Hall, Leeds" in page
    assert "Last year" not in page, "past events are not upcoming"
    assert re.search(rf'href="{re.escape(off)}"[^<]*>Called off</a><span class="status">Cancelled</span>', page)
    assert "A talk" not in page, "one calendar's widget shows that calendar"

    every = (await events.client.get("/embed")).text
    assert every.index(talk) < every.index(gig) < every.index(off), "soonest first, across calendars"
    assert "frame-ancestors http://127.0.0.1:8765" in _policy(await events.client.get("/embed"))

    missing = await events.client.get("/calendars/nowhere/embed", headers={"accept": "text/html"})
    assert missing.status_code == 404 and "frame-ancestors 'none'" in _policy(missing)


async def test_every_other_page_keeps_frame_ancestors_none(events: App) -> None:
    main = MAIN
    gig = await _schedule(events, main, "Summer Gig")
    csrf = await sign_in(events.client)  # the admin's pages too
    assert csrf
    for path in ("/calendars", gig.removeprefix("http://peer.test"), f"{gig.removeprefix('http://peer.test')}/edit",
                 "/login", "/admin/followers", "/calendars/main", "/no/such/page"):  # fmt: skip
        answer = await events.client.get(path, headers={"accept": "text/html"})
        assert "frame-ancestors 'none'" in _policy(answer), (path, answer.status_code, _policy(answer))


async def test_the_calendar_page_shows_the_organiser_the_iframe_snippet(events: App) -> None:
    await sign_in(events.client)
    page = (await events.client.get("/calendars")).text
    snippet = (
        '&lt;iframe src=&#34;http://peer.test/calendars/main/embed&#34; title=&#34;Main: upcoming events&#34; '
        "width=&#34;100%&#34; height=&#34;420&#34;"
    )
    assert snippet in page.replace("&quot;", "&#34;"), page[page.find("iframe") - 200 : page.find("iframe") + 400]
    assert "http://127.0.0.1:8765 https://*.example.org" in page


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("'self'", "'self'"),
        ("  'self'   https://example.org ", "'self' https://example.org"),
        ("http://127.0.0.1:8080 https://*.example.net:* https:", "http://127.0.0.1:8080 https://*.example.net:* https:"),
        ("'none'", "'none'"),
    ],
)
def test_good_embed_ancestors_are_kept(value: str, kept: str) -> None:
    assert embed_ancestors(value) == kept
    settings = Settings.from_env({"ROSE_ASH_EMBED_ANCESTORS": value}, kind="events", admin_token=GOOD_TOKEN)
    assert settings.embed_ancestors == kept


def test_the_default_is_self() -> None:
    assert Settings.from_env({}, kind="events", admin_token=GOOD_TOKEN).embed_ancestors == "'self'"
    assert Settings.from_env({"ROSE_ASH_EMBED_ANCESTORS": " "}, kind="events", admin_token=GOOD_TOKEN).embed_ancestors == "'self'"


@pytest.mark.parametrize(
    "value",
    ["https://a.example; script-src *", "'unsafe-inline'", "'none' https://a.example", "http://a,b", '"x"', "javascript:x()"],
)
def test_bad_embed_ancestors_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="ROSE_ASH_EMBED_ANCESTORS"):
        Settings.from_env({"ROSE_ASH_EMBED_ANCESTORS": value}, kind="events", admin_token=GOOD_TOKEN)
    with pytest.raises(ValueError, match="ROSE_ASH_EMBED_ANCESTORS"):
        Settings(kind="events", base_url="http://x.test", database_url="sqlite://", admin_token=GOOD_TOKEN,
                 embed_ancestors=value)  # fmt: skip


def test_a_bad_embed_ancestors_ends_serve_with_one_line(tmp_path: object) -> None:
    result = start(
        ["serve", "--kind", "events", "--data-dir", str(tmp_path), "--admin-token", GOOD_TOKEN],
        env={"ROSE_ASH_EMBED_ANCESTORS": "https://a.example; script-src *"},
    )
    assert_one_clear_line(result, "ROSE_ASH_EMBED_ANCESTORS", "https://a.example;")
