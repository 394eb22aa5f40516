"""The built-in mail catcher: with no SMTP server set, a queued email is kept and the admin reads it at
/admin/mail, its HTML sanitized; nobody else sees it."""

from __future__ import annotations

from sqlalchemy import select

from mail import Attachment, MailState
from store.models import MailMessage
from tests.peer.test_pages import browsing


async def test_the_admin_reads_caught_mail_in_the_browser(database_url: str) -> None:
    async with browsing(database_url, "blog") as browser:
        services = browser.app.state.services
        async with services.store.write() as session:
            await services.mail.send(
                session,
                to="ada@example.org",
                subject="Confirm your subscription",
                text="Open https://blog.example/confirm to confirm.",
                html='<p>Open <a href="https://blog.example/confirm">this link</a>.</p>'
                '<script>alert("x")</script><img src="https://tracker.example/p.png" onerror="alert(1)">',
                attachments=[Attachment("event.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")],
            )
        await browser.app.state.mail_worker.drain()
        async with services.store.read() as session:
            [row] = list(await session.scalars(select(MailMessage)))
        assert row.state == MailState.CAUGHT

        visitor = await browser.client.get("/admin/mail")
        assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")
        assert (await browser.client.get(f"/admin/mail/{row.id}")).status_code == 303

        await browser.login()
        listing = await browser.client.get("/admin/mail")
        assert listing.status_code == 200 and "Confirm your subscription" in listing.text
        assert "ada@example.org" in listing.text and f'href="/admin/mail/{row.id}"' in listing.text
        assert listing.headers["cache-control"] == "no-store"
        page = await browser.client.get(f"/admin/mail/{row.id}")
        assert page.status_code == 200
        assert 'href="https://blog.example/confirm"' in page.text and "this link" in page.text
        assert "<script>" not in page.text and "alert(" not in page.text and "tracker.example" not in page.text
        assert "Open https://blog.example/confirm to confirm." in page.text  # the text part, as text
        assert "event.ics" in page.text and "text/calendar" in page.text
        assert (await browser.client.get("/admin/mail/999999")).status_code == 404
        assert (await browser.client.get("/admin/mail/x")).status_code == 404
