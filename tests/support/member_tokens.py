"""Members and their personal access tokens across real account, blog and events processes, each on its own
store, the peers introspecting tokens at the account service as its clients."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import select

from actors.account import members
from store.models import AuditEntry
from tests.hostile.helpers import wait_peers_known
from tests.support.app import row_counts
from tests.support.databases import Databases, Peek
from tests.support.processes import PeerProcess, free_port

AS2 = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
PASSWORD = "correct horse battery"
SECRETS = {"blog": "blog-client-secret-" + "b" * 24, "events": "events-client-secret-" + "e" * 24}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SHOWN_TOKEN = re.compile(r'<code class="token">([^<]+)</code>')
EVENT = {
    "type": "Event",
    "name": "Members' gig",
    "startTime": "2027-07-01T19:00",
    "endTime": "2027-07-01T23:00",
    "timezone": "Europe/London",
    "location": {"type": "Place", "name": "Hall"},
    "maximumAttendeeCapacity": 50,
}


class Site:
    """The three peers and a look into each one's store."""

    def __init__(self, procs: dict[str, PeerProcess], peeks: dict[str, Peek]) -> None:
        self.procs, self.peeks = procs, peeks

    def url(self, kind: str) -> str:
        return self.procs[kind].url

    def counts(self) -> dict[str, dict[str, int]]:
        return {kind: peek(row_counts) for kind, peek in self.peeks.items()}

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        before = self.counts()
        yield
        assert self.counts() == before

    def add_member(self, email: str, roles: set[str]) -> str:
        async def work(store: Any) -> str:
            async with store.write() as db:
                member = await members.new_member(db, email, email, members.hash_password(PASSWORD), time.time())
                await members.set_roles(db, member.id, roles, "test", time.time())
                return member.id

        return str(self.peeks["account"](work))

    def set_roles(self, member_id: str, roles: set[str]) -> None:
        async def work(store: Any) -> None:
            async with store.write() as db:
                await members.set_roles(db, member_id, roles, "test", time.time())

        self.peeks["account"](work)

    def audit(self, kind: str) -> list[tuple[str, str, str]]:
        async def work(store: Any) -> list[tuple[str, str, str]]:
            async with store.read() as db:
                return [(e.who, e.action, e.subject) for e in await db.scalars(select(AuditEntry))]

        return list(self.peeks[kind](work))


def start_site(processes: Callable[..., PeerProcess], databases: Databases, peek: Callable[[str], Peek]) -> Site:
    ports = {kind: free_port() for kind in ("account", "blog", "events")}
    urls = {kind: f"http://127.0.0.1:{port}" for kind, port in ports.items()}
    clients = ",".join(f"{kind}={secret}" for kind, secret in SECRETS.items())
    envs = {
        "account": {"ROSE_ASH_OIDC_CLIENTS": clients},
        "blog": {"ROSE_ASH_OIDC_SECRET": SECRETS["blog"], "ROSE_ASH_INTROSPECTION_CACHE": "1"},
        "events": {"ROSE_ASH_OIDC_SECRET": SECRETS["events"], "ROSE_ASH_INTROSPECTION_CACHE": "1"},
    }
    procs: dict[str, PeerProcess] = {}
    stores: dict[str, str] = {}
    for kind, port in ports.items():
        stores[kind] = databases.new(kind)
        others = {name: url for name, url in urls.items() if name != kind}
        procs[kind] = processes(
            kind, database_url=stores[kind], start=False, port=port, peers=others, env=envs[kind]
        ).launch()
    for proc in procs.values():
        proc.wait_ready()
    for proc in procs.values():
        wait_peers_known(proc)
    return Site(procs, {kind: peek(url) for kind, url in stores.items()})


class Member:
    """A member at the account service's pages, as a browser would be."""

    def __init__(self, account: str, email: str) -> None:
        self.http = httpx.Client(base_url=account, trust_env=False, timeout=10.0)
        page = self.http.get("/signin")
        form = {"csrf": csrf_of(page), "email": email, "password": PASSWORD, "next": "/account/tokens"}
        signed = self.http.post("/signin", data=form)
        assert signed.status_code == 303, signed.text

    def ask_token(self, peer: str, scopes: list[str], name: str = "my client", days: str = "30") -> httpx.Response:
        page = self.http.get("/account/tokens")
        assert page.status_code == 200, page.text
        form = {"csrf": csrf_of(page), "name": name, "peer": peer, "scope": scopes, "days": days}
        return self.http.post("/account/tokens", data=form)

    def token(self, peer: str, scopes: list[str], name: str = "my client") -> str:
        made = self.ask_token(peer, scopes, name)
        assert made.status_code == 201, made.text
        shown = SHOWN_TOKEN.search(made.text)
        assert shown, made.text
        return shown.group(1)

    def revoke(self, name: str) -> None:
        page = self.http.get("/account/tokens")
        row = next(r for r in page.text.split("<tr>") if f"<td>{name}</td>" in r)
        digest = re.search(r'name="token" value="([0-9a-f]{64})"', row)
        assert digest, row
        done = self.http.post("/account/tokens/revoke", data={"csrf": csrf_of(page), "token": digest.group(1)})
        assert done.status_code == 303, done.text
        assert f"<td>{name}</td>" not in self.http.get("/account/tokens").text


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


def refused(response: httpx.Response, status: int, says: str) -> None:
    assert response.status_code == status, response.text
    assert says in response.json()["error"], response.json()
