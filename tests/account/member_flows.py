"""An in-process account service with a clock the test moves and a real SMTP server: the pages' forms are
posted with their CSRF tokens, and the emailed links are read from the MIME messages the server received."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from actors.account import members
from peer.app import create_app
from peer.settings import Settings
from store.models import Member
from tests.support.processes import ADMIN_TOKEN
from tests.support.smtp import Received, SmtpSink

BASE = "http://account.test"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r"https?://\S+?/(?:verify|reset/new|email/confirm|invitation)\?token=[\w\-%]+")
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def body(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content())


def link_in(received: Received) -> str:
    """The one-time link in an email (the same in its text and HTML parts), as a path with its query."""
    [link] = LINK.findall(body(received.message))
    assert link in body(received.message, "html")
    return link.removeprefix(BASE)


def token_of(path: str) -> str:
    return parse_qs(urlsplit(path).query)["token"][0]


@dataclass
class Account:
    app: Starlette
    client: httpx.AsyncClient
    clock: Clock
    smtp: SmtpSink

    @property
    def services(self) -> Any:
        return self.app.state.services

    def browser(self) -> httpx.AsyncClient:
        """Another browser (its own cookies), closed with the app."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE)

    async def csrf(self, path: str = "/signin", client: httpx.AsyncClient | None = None) -> str:
        page = await (client or self.client).get(path)
        match = CSRF.search(page.text)
        assert page.status_code == 200 and match, (path, page.status_code, page.text[:500])
        return match.group(1)

    async def post(
        self, path: str, data: dict[str, Any], *, page: str = "/", client: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        """Post a form as the page `page` would (its CSRF token)."""
        csrf = await self.csrf(page, client)
        return await (client or self.client).post(path, data={"csrf": csrf, **data})

    async def mails(self, count: int) -> list[Received]:
        """Send what is queued, then the first `count` messages the SMTP server received."""
        await self.app.state.mail_worker.drain()
        return self.smtp.wait_for(count)

    async def follow(
        self, link: str, form: dict[str, Any] | None = None, client: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        """Open an emailed link (a page with a button: scanners' prefetches change nothing), then press it."""
        action = urlsplit(link).path
        return await self.post(action, {"token": token_of(link), **(form or {})}, page=link, client=client)

    async def sign_in(
        self, email: str, password: str = PASSWORD, client: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        return await self.post("/signin", {"email": email, "password": password}, page="/signin", client=client)

    async def member(self, email: str) -> Member | None:
        async with self.services.store.read() as db:
            return await members.by_email(db, email)

    async def all_members(self) -> list[Member]:
        async with self.services.store.read() as db:
            return list(await db.scalars(select(Member).order_by(Member.email)))

    async def add_member(self, email: str, roles: frozenset[str] = frozenset(), verified: bool = True) -> Member:
        async with self.services.store.write() as db:
            member = await members.new_member(
                db, email, email.split("@")[0].title(), members.hash_password(PASSWORD), self.clock()
            )
            if verified:
                member.email_verified_at = self.clock()
            await members.set_roles(db, member.id, set(roles), "test", self.clock())
        return member


@contextlib.asynccontextmanager
async def account_service(database_url: str, smtp: SmtpSink, **settings: Any) -> AsyncIterator[Account]:
    clock = Clock()
    options = {"allow_private": True, "inprocess_worker": False, "seed": False, **settings}
    app = create_app(
        Settings(
            kind="account",
            base_url=BASE,
            database_url=database_url,
            admin_token=ADMIN_TOKEN,
            smtp_url=smtp.url,
            **options,
        ),
        clock,
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            yield Account(app, client, clock, smtp)
