"""An event's poster given through the schedule form in a real Chromium (a multipart form with a file, as a
person sends it) against a real events process on both stores: the browser loads the poster on the event page
and on /calendars under the page policy, picking one of the srcset's widths; the reschedule form removes it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.media import images
from tests.support.processes import PeerProcess

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]

LOADED = "img => img.complete && img.naturalWidth > 0 ? img.currentSrc : ''"


def test_a_poster_given_in_the_browser_shows_on_the_event_page(
    peer_process: Callable[..., PeerProcess], tmp_path: Path
) -> None:
    events = peer_process("events", env={"ROSE_ASH_MEDIA_DIR": str(tmp_path / "media")})
    poster = tmp_path / "poster.jpg"
    poster.write_bytes(images.photo("JPEG", (1600, 1000), gps=True))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{events.url}/login?next=/calendars")
            page.fill("input[name=token]", events.admin_token)
            page.click("button:has-text('Log in')")
            page.wait_for_url(f"{events.url}/calendars")

            form = page.locator("form.schedule")
            if not form.is_visible():
                page.click("summary:has-text('Schedule an event')")
            for name, value in (("name", "Poster Gig"), ("location", "The Hall"), ("start", "2027-07-01T19:00"),
                                ("end", "2027-07-01T23:00"), ("capacity", "100"), ("price", "5.00")):  # fmt: skip
                form.locator(f"input[name={name}]").fill(value)
            form.locator("input[name=poster]").set_input_files(str(poster))
            form.locator("input[name=poster_alt]").fill("The band under orange lights")
            form.locator("button:has-text('Schedule and announce')").click()
            page.wait_for_url(f"{events.url}/calendars#poster-gig")
            listed = page.locator("#poster-gig img.poster")
            playwright_api.expect(listed).to_have_attribute("alt", "The band under orange lights")
            listed.scroll_into_view_if_needed()
            page.wait_for_function(f"() => ({LOADED})(document.querySelector('#poster-gig img.poster'))")

            page.goto(f"{events.url}/events/poster-gig")
            shown = page.locator("article.event img.poster")
            page.wait_for_function(f"() => ({LOADED})(document.querySelector('article.event img.poster'))")
            chosen = str(shown.evaluate(LOADED))
            srcset = str(shown.get_attribute("srcset"))
            assert chosen and chosen in srcset, (chosen, srcset)
            page.screenshot(path=str(OUTPUT / "poster-event-page.png"))

            page.goto(f"{events.url}/events/poster-gig/edit")
            page.check("input[name=poster_remove]")
            page.click("button:has-text('Save and announce the change')")
            page.wait_for_url(f"{events.url}/events/poster-gig")
            assert page.locator("img.poster").count() == 0
        finally:
            browser.close()
