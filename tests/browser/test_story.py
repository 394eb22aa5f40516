"""The whole story in a real browser across three real peer processes started by `rose-ash up`:
write a post, allocate it, schedule an event featuring it, buy a ticket, watch the sold count."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image

from tests.support.up import rose_ash_up

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[dict[str, str]]:
    with rose_ash_up(tmp_path) as urls:
        yield urls


def test_the_whole_story_in_a_browser(peers: dict[str, str]) -> None:
    blog, events, shop, token = peers["blog"], peers["events"], peers["shop"], peers["token"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    step = iter(range(1, 100))
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)

        def shot(name: str) -> None:
            page.screenshot(path=str(OUTPUT / f"{next(step):02d}-{name}.png"), full_page=True)

        def log_in(base: str, then: str) -> None:
            page.goto(f"{base}/login?next={then}")
            page.fill("input[name=token]", token)
            page.click("button:has-text('Log in')")
            page.wait_for_url(f"{base}{then}")

        # 1. The editor writes a post on the blog.
        log_in(blog, "/posts/new")
        page.fill("input[name=title]", "Summer Gig notes")
        page.fill("textarea[name=body]", "Bring friends.\n\nDoors open at seven.")
        page.click("button:has-text('Publish')")
        page.wait_for_url(f"{blog}/posts/summer-gig-notes")
        assert page.locator("h1").inner_text() == "Summer Gig notes"
        shot("post-written")

        # 2. Allocate it to the events peer's calendar: pending, then allocated when Accept comes back.
        page.select_option("select[name=calendar]", label="Main")
        page.click("button:has-text('Allocate')")
        page.wait_for_url(f"{blog}/posts/summer-gig-notes")
        state = page.locator("ul.allocations [data-live]").first
        playwright_api.expect(state).to_have_text("allocated", timeout=20_000)
        shot("post-allocated")

        # 3. The events peer's /calendars shows the allocated post.
        log_in(events, "/calendars")
        playwright_api.expect(page.locator("ul.allocated")).to_contain_text("Summer Gig notes")
        shot("calendar-shows-post")

        # 4. Schedule "Summer Gig" featuring it.
        form = page.locator("form.schedule")
        if not form.is_visible():
            page.click("summary:has-text('Schedule an event')")
        form.locator("input[name=name]").fill("Summer Gig")
        form.locator("input[name=location]").fill("The Hall")
        form.locator("input[name=address]").fill("1 High Street")
        form.locator("input[name=start]").fill("2027-07-01T19:00")
        form.locator("input[name=end]").fill("2027-07-01T23:00")
        form.locator("input[name=timezone]").fill("Europe/London")
        form.locator("input[name=capacity]").fill("100")
        form.locator("input[name=price]").fill("12.00")
        form.locator("select[name=featured]").select_option(label="Summer Gig notes")
        form.locator("button:has-text('Schedule and announce')").click()
        page.wait_for_url(re.compile(r".*/calendars#summer-gig$"))
        card = page.locator("#summer-gig")
        playwright_api.expect(card).to_contain_text("Featuring Summer Gig notes")
        playwright_api.expect(card.locator(".sold-count")).to_have_text("0")
        shot("event-scheduled")

        # A second tab keeps /calendars open: its sold count must change without a reload.
        watcher = context.new_page()
        watcher.goto(f"{events}/calendars")
        watcher_count = watcher.locator("#summer-gig .sold-count")
        playwright_api.expect(watcher_count).to_have_text("0")

        # 5. A visitor buys a priced ticket: pending, then held while they pay (the shop's manual provider).
        card.locator("summary:has-text('Buy ticket')").click()
        card.locator("input[name=name]").fill("Ada Lovelace")
        card.locator("input[name=email]").fill("ada@example.org")
        card.locator("button:has-text('Buy')").click()
        page.wait_for_url(re.compile(r".*/tickets/.+"))
        ticket_page = page.url
        shot("purchase-pending")
        playwright_api.expect(page.locator("#purchase-state")).to_have_text("held", timeout=20_000)
        order_number = page.locator("#order-number").inner_text()
        assert order_number.isdigit()
        # The page reloads itself for the new state: how to pay, and until when, in the event's own zone.
        playwright_api.expect(page.locator("#pay-now a.button")).to_have_text("How to pay", timeout=10_000)
        playwright_api.expect(page.locator("#held-until")).to_contain_text("(Europe/London)")
        shot("purchase-held")
        playwright_api.expect(watcher.locator("#summer-gig .held-count")).to_have_text("1", timeout=20_000)

        # 6. The order is on the shop, with the buyer, for the admin only; staff mark it paid.
        log_in(shop, "/orders")
        row = page.locator("table.orders tbody tr").first
        playwright_api.expect(row).to_contain_text(order_number)
        playwright_api.expect(row).to_contain_text("Ada Lovelace")
        shot("shop-order")
        row.locator("button:has-text('Mark paid')").click()
        playwright_api.expect(page.locator("table.orders tbody tr").first).to_contain_text("OrderDelivered")

        # 7. The buyer's page says confirmed; the sold count reads 1 on events, updated live in the other tab.
        page.goto(ticket_page)
        playwright_api.expect(page.locator("#purchase-state")).to_have_text("confirmed", timeout=20_000)
        playwright_api.expect(page.locator("#confirmed")).to_contain_text("ada@example.org")
        # The ticket's QR code, as the phone shows it at the door, reads back as its code.
        code = page.locator(".ticket-code").first.inner_text()
        qr = Image.open(io.BytesIO(page.locator(".ticket-qr").first.screenshot()))
        assert [found.text for found in zxingcpp.read_barcodes(qr)] == [code]
        assert page.locator("#add-to-calendar").get_attribute("href") == "/events/summer-gig.ics"
        shot("purchase-confirmed")
        playwright_api.expect(watcher_count).to_have_text("1", timeout=20_000)
        watcher.screenshot(path=str(OUTPUT / f"{next(step):02d}-sold-count-live.png"), full_page=True)
        page.goto(f"{events}/calendars")
        playwright_api.expect(page.locator("#summer-gig .sold-count")).to_have_text("1")

        # 8. The blog's post page lists the event featuring it.
        page.goto(f"{blog}/posts/summer-gig-notes")
        playwright_api.expect(page.locator("body")).to_contain_text("Summer Gig")
        shot("post-lists-event")
        browser.close()

    # The stores agree over ActivityPub: the sold collection and the shop's orders both hold one.
    accept = {"Accept": "application/activity+json"}
    sold = httpx.get(f"{events}/events/summer-gig/sold", headers=accept).json()
    assert sold["totalItems"] == 1
    shop_home = httpx.get(shop + "/").text
    assert "Summer Gig" in shop_home and "Ada" not in shop_home
