"""Helpers shared by the hostile, fault and load suites: reading a peer's store from the test, refusals,
admin operations, a browser-like buyer, and test actors that stand in for a peer."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select

from activities.vocab import AS_CONTEXT
from store.db import Store, open_store
from store.models import Base, Delivery, FanOut
from store.models import RemoteActor as StoredRemoteActor
from tests.support.actors import KeyPair, RemoteActor
from tests.support.events import event_activity
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess

T = TypeVar("T")
AS2 = "application/activity+json"
# Caches whose refresh time may move when a key is re-fetched; their content must not change.
REFRESH_STAMPS = frozenset({"fetched_at"})
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def client(timeout: float = 30.0) -> httpx.Client:
    """A client that keeps no cookies: each request carries only the cookies it is given (as a header)."""
    http = httpx.Client(trust_env=False, timeout=timeout)
    http.event_hooks["response"] = [lambda _response: http.cookies.clear()]
    return http


def start_all(*peers: PeerProcess, timeout: float = 60.0) -> None:
    """Start peers side by side (each start waits for /healthz)."""
    errors: list[BaseException] = []

    def start(peer: PeerProcess) -> None:
        try:
            peer.start(timeout)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(p,)) for p in peers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    for peer in peers:
        wait_peers_known(peer, timeout)


def wait_peers_known(peer: PeerProcess, timeout: float = 30.0) -> None:
    """Wait until the peer's store holds the actors of its configured peers that answer: a peer fetches them in
    the background once it has started (peer/peer_actors.py), and a test that compares stores must not see one
    land in the middle."""
    with httpx.Client(trust_env=False, timeout=5.0) as http:
        answering = set()
        for base in peer.peers.values():
            actor_id = f"{base.rstrip('/')}/actor"
            try:
                if http.get(actor_id, headers={"accept": AS2}).status_code == 200:
                    answering.add(actor_id)
            except httpx.HTTPError:
                pass  # not running: the peer learns it when it starts, as the test that starts it expects
    if not answering:
        return
    view = StoreView(peer.database_url)

    def known() -> bool:
        async def work(session: Any) -> bool:
            rows = await session.scalars(select(StoredRemoteActor.id).where(StoredRemoteActor.id.in_(answering)))
            return set(rows) == answering

        return view.run(work)

    try:
        wait_until(known, timeout, what=f"the {peer.kind} peer to store its peers' actors")
    finally:
        view.close()


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, what: str = "a condition", every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


# ---------------------------------------------------------------- the store, read from the test


def _normal(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


class _Loop:
    """One event loop on a daemon thread for every StoreView, so a store opened once serves many reads."""

    _loop: asyncio.AbstractEventLoop | None = None
    _lock = threading.Lock()

    @classmethod
    def run(cls, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="store-views", daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coro, cls._loop).result(timeout)


class StoreView:
    """A peer's database as the test sees it: whole-table snapshots and queries. `close()` when done."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._store: Store | None = None

    def run(self, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
        """`work(session)` in a read transaction."""

        async def go() -> T:
            if self._store is None:
                self._store = open_store(self.url, pool_size=1)
            async with self._store.read() as session:
                return await work(session)

        return _Loop.run(go())

    def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            _Loop.run(store.close())

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, columns in order, except the refresh stamps of caches."""

        async def work(session: Any) -> dict[str, list[tuple[Any, ...]]]:
            out: dict[str, list[tuple[Any, ...]]] = {}
            for table in Base.metadata.sorted_tables:
                columns = [c for c in table.columns if c.name not in REFRESH_STAMPS]
                rows = (await session.execute(select(*columns))).all()
                out[table.name] = sorted((tuple(_normal(v) for v in row) for row in rows), key=repr)
            return out

        return self.run(work)

    def busy(self) -> int:
        """Fan-outs and deliveries still to do: the peer's own worker will change the store until they are done."""

        async def work(session: Any) -> int:
            fanouts = await session.scalar(select(func.count()).select_from(FanOut).where(FanOut.state == "pending"))
            sends = await session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "pending"))
            return int(fanouts or 0) + int(sends or 0)

        return self.run(work)

    def settle(self, timeout: float = 30.0) -> None:
        wait_until(lambda: not self.busy(), timeout, what=f"the outbox of {self.url} to drain", every=0.1)

    def rows(self, model: Any, *where: Any) -> list[Any]:
        async def work(session: Any) -> list[Any]:
            return list(await session.scalars(select(model).where(*where)))

        return self.run(work)

    def scalar(self, query: Any) -> Any:
        async def work(session: Any) -> Any:
            return await session.scalar(query)

        return self.run(work)


def diff(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    """Per table: the rows that appeared and disappeared."""
    out: dict[str, Any] = {}
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, []), after.get(table, [])
        if old != new:
            out[table] = {
                "added": [r for r in new if r not in old][:5],
                "removed": [r for r in old if r not in new][:5],
            }
    return out


class Unchanged:
    """`with Unchanged(view): ...` — the store is exactly as it was when the block ends. By default it first
    waits for the peer's outbox to drain, so its own worker is not mistaken for an effect of the block."""

    def __init__(self, *views: StoreView, settle: bool = True) -> None:
        self.views = views
        self.settle = settle

    def __enter__(self) -> Unchanged:
        if self.settle:
            for view in self.views:
                view.settle()
        self.before = [v.snapshot() for v in self.views]
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is not None:
            return
        for view, before in zip(self.views, self.before, strict=True):
            changes = diff(before, view.snapshot())
            assert not changes, f"the store changed: {changes}"


def assert_refused(response: httpx.Response, status: int, reason: str) -> None:
    """The refusal's own status and a JSON `{"error": reason}` naming it."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:500]}"
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), body
    assert reason.lower() in body["error"].lower(), f"reason {body['error']!r} does not say {reason!r}"


# ---------------------------------------------------------------- talking to peers


def c2s(http: httpx.Client, peer: PeerProcess, activity: dict[str, Any]) -> httpx.Response:
    return http.post(f"{peer.url}/actor/outbox", json=activity, headers={"Authorization": f"Bearer {peer.admin_token}"})


def schedule_event(http: httpx.Client, events: PeerProcess, **kw: Any) -> str:
    """Schedule an event through the events peer's C2S outbox; its id (the Location is the Create's)."""
    response = c2s(http, events, event_activity(**kw))
    assert response.status_code == 201, response.text
    return str(response.json()["object"])


def slug_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF token in the page"
    return match.group(1)


class Visitor:
    """A browser on one peer: its own cookie jar, and the CSRF token of the page it loaded."""

    def __init__(self, peer: PeerProcess, page: str = "/calendars") -> None:
        self.peer = peer
        self.http = httpx.Client(trust_env=False, timeout=30.0)
        response = self.http.get(peer.url + page)
        assert response.status_code == 200, response.text[:300]
        self.csrf = csrf_of(response.text)

    @property
    def cookie(self) -> str:
        """The session cookie as a `Cookie` header value."""
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(self.peer.url + path, **kw)

    def post(self, path: str, **fields: str) -> httpx.Response:
        return self.http.post(self.peer.url + path, data={"csrf": self.csrf, **fields})

    def buy(self, event: str, name: str = "Ada", email: str = "ada@example.org", quantity: int = 1) -> str:
        """Buy tickets; the purchase token from the redirect."""
        response = self.post(f"/events/{slug_of(event)}/buy", name=name, email=email, quantity=str(quantity))
        assert response.status_code == 303, response.text[:500]
        return slug_of(response.headers["location"])

    def login(self) -> Visitor:
        response = self.post("/login", token=self.peer.admin_token, next="/")
        assert response.status_code == 303, response.text[:300]
        self.csrf = csrf_of(self.get("/login").text)  # signing in starts a new session, with new tokens
        return self

    def close(self) -> None:
        self.http.close()


def purchase_state(http: httpx.Client, events: PeerProcess, token: str) -> dict[str, Any]:
    response = http.get(f"{events.url}/tickets/{token}/status")
    assert response.status_code == 200, response.text
    return dict(response.json()["fields"])


def total_items(http: httpx.Client, url: str) -> int:
    response = http.get(url, headers={"accept": AS2})
    assert response.status_code == 200, response.text
    return int(response.json()["totalItems"])


# ---------------------------------------------------------------- actors the tests control


def stand_in(server: FakeServer, key: KeyPair, *, path: str = "/actor") -> RemoteActor:
    """A signing actor at `path` (a peer's actor is `<base>/actor`): it can play a peer the tests script."""
    actor = RemoteActor(server, "stand-in", key, shared_inbox=True)
    actor.id = server.url(path)
    actor.key_id = f"{actor.id}#main-key"
    actor.inbox = f"{actor.id}/inbox"
    actor.shared_inbox = server.url("/inbox")
    actor.publish()
    return actor


def serve_event(
    actor: RemoteActor,
    slug: str,
    *,
    organizer: str | None = None,
    capacity: int = 10,
    price: str = "12.00",
    name: str = "Remote gig",
) -> str:
    """An `Event` document on the actor's server, attributed to `organizer` (the actor by default)."""
    event = actor.server.url(f"/events/{slug}")
    actor.server.serve_json(
        f"/events/{slug}",
        {
            "@context": AS_CONTEXT,
            "id": event,
            "type": "Event",
            "name": name,
            "attributedTo": organizer or actor.id,
            "startTime": "2027-07-01T19:00:00+01:00",
            "endTime": "2027-07-01T23:00:00+01:00",
            "maximumAttendeeCapacity": capacity,
            "price": price,
            "priceCurrency": "GBP",
        },
    )
    return event


def serve_post(actor: RemoteActor, slug: str, *, author: str | None = None, **fields: Any) -> str:
    post = actor.server.url(f"/posts/{slug}")
    actor.server.serve_json(
        f"/posts/{slug}",
        {
            "@context": AS_CONTEXT,
            "id": post,
            "type": "Article",
            "name": fields.pop("name", "A post"),
            "attributedTo": author or actor.id,
            "content": "<p>hello</p>",
            **fields,
        },
    )
    return post


def offer(actor: RemoteActor, shop: PeerProcess, event: str, **order: Any) -> dict[str, Any]:
    obj = {
        "type": "Order",
        "orderedItem": event,
        "quantity": 1,
        "customer": {"type": "Person", "name": "Ada", "email": "ada@example.org"},
        **order,
    }
    return actor.activity("Offer", obj, to=[shop.actor_id], target=shop.actor_id)
