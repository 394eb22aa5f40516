"""One hostile world per store, shared by the hostile suites (refusals leave it as it was):

- the real blog, events and shop peers, each on its own database of the backend;
- `alice` and `bob`, two signing actors on one test server (one host), `carol` on another host;
- `seller`: a stand-in events actor (`<host>/actor`) the shop trusts as a seller, serving its own events;
- `fake_shop`: a stand-in shop actor the events peer is configured with, so the test plays the shop's answers.

Every remote actor's key is fetched once at set-up (an ignored activity to every peer), so a refusal that
follows has nothing left to cache: the store must stay exactly as it was."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hostile.helpers import StoreView, client, stand_in, start_all
from tests.support.actors import RemoteActor, key_pair
from tests.support.databases import Databases, postgres_or_skip
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess, free_port

KEYS = itertools.count(40)  # key_pair indices of this package (other suites use the low ones)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class World:
    backend: str
    blog: PeerProcess
    events: PeerProcess
    shop: PeerProcess
    remote: FakeServer
    other: FakeServer
    alice: RemoteActor
    bob: RemoteActor
    carol: RemoteActor
    seller: RemoteActor
    fake_shop: RemoteActor
    http: httpx.Client
    logs: list[Path] = field(default_factory=list)
    views: dict[str, StoreView] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)  # things tests of the package set up once

    @property
    def peers(self) -> dict[str, PeerProcess]:
        return {"blog": self.blog, "events": self.events, "shop": self.shop}

    def view(self, peer: PeerProcess) -> StoreView:
        if peer.database_url not in self.views:
            self.views[peer.database_url] = StoreView(peer.database_url)
        return self.views[peer.database_url]


@pytest.fixture(scope="package", params=BACKENDS)
def hostile_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    backend = str(request.param)
    server_url = postgres_or_skip() if backend == "postgres" else ""
    tmp = tmp_path_factory.mktemp(f"hostile-{backend}")
    dbs = Databases(backend, tmp, server_url)
    servers = [FakeServer() for _ in range(4)]
    remote, other, seller_host, shop_host = servers
    alice = RemoteActor(remote, "alice", key_pair(next(KEYS)))
    bob = RemoteActor(remote, "bob", key_pair(next(KEYS)))
    carol = RemoteActor(other, "carol", key_pair(next(KEYS)))
    seller = stand_in(seller_host, key_pair(next(KEYS)))
    fake_shop = stand_in(shop_host, key_pair(next(KEYS)))
    blog_port, events_port = free_port(), free_port()
    blog_url, events_url = f"http://127.0.0.1:{blog_port}", f"http://127.0.0.1:{events_port}"
    blog = PeerProcess(
        "blog", database_url=dbs.new("blog"), log_path=tmp / "blog.log", port=blog_port, peers={"events": events_url}
    )
    events = PeerProcess(
        "events",
        database_url=dbs.new("events"),
        log_path=tmp / "events.log",
        port=events_port,
        peers={"blog": blog_url, "shop": shop_host.base_url},
    )
    shop = PeerProcess(
        "shop",
        database_url=dbs.new("shop"),
        log_path=tmp / "shop.log",
        peers={"events": events_url},
        extra_args=["--trust", seller_host.base_url],
    )
    logs = [blog.log_path, events.log_path, shop.log_path]
    http = client()
    world = World(backend, blog, events, shop, remote, other, alice, bob, carol, seller, fake_shop, http, logs)
    try:
        start_all(blog, events, shop)
        for actor in (alice, bob, carol, seller, fake_shop):
            for target in (blog, events, shop):
                response = actor.post(http, target.inbox, actor.activity("View", target.actor_id))
                assert response.status_code == 202, response.text
        yield world
    finally:
        http.close()
        for view in world.views.values():
            view.close()
        for process in (blog, events, shop):
            process.stop()
        for server in servers:
            server.close()
        dbs.cleanup()


@pytest.fixture
def world(hostile_world: World, peer_logs: list[Path]) -> World:
    """The package's world, with its peers' logs attached to this test's failure report."""
    peer_logs.extend(hostile_world.logs)
    return hostile_world
