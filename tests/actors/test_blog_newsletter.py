"""The blog's newsletter in one in-process blog app on the real store (both backends): double opt-in with
expiring single-use links, each post emailed once to confirmed subscribers with RFC 8058 one-click
unsubscribe, bad input refused with nothing changed, subscribe requests throttled."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from actors.blog.newsletter import CONFIRM_SECONDS, send_post
from actors.blog.posts import create_post
from peer.app import create_app
from peer.settings import Settings
from store.models import MailMessage
from tests.support.app import row_counts
from tests.support.processes import ADMIN_TOKEN

BASE = "http://blog.test"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r"https?://\S+/newsletter/(?:confirm|unsubscribe)\?token=[\w\-%]+")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Blog:
    app: Starlette
    client: httpx.AsyncClient
    clock: Clock

    @property
    def services(self) -> Any:
        return self.app.state.services

    async def csrf(self, path: str = "/newsletter") -> str:
        page = await self.client.get(path)
        match = CSRF.search(page.text)
        assert page.status_code == 200 and match, (path, page.status_code)
        return match.group(1)

    async def subscribe(self, address: str, client: httpx.AsyncClient | None = None) -> httpx.Response:
        return await (client or self.client).post("/newsletter", data={"csrf": await self.csrf(), "email": address})

    async def mails(self) -> list[tuple[MailMessage, EmailMessage]]:
        await self.app.state.mail_worker.drain()
        async with self.services.store.read() as session:
            rows = list(await session.scalars(select(MailMessage).order_by(MailMessage.id)))
        parsed = []
        for row in rows:
            message = message_from_string(row.raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append((row, message))
        return parsed

    async def confirm(self, link: str) -> httpx.Response:
        path = link.removeprefix(BASE)
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        token = parse_qs(urlsplit(link).query)["token"][0]
        return await self.client.post("/newsletter/confirm", data={"csrf": CSRF.findall(page.text)[0], "token": token})

    async def publish(self, title: str) -> dict[str, Any]:
        async with self.services.store.write() as session:
            post: dict[str, Any] = await create_post(session, self.services, title, f"All about {title}.")
        return post


@contextlib.asynccontextmanager
async def blog(database_url: str) -> AsyncIterator[Blog]:
    clock = Clock()
    settings = Settings(
        kind="blog", base_url=BASE, database_url=database_url, admin_token=ADMIN_TOKEN,
        allow_private=True, inprocess_worker=False, seed=False,
    )  # fmt: skip
    app = create_app(settings, clock)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            yield Blog(app, client, clock)


def body(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content())


async def test_subscribe_confirm_receive_each_post_once_and_unsubscribe_in_one_click(database_url: str) -> None:
    async with blog(database_url) as b:
        answer = await b.subscribe("Ada@Example.ORG")
        assert answer.status_code == 200 and "Check your inbox" in answer.text
        [(row, confirmation)] = await b.mails()
        assert row.recipients == ["Ada@example.org"] and "Confirm" in confirmation["Subject"]
        [link] = LINK.findall(body(confirmation))
        assert link in body(confirmation, "html")

        await b.publish("Before confirming")
        assert len(await b.mails()) == 1  # not confirmed: nothing sent
        # Following the link only shows the button (mail scanners prefetch links): still nothing confirmed.
        assert (await b.client.get(link.removeprefix(BASE))).status_code == 200
        await b.publish("Still not confirmed")
        assert len(await b.mails()) == 1

        confirmed = await b.confirm(link)
        assert confirmed.status_code == 200 and "Subscribed" in confirmed.text
        post = await b.publish("Summer plans")
        mails = await b.mails()
        assert len(mails) == 2
        row, letter = mails[1]
        assert row.recipients == ["Ada@example.org"] and letter["Subject"] == "Summer plans"
        assert "All about Summer plans." in body(letter) and post["id"] in body(letter)
        assert "All about Summer plans." in body(letter, "html")
        assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        leave = str(letter["List-Unsubscribe"]).strip("<>")
        assert leave.startswith(f"{BASE}/newsletter/unsubscribe?token=") and leave in body(letter)

        # The same publish run again (a retry) queues nothing more.
        async with b.services.store.write() as session:
            assert await send_post(session, b.services, post) == 0
        assert len(await b.mails()) == 2

        # The link is used once: a second confirmation changes nothing.
        again = await b.client.get(link.removeprefix(BASE))
        assert again.status_code == 400 and "not valid" in again.text

        # RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to the URL, no cookie, no CSRF token.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=b.app), base_url=BASE) as mail_client:
            gone = await mail_client.post(leave.removeprefix(BASE), data={"List-Unsubscribe": "One-Click"})
        assert gone.status_code == 200 and "Unsubscribed" in gone.text
        await b.publish("After leaving")
        assert len(await b.mails()) == 2
        assert (await b.client.get(leave.removeprefix(BASE))).status_code == 400


async def test_the_unsubscribe_page_asks_then_unsubscribes(database_url: str) -> None:
    async with blog(database_url) as b:
        await b.subscribe("ada@example.org")
        [(_, confirmation)] = await b.mails()
        await b.confirm(LINK.findall(body(confirmation))[0])
        await b.publish("One")
        _, letter = (await b.mails())[1]
        [leave] = [u for u in LINK.findall(body(letter)) if "unsubscribe" in u]
        page = await b.client.get(leave.removeprefix(BASE))
        assert page.status_code == 200 and "ada@example.org" in page.text and "Unsubscribe" in page.text
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None
        done = await b.client.post(action.group(1).replace("&amp;", "&"))
        assert done.status_code == 200 and "Unsubscribed" in done.text
        await b.publish("Two")
        assert len(await b.mails()) == 2


async def test_a_confirmation_link_expires_and_only_the_newest_works(database_url: str) -> None:
    async with blog(database_url) as b:
        await b.subscribe("ada@example.org")
        await b.subscribe("ada@example.org")
        (_, first), (_, second) = await b.mails()
        old, new = LINK.findall(body(first))[0], LINK.findall(body(second))[0]
        assert old != new
        assert (await b.client.get(old.removeprefix(BASE))).status_code == 400
        b.clock.now += CONFIRM_SECONDS + 1
        before = await row_counts(b.services.store)
        refused = await b.client.get(new.removeprefix(BASE))
        assert refused.status_code == 400 and "expired" in refused.text
        token = parse_qs(urlsplit(new).query)["token"][0]
        posted = await b.client.post("/newsletter/confirm", data={"csrf": await b.csrf(), "token": token})
        assert posted.status_code == 400
        assert await row_counts(b.services.store) == before
        await b.publish("Nobody gets this")
        assert len(await b.mails()) == 2


async def test_bad_requests_are_refused_and_change_nothing(database_url: str) -> None:
    async with blog(database_url) as b:
        csrf = await b.csrf()
        before = await row_counts(b.services.store)
        for bad in ("", "ada", "ada@", "ada@example", "a b@example.org", "x" * 300 + "@example.org", "a@b.org\r\nBcc: e@f.org"):
            answer = await b.client.post("/newsletter", data={"csrf": csrf, "email": bad})
            assert answer.status_code == 400 and "is not an email address" in answer.text, bad
        assert (await b.client.post("/newsletter", data={"email": "ada@example.org"})).status_code == 403  # no CSRF
        for path in ("/newsletter/confirm?token=nope", "/newsletter/unsubscribe?token=nope", "/newsletter/confirm"):
            assert (await b.client.get(path)).status_code == 400
        assert (await b.client.post("/newsletter/unsubscribe?token=" + "x" * 43)).status_code == 400
        assert (await b.client.post("/newsletter/unsubscribe", data={"token": ""})).status_code == 400
        posted = await b.client.post("/newsletter/confirm", data={"csrf": csrf, "token": "guess"})
        assert posted.status_code == 400 and "not valid" in posted.text
        assert await row_counts(b.services.store) == before


async def test_an_address_already_subscribed_gets_the_same_answer_and_no_mail(database_url: str) -> None:
    async with blog(database_url) as b:
        await b.subscribe("ada@example.org")
        [(_, confirmation)] = await b.mails()
        await b.confirm(LINK.findall(body(confirmation))[0])
        answer = await b.subscribe("ada@example.org")
        assert answer.status_code == 200 and "Check your inbox" in answer.text
        assert len(await b.mails()) == 1


async def test_subscribe_requests_are_throttled(database_url: str) -> None:
    async with blog(database_url) as b:
        for _ in range(3):
            assert (await b.subscribe("ada@example.org")).status_code == 200
        limited = await b.subscribe("ada@example.org")  # a fourth email to one address within the hour
        assert limited.status_code == 429 and "Too many" in limited.text
        for n in range(2):  # the client's fifth request within the minute
            assert (await b.subscribe(f"reader{n}@example.org")).status_code == 200
        before = await row_counts(b.services.store)
        assert (await b.subscribe("another@example.org")).status_code == 429
        assert await row_counts(b.services.store) == before
        assert len(await b.mails()) == 5
