"""Strangers POST activities whose signatures name keys on a server that answers one byte every few seconds,
to the shop and to the events peer at once, for as long as a ticket is being bought. Their fetches are held
by the slow server until the total deadline, but they may take only a few of the peer's fetch slots: the
events peer's Offer, the shop's signed GET of the event and its Accept go through, and the ticket is
confirmed as fast as with nobody attacking."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.faults.conftest import Market
from tests.hostile.helpers import Visitor, schedule_event, wait_until
from tests.support.actors import RemoteActor, key_pair
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess
from tests.support.trickle import TrickleServer

# Requests kept in flight at each peer, each naming a new key: more than the shop's fetch pool holds (200
# connections), so only the per-host and strangers' limits (net/limits.py) keep the peers' traffic going.
STRANGERS = {"shop": 230, "events": 40}
# Seconds a purchase may take under attack: twice the quiet one (a busy machine slows both), within these
# bounds. Measured: 0.2-0.96 under this attack, 4-4.6 with the host limits off (1.0-1.3 for the first purchase, caches cold).
CONFIRMED_WITHIN = (2.5, 3.5)
FETCH_DEADLINE = 15.0  # net/transport.py DEADLINE_SECONDS: how long each of the strangers' fetches is held


class Attack:
    """Threads that keep `per_peer` signed POSTs in flight to each target, each naming a new key id on the
    trickling server, until stopped; they count the answers they got."""

    def __init__(self, trickle: TrickleServer, targets: dict[PeerProcess, int]) -> None:
        self.trickle, self.targets = trickle, targets
        self.signer = RemoteActor(FakeServer(), "mallory", key_pair(90))
        self.stop = threading.Event()
        self.answers: list[int] = []
        self._lock = threading.Lock()
        self._serial = iter(range(10**9))
        self._threads = [
            threading.Thread(target=self._run, args=(target,), daemon=True)
            for target, count in targets.items()
            for _ in range(count)
        ]

    def __enter__(self) -> Attack:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=FETCH_DEADLINE + 15)
        self.signer.server.close()

    def _run(self, target: PeerProcess) -> None:
        with httpx.Client(trust_env=False, timeout=FETCH_DEADLINE + 20) as http:
            while not self.stop.is_set():
                with self._lock:
                    n = next(self._serial)
                actor = f"{self.trickle.base_url}/actors/{n}"
                doc = {
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": f"{self.trickle.base_url}/activities/{n}",
                    "type": "Like",
                    "actor": actor,
                    "object": target.actor_id,
                }
                body = json.dumps(doc).encode()
                headers = self.signer.cavage_headers("POST", target.inbox, body, key_id=f"{actor}#main-key")
                try:
                    status = http.post(target.inbox, content=body, headers=headers).status_code
                except httpx.HTTPError:
                    status = 0
                with self._lock:
                    self.answers.append(status)


@pytest.fixture
def trickle() -> Iterator[TrickleServer]:
    server = TrickleServer(interval=3.0)
    try:
        yield server
    finally:
        server.close()


def confirm_one(m: Market, event: str, n: int) -> float:
    """Buy one ticket; seconds until the events peer has it confirmed."""
    visitor = Visitor(m.events, "/calendars")
    try:
        started = time.monotonic()
        visitor.buy(event, name=f"Buyer {n}", email=f"buyer{n}@example.org")
        wait_until(lambda: m.states()["confirmed"] == n + 1, timeout=60, what=f"purchase {n} to be confirmed")
        return time.monotonic() - started
    finally:
        visitor.close()


@pytest.mark.slow
def test_a_slow_key_server_does_not_keep_a_ticket_pending(
    market: Callable[..., Market], trickle: TrickleServer
) -> None:
    m = market()
    event = schedule_event(m.http, m.events, capacity=10)
    quiet = confirm_one(m, event, 0)

    with Attack(trickle, {m.shop: STRANGERS["shop"], m.events: STRANGERS["events"]}) as attack:
        wait_until(lambda: trickle.connections >= 8, timeout=15, what="the strangers' key fetches to begin")
        held = trickle.connections
        times = [confirm_one(m, event, n) for n in (1, 2)]
        assert trickle.connections >= held, "the attack stopped before the tickets were bought"
        assert not attack.answers or set(attack.answers) <= {401, 0}, set(attack.answers)

    low, high = CONFIRMED_WITHIN
    allowed = min(high, max(low, 2 * quiet))
    assert max(times) < allowed, f"confirmed after {times} s under attack ({quiet:.2f} s without)"
    print(f"confirmed in {quiet:.2f} s quietly, {times} under attack; {held} slow key fetches begun by then")
    assert m.states()["pending"] == 0
    assert m.sold(event) == m.shop_tickets_for(event) == 3
