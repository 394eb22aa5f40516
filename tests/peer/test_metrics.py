"""GET /metrics of a real events process on both stores: closed without a token (a sentence says why), open to
the metrics token and to the admin token; it counts a real follower, and the Accept to it as it waits in the
queue, fails, is retried and is delivered."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from peer.settings import Settings
from tests.support.actors import RemoteActor
from tests.support.admin import eventually
from tests.support.processes import ADMIN_TOKEN, PeerProcess

METRICS_TOKEN = "scraper-token-0123456789"


def scrape(client: httpx.Client, peer: PeerProcess, token: str = METRICS_TOKEN) -> dict[str, float]:
    answer = client.get(f"{peer.url}/metrics", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = {}
    for line in answer.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[re.sub(r'kind="[^"]*",?', "", name).replace("{}", "")] = float(value)
    return values


def test_metrics_are_closed_without_a_token_and_count_the_queue_and_the_followers(
    peer_process: Callable[..., PeerProcess], remote_actor: Callable[..., RemoteActor]
) -> None:
    events = peer_process("events", env={"ROSE_ASH_METRICS_TOKEN": METRICS_TOKEN})
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        closed = client.get(f"{events.url}/metrics")
        assert closed.status_code == 401 and closed.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert closed.json() == {"error": "the metrics need a bearer token"}
        wrong = client.get(f"{events.url}/metrics", headers={"authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 403 and wrong.json() == {"error": "that token does not open this peer's metrics"}
        basic = client.get(f"{events.url}/metrics", headers={"authorization": f"Basic {METRICS_TOKEN}"})
        assert basic.status_code == 403

        before = scrape(client, events)
        assert before["rose_ash_database_up"] == 1
        assert before['rose_ash_deliveries{state="pending"}'] == 0
        assert before["rose_ash_followers"] == 0 and before["rose_ash_delivery_lag_seconds"] == 0
        assert scrape(client, events, ADMIN_TOKEN) == before  # the admin's token opens them too

        alice = remote_actor("alice")
        alice.server.reply_with(503)  # the Accept to alice fails, and waits for its retry
        follow = alice.activity("Follow", events.actor_id, to=[events.actor_id])
        assert alice.post(client, events.inbox, follow).status_code == 202

        def retrying() -> dict[str, float] | None:
            now = scrape(client, events)
            return now if now["rose_ash_deliveries_retrying"] == 1 else None

        waiting = eventually(retrying, timeout=30, what="the Accept to be retrying")
        assert waiting["rose_ash_followers"] == 1 and waiting["rose_ash_inbox_activities"] == 1
        assert waiting['rose_ash_deliveries{state="pending"}'] == 1

        alice.server.reply_with(202)

        def delivered() -> dict[str, float] | None:
            now = scrape(client, events)
            return now if now['rose_ash_deliveries{state="delivered"}'] == 1 else None

        done = eventually(delivered, timeout=30, what="the Accept to be delivered")
        assert done['rose_ash_deliveries{state="pending"}'] == 0 and done["rose_ash_deliveries_retrying"] == 0
        assert done["rose_ash_delivery_lag_seconds"] == 0


def test_a_metrics_token_too_short_to_be_secret_is_refused_at_start() -> None:
    env = {"ROSE_ASH_KIND": "events", "ROSE_ASH_ADMIN_TOKEN": ADMIN_TOKEN, "ROSE_ASH_METRICS_TOKEN": "short"}
    with pytest.raises(ValueError, match="ROSE_ASH_METRICS_TOKEN must be at least 16 characters"):
        Settings.from_env(env)
