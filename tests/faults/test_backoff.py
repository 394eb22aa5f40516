"""Inboxes that fail, from a running peer's point of view: one answers 500, one 429 with Retry-After, one never
answers. Each is retried with backoff for its host, and the healthy hosts get every activity at once, as if
nothing were wrong elsewhere. When the failing hosts heal, everything is delivered."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest

from store.models import Delivery
from tests.hostile.helpers import StoreView, c2s, client, wait_until
from tests.support.actors import RemoteActor, key_pair
from tests.support.httpserver import FakeServer, Recorded
from tests.support.processes import PeerProcess

LEASE = 8.0  # a POST is abandoned after half the lease: a never-answering inbox costs 4 s a try
BASE = 0.5  # ROSE_ASH_RETRY_BASE of the test peers
RETRY_AFTER = 2
NOT_SLOWED = 1.5  # seconds from a post's creation to its arrival at a healthy inbox


def arrivals(server: FakeServer, activity: str) -> list[Recorded]:
    return sorted((r for r in server.posts("/inbox") if r.activity_id == activity), key=lambda r: r.received_at)


def assert_backoff(times: list[float], what: str) -> None:
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for n, gap in enumerate(gaps, start=1):
        assert gap >= BASE * 2 ** (n - 1) * 0.8, f"{what}: try {n + 1} came {gap:.2f}s after the one before ({gaps})"


@pytest.mark.slow
def test_failing_inboxes_back_off_and_do_not_slow_the_others(
    peer_process: Callable[..., PeerProcess], fake_server: Callable[[], FakeServer], request: pytest.FixtureRequest
) -> None:
    blog = peer_process("blog", env={"ROSE_ASH_LEASE_SECONDS": str(LEASE)})
    http = client()
    view = StoreView(blog.database_url)
    request.addfinalizer(http.close)
    from tests.conftest import before_drop

    before_drop(request, view.close)
    names = ["failing", "limited", "silent", "healthy", "also-healthy"]
    servers = {name: fake_server() for name in names}
    for i, (name, server) in enumerate(servers.items()):
        actor = RemoteActor(server, name, key_pair(60 + i))
        assert actor.post(http, blog.inbox, actor.activity("Follow", blog.actor_id)).status_code == 202
        server.wait_for(lambda s: any(r.json().get("type") == "Accept" for r in s.posts("/inbox")), what="Accept")

    servers["failing"].reply_with(500, body=b"oops")
    servers["limited"].reply_with(429, {"retry-after": str(RETRY_AFTER)})
    servers["silent"].hang()

    created: dict[str, float] = {}  # post → when the admin's C2S call returned
    for n in range(3):
        response = c2s(
            http, blog, {"type": "Create", "object": {"type": "Article", "name": f"Post {n}", "content": "x"}}
        )
        assert response.status_code == 201, response.text
        created[response.json()["object"]] = time.time()

    def create_of(server: FakeServer, post: str) -> Recorded | None:
        for record in server.posts("/inbox"):
            doc = record.json()
            if doc.get("type") == "Create" and isinstance(doc.get("object"), dict) and doc["object"]["id"] == post:
                return record
        return None

    # The healthy hosts: every Create, promptly.
    for name in ("healthy", "also-healthy"):
        server = servers[name]
        server.wait_for(lambda s: all(create_of(s, p) for p in created), timeout=10, what=f"all posts at {name}")
        for post, at in created.items():
            arrived = create_of(server, post)
            assert arrived is not None and arrived.received_at - at < NOT_SLOWED, f"{name} got {post} late"
    creates = [create_of(servers["healthy"], post).activity_id for post in created]  # type: ignore[union-attr]

    # Watch the failing ones for a while.
    servers["failing"].wait_for(
        lambda s: all(len(arrivals(s, a)) >= 4 for a in creates), timeout=15, what="four tries at the failing host"
    )
    servers["silent"].wait_for(
        lambda s: all(len(arrivals(s, a)) >= 2 for a in creates), timeout=20, what="a retry at the silent host"
    )
    for activity in creates:
        assert_backoff([r.received_at for r in arrivals(servers["failing"], activity)], "500")
        silent = arrivals(servers["silent"], activity)
        assert silent[1].received_at - silent[0].received_at >= LEASE / 2 * 0.9, "the silent host was not given up on"

    limited = sorted(servers["limited"].posts("/inbox"), key=lambda r: r.received_at)
    first_refusal = min(r.answered_at for r in limited if r.status == 429 and r.answered_at)
    too_soon = [
        r for r in limited if first_refusal < r.received_at < first_refusal + RETRY_AFTER * 0.9 and r.activity_id
    ]
    assert not too_soon, f"the 429 host was tried again before its Retry-After: {too_soon}"
    assert len(limited) >= len(creates)

    # They heal: everything is delivered, once per inbox as far as the peer is concerned.
    servers["failing"].reply_with(202)
    servers["limited"].reply_with(202)
    servers["silent"].reply_with(202)
    servers["silent"].release()

    def all_delivered() -> bool:
        rows = [r for r in view.rows(Delivery) if r.activity_id in creates]
        return len(rows) == len(creates) * len(servers) and all(r.state == "delivered" for r in rows)

    wait_until(all_delivered, timeout=30, what="every post delivered to every follower")
    for name, server in servers.items():
        for activity in creates:
            assert arrivals(server, activity), f"{activity} never reached {name}"
