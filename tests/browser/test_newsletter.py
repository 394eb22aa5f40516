"""The newsletter in a real browser against a real blog process and a real SMTP server (aiosmtpd): a reader
subscribes on the blog's page, confirms with the emailed link, receives the editor's next post with RFC 8058
headers, leaves with the email's unsubscribe link, and receives nothing after. On both stores."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from store import open_store
from store.models import MailMessage
from tests.browser.test_story import OUTPUT, playwright_api
from tests.support.processes import ADMIN_TOKEN, PeerProcess
from tests.support.smtp import Received, SmtpSink

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
READER = "reader@example.org"
CONFIRM = re.compile(r"https?://\S+/newsletter/confirm\?token=[\w\-%]+")


@pytest.fixture
def blog(database_url: str, smtp_server: SmtpSink, tmp_path: Path) -> Iterator[PeerProcess]:
    peer = PeerProcess(
        "blog", database_url=database_url, log_path=tmp_path / "blog.log", env={"ROSE_ASH_SMTP_URL": smtp_server.url}
    )
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


def text_of(received: Received) -> str:
    body = received.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def _subjects_to(database_url: str, address: str) -> list[str]:
    store = open_store(database_url)
    try:
        async with store.read() as session:
            rows = await session.scalars(select(MailMessage))
            return [r.subject for r in rows if address in r.recipients]
    finally:
        await store.close()


def test_subscribe_confirm_receive_a_post_unsubscribe_from_the_email_and_receive_no_more(
    blog: PeerProcess, smtp_server: SmtpSink, database_url: str
) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        reader = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
        editor = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
        for page in (reader, editor):
            page.set_default_timeout(20_000)
        expect = playwright_api.expect

        reader.goto(f"{blog.url}/")
        form = reader.locator("#newsletter")
        form.locator("input[name=email]").fill(READER)
        form.locator("button:has-text('Subscribe')").click()
        expect(reader.locator("p.notice")).to_contain_text(f"Check your inbox at {READER}")
        reader.screenshot(path=str(OUTPUT / "newsletter-01-asked.png"), full_page=True)

        [asked] = smtp_server.wait_for(1)
        assert asked.envelope_to == [READER] and "Confirm your subscription" in str(asked.message["Subject"])
        [link] = CONFIRM.findall(text_of(asked))
        reader.goto(link)
        expect(reader.locator("main")).to_contain_text(f"Receive every new post at {READER}?")
        reader.click("button:has-text('Confirm my subscription')")
        expect(reader.locator("p.notice")).to_contain_text(f"Subscribed: new posts will be emailed to {READER}")
        reader.screenshot(path=str(OUTPUT / "newsletter-02-confirmed.png"), full_page=True)

        def publish(title: str, body: str) -> None:
            editor.goto(f"{blog.url}/posts/new")
            editor.fill("input[name=title]", title)
            editor.fill("textarea[name=body]", body)
            editor.click("button[value=publish]")
            expect(editor.locator("h1")).to_have_text(title)

        editor.goto(f"{blog.url}/login?next=/posts/new")
        editor.fill("input[name=token]", ADMIN_TOKEN)
        editor.click("button:has-text('Log in')")
        editor.wait_for_url(f"{blog.url}/posts/new")
        publish("Autumn programme", "Three **concerts** in October.")

        [_, letter] = smtp_server.wait_for(2)
        assert letter.envelope_to == [READER] and str(letter.message["Subject"]) == "Autumn programme"
        assert letter.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        leave = str(letter.message["List-Unsubscribe"]).strip("<>")
        assert leave.startswith(f"{blog.url}/newsletter/unsubscribe?token=")
        html = letter.message.get_body(("html",))
        assert html is not None and "<strong>concerts</strong>" in str(html.get_content())
        assert f"Unsubscribe: {leave}" in text_of(letter)  # the link in the email is the header's
        reader.set_content(str(html.get_content()))  # what the reader's mail client shows
        reader.screenshot(path=str(OUTPUT / "newsletter-03-post-email.png"), full_page=True)

        in_email = reader.locator("a:has-text('Unsubscribe')")
        assert in_email.get_attribute("href") == leave
        in_email.click()  # the email's own link, opened in the browser
        reader.wait_for_url(leave)
        expect(reader.locator("main")).to_contain_text(f"Stop emailing new posts to {READER}?")
        reader.click("button:has-text('Unsubscribe')")
        expect(reader.locator("p.notice")).to_contain_text(f"Unsubscribed: no more posts will be emailed to {READER}")
        reader.screenshot(path=str(OUTPUT / "newsletter-04-unsubscribed.png"), full_page=True)

        publish("Winter programme", "Carols in December.")  # committed, with any email it queues, before the page
        browser.close()
    assert asyncio.run(_subjects_to(database_url, READER)) == [
        "Confirm your subscription to the Blog",
        "Autumn programme",
    ]
    time.sleep(2)  # the mail worker sends within a fraction of a second of a commit
    assert len(smtp_server.received) == 2
