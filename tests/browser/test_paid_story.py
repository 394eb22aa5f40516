"""The whole paid story in a real Chromium, on both stores: real events and shop processes, a real localstripe
(its Stripe.js stand-in on the checkout page) and a real SMTP server. A buyer buys on the event page and pays on
the shop's checkout page through its 3-D Secure step, gets the email whose QR code decodes to the ticket's code,
is admitted once at the door and refused the second time; staff refund the order on /orders and the seats are
back on both peers.

localstripe's Stripe.js stand-in does not send a card element's details with a PaymentIntent (its
`confirmCardPayment` only answers the 3-D Secure step of an intent that has a card), so the test card, one that
asks for 3-D Secure, is attached to the order's intent through localstripe's API, as Stripe.js would; the
buyer's Pay on the page then confirms it through the stand-in's 3-D Secure dialog."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from tests.faults.conftest import Market, market  # noqa: F401 (the fixture)
from tests.faults.test_order_lifecycle import assert_agree
from tests.faults.test_stripe_checkout import localstripe  # noqa: F401 (the fixture)
from tests.hostile.helpers import Visitor, schedule_event, slug_of, wait_until
from tests.support.localstripe import LocalStripe
from tests.support.smtp import SmtpSink

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
CAPACITY = 3
SECURE_CARD = "4000002760003184"  # localstripe's list: asks for 3-D Secure, then pays
SECRET = re.compile(r'data-client-secret="(pi_[^"_]+)_secret_')

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


def attach_card(stripe: LocalStripe, intent: str, card: str) -> None:
    """What Stripe.js does with the card the buyer typed: a card payment method, attached to the intent."""
    method = stripe.http.post(
        "/v1/payment_methods",
        data={"type": "card", "card[number]": card, "card[exp_month]": "12", "card[exp_year]": "2031", "card[cvc]": "123"},
    )
    assert method.status_code == 200, method.text
    attached = stripe.http.post(f"/v1/payment_intents/{intent}", data={"payment_method": method.json()["id"]})
    assert attached.status_code == 200, attached.text
    confirmed = stripe.http.post(f"/v1/payment_intents/{intent}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "requires_action", confirmed.text


def qr_codes_in(message: object) -> list[str]:
    found = []
    for part in message.walk():  # type: ignore[attr-defined]
        if part.get_content_type() == "image/png":
            png = Image.open(io.BytesIO(part.get_payload(decode=True)))
            found += [r.text for r in zxingcpp.read_barcodes(png)]
    return found


def test_buy_pay_email_door_refund_in_a_browser(
    market: Callable[..., Market],  # noqa: F811
    localstripe: LocalStripe,  # noqa: F811
    smtp_server: SmtpSink,
) -> None:
    m = market(env={**localstripe.env(), "ROSE_ASH_SMTP_URL": smtp_server.url})
    localstripe.send_webhooks_to(f"{m.shop.url}/payments/stripe")
    event = schedule_event(m.http, m.events, name="Paid Night", capacity=CAPACITY, price="12.50")
    slug = slug_of(event)
    organiser = Visitor(m.events, "/calendars").login()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
            page.set_default_timeout(20_000)
            console: list[str] = []
            page.on("console", lambda msg: console.append(msg.text))

            def shot(name: str) -> None:
                page.screenshot(path=str(OUTPUT / f"paid-{name}.png"), full_page=True)

            # Buy on the event page: held, with a card checkout to pay on.
            page.goto(f"{m.events.url}/events/{slug}")
            page.fill("input[name=name]", "Ada Lovelace")
            page.fill("input[name=email]", "ada@example.org")
            page.click("button:has-text('Buy ticket')")
            page.wait_for_url(re.compile(r".*/tickets/.+"))
            ticket_page = page.url
            playwright_api.expect(page.locator("#pay-now a.button")).to_have_text("Pay by card")
            shot("01-held")

            # Pay by card on the shop's checkout page (localstripe's Stripe.js stand-in takes the card).
            page.click("#pay-now a.button")
            page.wait_for_selector("#card-element input[placeholder=number]")
            match = SECRET.search(page.content())
            assert match, "the checkout page carries its PaymentIntent"
            attach_card(localstripe, match.group(1), SECURE_CARD)
            shot("02-checkout")
            page.click("#pay")
            page.click("button:has-text('Complete authentication')")  # localstripe's stand-in for 3D Secure
            try:
                page.wait_for_url(re.compile(rf"{re.escape(m.shop.url)}/orders/\d+\?token=.+"))
            except Exception:
                shot("02b-after-pay")
                raise AssertionError(console) from None

            # The webhook confirms it: the buyer's page shows the ticket, the email carries its QR code.
            page.goto(ticket_page)
            playwright_api.expect(page.locator("#purchase-state")).to_have_text("confirmed")
            code = page.locator(".ticket-code").first.inner_text()
            shot("03-confirmed")
            [mail] = smtp_server.wait_for(1)
            assert mail.envelope_to == ["ada@example.org"] and qr_codes_in(mail.message) == [code]
            assert_agree(m, organiser, event, sold=1, held=0, capacity=CAPACITY)

            # The door: admitted once, then refused as already used, twice.
            door = f"/events/{slug}/checkin"
            page.goto(f"{m.events.url}/login?next={door}")
            page.fill("input[name=token]", m.events.admin_token)
            page.click("button:has-text('Log in')")
            page.wait_for_url(f"{m.events.url}{door}")
            for expected in ("admitted", "used", "used"):
                page.fill("input[name=code]", code)
                page.click("button:has-text('Check in')")
                playwright_api.expect(page.locator("#verdict")).to_have_attribute("data-verdict", expected)
            shot("04-door")

            # Staff refund the order on the shop; the seats are back on both peers and the buyer is told.
            page.goto(f"{m.shop.url}/login?next=/orders")
            page.fill("input[name=token]", m.shop.admin_token)
            page.click("button:has-text('Log in')")
            page.wait_for_url(f"{m.shop.url}/orders")
            page.click("table.orders button:has-text('Refund')")
            playwright_api.expect(page.locator("table.orders tbody tr").first).to_contain_text("OrderReturned")
            shot("05-refunded")
        finally:
            browser.close()
    assert_agree(m, organiser, event, sold=0, held=0, capacity=CAPACITY)
    [order] = m.orders()
    assert [r["amount"] for r in localstripe.refunds_of(order["paymentIntent"])] == [1250]
    wait_until(lambda: len(smtp_server.received) == 2, what="the refund email")
    assert "Refunded" in str(smtp_server.received[-1].message["Subject"])
    organiser.close()
