"""The four peers as `rose-ash up` runs them: the account service, blog, events and shop, each a real process on
its own store of the test's backend, every one a peer of the others; and a member made in the account store."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from actors.account import members
from store.models import Member
from tests.conftest import before_drop
from tests.hostile.helpers import StoreView, Visitor, client, csrf_of, start_all
from tests.support.databases import Peek
from tests.support.processes import PeerProcess, free_port

KINDS = ("account", "blog", "events", "shop")
PASSWORD = "correct horse battery"


@dataclass
class Cooperative:
    peers: dict[str, PeerProcess]
    stores: dict[str, StoreView]
    account_store: Peek
    http: httpx.Client

    def __getattr__(self, kind: str) -> PeerProcess:
        if kind in KINDS:
            return self.peers[kind]
        raise AttributeError(kind)

    def new_member(self, email: str, name: str = "Ada", *, verified: bool = False) -> str:
        async def work(store: Any) -> str:
            async with store.write() as db:
                member = await members.new_member(db, email, name, members.hash_password(PASSWORD), time.time())
                member.email_verified_at = time.time() if verified else None
                return str(member.id)

        return str(self.account_store(work))

    def verify(self, member_id: str) -> None:
        async def work(store: Any) -> None:
            async with store.write() as db:
                found = await db.get(Member, member_id)
                assert found is not None
                found.email_verified_at = time.time()

        self.account_store(work)

    def grant(self, member_id: str, *roles: str) -> None:
        async def work(store: Any) -> None:
            async with store.write() as db:
                await members.set_roles(db, member_id, set(roles), "test", time.time())

        self.account_store(work)

    def sign_in(self, email: str, password: str = PASSWORD) -> tuple[Visitor, httpx.Response]:
        """A browser at the account service, after posting the sign-in form; the form's answer."""
        browser = Visitor(self.account, "/signin?next=/account")
        answer = browser.post("/signin", email=email, password=password, next="/account")
        if answer.status_code == 303:  # a new session: the forms' tokens are new too
            browser.csrf = csrf_of(browser.get("/account/delete").text)
        return browser, answer


def start_cooperative(
    peer_process: Callable[..., PeerProcess],
    peek: Callable[[str], Peek],
    request: pytest.FixtureRequest,
    env: dict[str, str] | None = None,
) -> Cooperative:
    ports = {kind: free_port() for kind in KINDS}
    urls = {kind: f"http://127.0.0.1:{port}" for kind, port in ports.items()}
    peers = {
        kind: peer_process(
            kind, port=ports[kind], peers={k: u for k, u in urls.items() if k != kind}, env=env, start=False
        )
        for kind in KINDS
    }
    start_all(*peers.values())
    stores = {kind: StoreView(peer.database_url) for kind, peer in peers.items()}
    for view in stores.values():
        before_drop(request, view.close)
    return Cooperative(peers, stores, peek(peers["account"].database_url), client())
