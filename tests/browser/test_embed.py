"""The calendar widget in a real Chromium, framed by a page on another loopback origin: the events peer (a real
process, on both stores) names one origin in ROSE_ASH_EMBED_ANCESTORS; a page there shows the widget in its
iframe and the event's link opens the event's page outside the frame, while the same page served from a second
origin gets the frame refused, as it does for any other page of the peer (frame-ancestors 'none')."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.federation.test_rsvp import FORM
from tests.support.admin import Admin
from tests.support.httpserver import FakeServer, Reply
from tests.support.processes import PeerProcess

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


def host_page(src: str) -> Reply:
    body = f'<!doctype html><title>Our venue</title><h1>What is on</h1><iframe src="{src}" width="600" height="400"></iframe>'
    return Reply(200, {"content-type": "text/html; charset=utf-8"}, body.encode())


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync", "--disable-background-networking"],
        )
        try:
            yield launched
        finally:
            launched.close()


def _frame_text(frame: object) -> str:
    try:
        return str(frame.evaluate("document.body ? document.body.innerText : ''"))  # type: ignore[attr-defined]
    except playwright_api.Error:
        return ""  # the refused frame's error page is not the widget's


def test_the_widget_shows_only_in_a_frame_on_an_origin_the_setting_names(
    peer_process: Callable[..., PeerProcess], fake_server: Callable[[], FakeServer], browser: object
) -> None:
    allowed, other = fake_server(), fake_server()
    assert allowed.netloc != other.netloc
    events = peer_process("events", env={"ROSE_ASH_EMBED_ANCESTORS": f"'self' {allowed.base_url}"})
    admin = Admin(events.url, events.admin_token).login()
    try:
        data = {**FORM, "name": "Framed Gig", "calendar": f"{events.url}/calendars/main", "csrf": admin.csrf("/calendars")}
        answer = admin.client.post("/calendars/schedule", data=data)
        assert answer.status_code == 303, answer.text[:500]
        event = f"{events.url}/events/{answer.headers['location'].rsplit('#', 1)[1]}"
    finally:
        admin.close()
    for server in (allowed, other):
        server.serve("/venue.html", host_page(f"{events.url}/calendars/main/embed"))
        server.serve("/other-page.html", host_page(f"{events.url}/calendars"))

    OUTPUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 800, "height": 600})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(20_000)
    refusals: list[str] = []
    page.on("console", lambda message: refusals.append(message.text) if "frame-ancestors" in message.text else None)

    # The origin the setting names: the widget shows in the frame, and its link leaves the frame.
    page.goto(allowed.url("/venue.html"))
    widget = page.frame_locator("iframe")
    link = widget.locator("a", has_text="Framed Gig")
    link.wait_for()
    assert link.get_attribute("href") == event and link.get_attribute("target") == "_blank"
    assert "Sat 5 Jun 2027" in widget.locator("body").inner_text()
    page.screenshot(path=str(OUTPUT / "embed-allowed.png"))
    with context.expect_page() as opened:
        link.click()
    opened.value.wait_for_load_state()
    assert opened.value.url == event and "Framed Gig" in opened.value.locator("h1").inner_text()
    opened.value.close()
    assert refusals == []

    # Another origin: Chromium refuses the frame.
    page.goto(other.url("/venue.html"))
    page.wait_for_timeout(1500)
    frames = [f for f in page.frames if f != page.main_frame]
    assert len(frames) == 1 and "Framed Gig" not in _frame_text(frames[0])
    page.screenshot(path=str(OUTPUT / "embed-refused.png"))
    assert any(events.url in text for text in refusals), refusals

    # Any other page of the peer is never framed, even by the origin the setting names.
    refusals.clear()
    page.goto(allowed.url("/other-page.html"))
    page.wait_for_timeout(1500)
    frames = [f for f in page.frames if f != page.main_frame]
    assert len(frames) == 1 and "Calendars" not in _frame_text(frames[0])
    assert any("frame-ancestors 'none'" in text for text in refusals), refusals
    context.close()
