"""The account service and two of its client peers as real processes, a member in the account's store, and a
browser (an httpx client that follows redirects by hand, so that every hop can be looked at)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from actors.account import members
from store.models import WebSession
from tests.support.databases import Databases, Peek
from tests.support.processes import PeerProcess, free_port

PASSWORD = "correct horse battery"
EMAIL = "ada@example.org"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
NAVIGATE = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


@dataclass
class World:
    account: PeerProcess
    blog: PeerProcess
    events: PeerProcess
    secrets: dict[str, str]
    stores: dict[str, Peek]
    member: str = ""

    def sessions_of(self, kind: str, member: str | None = None) -> list[dict[str, Any]]:
        from sqlalchemy import select

        async def look(store: Any) -> list[dict[str, Any]]:
            async with store.read() as db:
                query = select(WebSession)
                if member is not None:
                    query = query.where(WebSession.member == member)
                return [dict(row.data) for row in await db.scalars(query)]

        return list(self.stores[kind](look))

    def age_sessions(self, kind: str) -> None:
        """Make every session on a peer look as if its roles were last read long ago."""
        from sqlalchemy import select

        async def age(store: Any) -> None:
            async with store.write() as db:
                for row in await db.scalars(select(WebSession)):
                    row.data = {**row.data, "refreshed_at": 0.0}

        self.stores[kind](age)

    def set_roles(self, roles: set[str]) -> None:
        async def grant(store: Any) -> None:
            async with store.write() as db:
                await members.set_roles(db, self.member, roles, "test", 1.0)

        self.stores["account"](grant)


def start_world(processes: Callable[..., PeerProcess], databases: Databases, peek: Callable[[str], Peek]) -> World:
    ports = {kind: free_port() for kind in ("account", "blog", "events")}
    urls = {kind: f"http://127.0.0.1:{port}" for kind, port in ports.items()}
    keys = {kind: secrets.token_hex(24) for kind in ("blog", "events")}
    clients = ",".join(f"{kind}={secret}" for kind, secret in keys.items())
    made: dict[str, PeerProcess] = {}
    urls_db: dict[str, str] = {}
    for kind in ("account", "blog", "events"):
        urls_db[kind] = databases.new(kind)
        env = {"ROSE_ASH_OIDC_CLIENTS": clients} if kind == "account" else {"ROSE_ASH_OIDC_SECRET": keys[kind]}
        made[kind] = processes(
            kind,
            database_url=urls_db[kind],
            port=ports[kind],
            peers={other: url for other, url in urls.items() if other != kind},
            env=env,
            start=False,
        ).launch()
    for process in made.values():
        process.wait_ready()
    world = World(made["account"], made["blog"], made["events"], keys, {k: peek(v) for k, v in urls_db.items()})

    async def create(store: Any) -> str:
        async with store.write() as db:
            member = await members.new_member(db, EMAIL, "Ada", members.hash_password(PASSWORD), 1.0)
            member.email_verified_at = 1.0
            await members.set_roles(db, member.id, {"editor"}, "test", 1.0)
            return member.id

    world.member = world.stores["account"](create)
    return world


@dataclass
class Browser:
    """One browser: its cookie jar is shared by every peer (one host, per-peer cookie names)."""

    client: httpx.Client = field(default_factory=lambda: httpx.Client(trust_env=False, timeout=20.0))
    hops: list[str] = field(default_factory=list)

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.get(url, headers=headers if headers is not None else NAVIGATE)

    def follow(self, response: httpx.Response) -> httpx.Response:
        """Follow redirects by hand, recording each hop's URL."""
        self.hops = []
        while response.is_redirect:
            url = urljoin(str(response.url), response.headers["location"])
            self.hops.append(url)
            response = self.get(url)
        return response

    def csrf(self, page: httpx.Response) -> str:
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {page.url}"
        return found.group(1)

    def post(self, url: str, data: dict[str, str], page: httpx.Response) -> httpx.Response:
        return self.client.post(url, data={"csrf": self.csrf(page), **data})

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.client.cookies.jar if c.name == name), "")

    def close(self) -> None:
        self.client.close()


def sign_in_on(world: World, browser: Browser, peer: PeerProcess, back: str = "/") -> httpx.Response:
    """The whole redirect flow from a peer's sign-in button, with the password typed at the account service."""
    login = browser.get(f"{peer.url}/login?next={back}")
    sent = browser.post(f"{peer.url}/auth/signin", {"next": back}, login)
    form = browser.follow(sent)
    assert urlsplit(str(form.url)).path == "/signin", f"the account's sign-in form is shown, not {form.url}"
    next_path = parse_qs(urlsplit(str(form.url)).query)["next"][0]
    answer = browser.post(
        f"{world.account.url}/signin", {"email": EMAIL, "password": PASSWORD, "next": next_path}, form
    )
    return browser.follow(answer)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
