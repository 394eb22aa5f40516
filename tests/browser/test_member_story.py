"""A member's story in a real browser across the four processes `rose-ash up` starts, with mail going to a real
SMTP server: sign up at the account service, confirm the address from the emailed link, sign in on the blog, find
oneself already signed in on the events peer and the shop, buy a ticket, see it on the account page, sign out, and
be asked to sign in again everywhere."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.account.member_flows import LINK, body
from tests.support.smtp import SmtpSink
from tests.support.up import rose_ash_up

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
KINDS = ("blog", "events", "shop", "account")
EMAIL, PASSWORD = "grace@example.org", "a long and good password"
AS2 = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
EVENT = {
    "type": "Event",
    "name": "Members Night",
    "startTime": "2027-09-01T19:00",
    "endTime": "2027-09-01T22:00",
    "timezone": "Europe/London",
    "location": {"type": "Place", "name": "The Hall"},
    "maximumAttendeeCapacity": 40,
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def cooperative(tmp_path: Path, smtp_server: SmtpSink) -> Iterator[dict[str, str]]:
    with rose_ash_up(tmp_path, {"ROSE_ASH_SMTP_URL": smtp_server.url}) as urls:
        yield urls


def schedule_event(events: str, token: str) -> None:
    """The organiser's part, through the events outbox with the admin token (the browser story covers the form)."""
    answer = httpx.post(
        f"{events}/actor/outbox",
        json=EVENT,
        headers={"Authorization": f"Bearer {token}", "Content-Type": AS2},
        timeout=20,
        trust_env=False,
    )
    assert answer.status_code == 201, answer.text


def verification_link(smtp_server: SmtpSink) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for received in smtp_server.received:
            if received.envelope_to == [EMAIL] and received.message["Subject"] == "Confirm your email address":
                [link] = LINK.findall(body(received.message))
                return link
        time.sleep(0.1)
    raise AssertionError(f"no verification email reached {EMAIL}")


def test_a_member_signs_up_signs_in_once_buys_and_signs_out_everywhere(
    cooperative: dict[str, str], smtp_server: SmtpSink
) -> None:
    blog, events, shop, account = (cooperative[k] for k in KINDS)
    schedule_event(events, cooperative["token"])
    OUTPUT.mkdir(parents=True, exist_ok=True)
    step = iter(range(1, 100))
    expect = playwright_api.expect
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync", "--disable-background-networking"],
        )
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        page.set_default_timeout(20_000)

        def shot(name: str) -> None:
            page.screenshot(path=str(OUTPUT / f"member-{next(step):02d}-{name}.png"), full_page=True)

        def signed_in_header() -> playwright_api.Locator:
            return page.locator("header.site nav")

        # 1. Sign up at the account service; the address is confirmed from the link in the email.
        page.goto(f"{account}/signup")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=name]", "Grace Hopper")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Sign up')")
        expect(page.locator("main")).to_contain_text("We sent an email")
        shot("signed-up")
        page.goto(verification_link(smtp_server))
        page.click("button:has-text('Confirm')")
        expect(page.locator("main")).to_contain_text("is confirmed")
        shot("address-confirmed")

        # 2. Sign in on the blog: its button goes through the account service, which asks for the password once.
        page.goto(f"{blog}/login?next=/")
        page.click("button:has-text('Sign in with your account')")
        page.wait_for_url(re.compile(rf"^{re.escape(account)}/signin"))
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Sign in')")
        page.wait_for_url(f"{blog}/")
        expect(signed_in_header()).to_contain_text(EMAIL)
        shot("signed-in-on-the-blog")

        # 3. The events peer and the shop sign her in on her first visit: one redirect there and back, no password.
        for peer, path in ((events, "/calendars"), (shop, "/")):
            page.goto(f"{peer}{path}")
            page.wait_for_url(f"{peer}{path}")
            expect(signed_in_header()).to_contain_text(EMAIL)
            expect(page.locator("input[name=password]")).to_have_count(0)
        shot("already-signed-in-on-the-shop")

        # 4. She buys a ticket for the event with her address.
        page.goto(f"{events}/calendars")
        card = page.locator("#members-night")
        card.locator("summary:has-text('Buy ticket')").click()
        card.locator("input[name=name]").fill("Grace Hopper")
        card.locator("input[name=email]").fill(EMAIL)
        card.locator("button:has-text('Buy')").click()
        page.wait_for_url(re.compile(r".*/tickets/.+"))
        expect(page.locator("#purchase-state")).to_have_text("confirmed", timeout=30_000)
        ticket_page = page.url
        order_number = page.locator("#order-number").inner_text()
        shot("ticket-bought")

        # 5. The account page lists the ticket, the upcoming event and the order, each linking to its page.
        page.goto(f"{account}/account")
        main = page.locator("main")
        expect(main).to_contain_text("Members Night")
        expect(main).to_contain_text(order_number)
        assert page.locator(f"a[href='{ticket_page}']").count() >= 1, "the account page links to the ticket page"
        shot("account-page")

        # 6. Signing out on the blog ends her sessions everywhere: every peer offers to sign in again.
        page.goto(f"{blog}/")
        page.locator("header.site button:has-text('Sign out')").click()
        page.wait_for_load_state()
        for peer in (blog, events, shop, account):
            page.goto(f"{peer}/")
            expect(signed_in_header()).not_to_contain_text(EMAIL)
            expect(signed_in_header().locator("a:has-text('Sign in')")).to_have_count(1)
        page.goto(f"{account}/account")
        page.wait_for_url(re.compile(rf"^{re.escape(account)}/signin"))
        shot("signed-out-everywhere")
        browser.close()
