"""SSRF: outside dev mode a peer fetches no key, actor or object from loopback, private or link-local addresses
or non-http(s) URLs, not even by redirect. The peer here runs without --allow-private; `localhost` is its one
allowed host (ROSE_ASH_ALLOWED_HOSTS), standing in for a public server, so the same test server can also be
reached as 127.0.0.1, which must stay forbidden."""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.hostile.conftest import BACKENDS, KEYS
from tests.hostile.helpers import StoreView, Unchanged, Visitor, assert_refused, client
from tests.support.actors import RemoteActor, key_pair
from tests.support.databases import Databases, postgres_or_skip
from tests.support.httpserver import FakeServer, Reply
from tests.support.processes import PeerProcess, free_port


class GuardedPeer(PeerProcess):
    """A peer in production mode: the SSRF guard on."""

    def argv(self) -> list[str]:
        return [arg for arg in super().argv() if arg != "--allow-private"]


def on_localhost(actor: RemoteActor) -> RemoteActor:
    """The same actor, addressed as http://localhost:<port>/…"""
    port = actor.server.port
    actor.id = f"http://localhost:{port}/users/{actor.name}"
    actor.key_id = f"{actor.id}#main-key"
    actor.inbox = f"{actor.id}/inbox"
    actor.shared_inbox = f"http://localhost:{port}/inbox"
    actor.new_id = lambda: f"http://localhost:{port}/activities/{secrets.token_hex(8)}"  # type: ignore[method-assign]
    actor.publish()
    return actor


@dataclass
class Guarded:
    peer: PeerProcess
    server: FakeServer
    alice: RemoteActor
    view: StoreView
    http: httpx.Client
    log: Path

    def loopback_gets(self) -> list[str]:
        """GETs that reached the test server as 127.0.0.1 (which the peer must never fetch)."""
        return [r.path for r in self.server.gets() if r.headers.get("host", "").startswith("127.0.0.1")]


@pytest.fixture(scope="module", params=BACKENDS)
def guarded_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    backend = str(request.param)
    server_url = postgres_or_skip() if backend == "postgres" else ""
    tmp = tmp_path_factory.mktemp(f"ssrf-{backend}")
    dbs = Databases(backend, tmp, server_url)
    server = FakeServer()
    alice = on_localhost(RemoteActor(server, "alice", key_pair(next(KEYS))))
    peer = GuardedPeer(
        "events",
        database_url=dbs.new("events"),
        log_path=tmp / "events.log",
        env={"ROSE_ASH_ALLOWED_HOSTS": "localhost"},
    )
    http = client()
    view = StoreView(peer.database_url)
    try:
        peer.start()
        # alice, on the allowed host, is fetched normally: her key is cached before the tests.
        warm = alice.post(http, peer.inbox, alice.activity("View", peer.actor_id))
        assert warm.status_code == 202, warm.text
        yield Guarded(peer, server, alice, view, http, peer.log_path)
    finally:
        http.close()
        view.close()
        peer.stop()
        server.close()
        dbs.cleanup()


@pytest.fixture
def guarded(guarded_world: Guarded, peer_logs: list[Path]) -> Guarded:
    peer_logs.append(guarded_world.log)
    return guarded_world


def signed_with_key_id(g: Guarded, key_id: str) -> httpx.Response:
    body = json.dumps(g.alice.activity("Like", g.peer.actor_id)).encode()
    headers = g.alice.cavage_headers("POST", g.peer.inbox, body, key_id=key_id)
    return g.http.post(g.peer.inbox, content=body, headers=headers)


def forbidden_targets(server: FakeServer) -> list[tuple[str, str]]:
    port = server.port
    return [
        (f"http://127.0.0.1:{port}/users/alice#main-key", "non-public address 127.0.0.1"),
        (f"http://127.1:{port}/users/alice#main-key", "non-public address 127.0.0.1"),
        (f"http://2130706433:{port}/users/alice#main-key", "non-public address 127.0.0.1"),  # 127.0.0.1 as a number
        (f"http://[::1]:{port}/users/alice#main-key", "non-public address ::1"),
        (f"http://0.0.0.0:{port}/users/alice#main-key", "non-public address 0.0.0.0"),
        ("http://10.0.0.1/actor#main-key", "non-public address 10.0.0.1"),
        ("http://10.255.255.254:8080/actor#main-key", "non-public address 10.255.255.254"),
        ("http://192.168.1.1/actor#main-key", "non-public address 192.168.1.1"),
        ("http://172.16.0.1/actor#main-key", "non-public address 172.16.0.1"),
        ("http://169.254.169.254/latest/meta-data/#key", "non-public address 169.254.169.254"),
        ("http://[fd00::1]/actor#main-key", "non-public address fd00::1"),
        ("http://[::ffff:169.254.169.254]/actor#main-key", "non-public address"),
        ("file:///etc/passwd#main-key", "scheme file is not allowed"),
        ("ftp://localhost/actor#main-key", "scheme ftp is not allowed"),
        ("gopher://localhost:70/_x#main-key", "scheme gopher is not allowed"),
    ]


def refused_for_a_logged_reason(
    guarded: Guarded, send: Callable[[], httpx.Response], status: int, answer: str, *reasons: str
) -> None:
    """The sender is told only `answer` (what could not be fetched); why, which would map our network for it,
    is in the peer's log."""
    logged_before = guarded.log.stat().st_size
    with Unchanged(guarded.view):
        response = send()
    assert_refused(response, status, answer)
    assert response.json()["error"] == answer, response.json()
    with guarded.log.open(errors="replace") as log:
        log.seek(logged_before)
        logged = log.read()
    assert any(reason in logged for reason in reasons), (answer, logged[-500:])


def key_refused(guarded: Guarded, key_id: str, *reasons: str) -> None:
    send = functools.partial(signed_with_key_id, guarded, key_id)
    refused_for_a_logged_reason(guarded, send, 401, f"cannot fetch key {key_id}", *reasons)


def test_key_urls_at_forbidden_addresses(guarded: Guarded) -> None:
    for key_id, reason in forbidden_targets(guarded.server):
        key_refused(guarded, key_id, reason)
    assert guarded.loopback_gets() == []


def test_failed_key_fetches_all_read_alike_to_the_sender(guarded: Guarded) -> None:
    """A closed port, a 404, a 500 and a blocked address give the same answer: no port scanning through us."""
    guarded.server.serve("/users/missing", Reply(404, {}, b"{}"))
    guarded.server.serve("/users/broken", Reply(500, {}, b"oops"))
    closed = free_port()
    targets = {
        f"http://localhost:{closed}/users/alice#main-key": "ConnectError",
        f"http://localhost:{guarded.server.port}/users/missing#main-key": "HTTP 404",
        f"http://localhost:{guarded.server.port}/users/broken#main-key": "HTTP 500",
        "http://10.0.0.1/actor#main-key": "non-public address",
    }
    for key_id, reason in targets.items():
        key_refused(guarded, key_id, reason)


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/users/alice",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/actor",
        "file:///etc/passwd",
    ],
)
def test_redirect_to_a_forbidden_address(guarded: Guarded, target: str) -> None:
    """The allowed host answers the key fetch with a redirect into the forbidden range: not followed."""
    url = target.format(port=guarded.server.port)
    guarded.server.serve("/users/redirected", Reply(302, {"location": url}))
    key_id = f"http://localhost:{guarded.server.port}/users/redirected#main-key"
    key_refused(guarded, key_id, "non-public address", "is not allowed")
    assert guarded.server.gets("/users/redirected"), "the allowed first hop was fetched"
    assert guarded.loopback_gets() == []


def test_key_document_whose_owner_is_a_forbidden_address(guarded: Guarded) -> None:
    """A standalone key on the allowed host naming an owner at 127.0.0.1 / the metadata service."""
    for owner in (f"http://127.0.0.1:{guarded.server.port}/users/alice", "http://169.254.169.254/latest/meta-data/"):
        key_id = f"http://localhost:{guarded.server.port}/keys/standalone"
        guarded.server.serve_json(
            "/keys/standalone", {"id": key_id, "owner": owner, "publicKeyPem": guarded.alice.key.public_pem}
        )
        key_refused(guarded, key_id, "non-public address")
    assert guarded.loopback_gets() == []


def test_object_urls_that_redirect_to_forbidden_addresses(guarded: Guarded) -> None:
    """An Add whose post (on the sender's allowed host) redirects to loopback: the post is not fetched."""
    alice = guarded.alice
    guarded.server.serve("/posts/bounce", Reply(302, {"location": f"http://127.0.0.1:{guarded.server.port}/posts/x"}))
    add = alice.activity(
        "Add", f"{alice.id.rsplit('/users', 1)[0]}/posts/bounce", target=f"{guarded.peer.url}/calendars/main"
    )
    send = functools.partial(alice.post, guarded.http, guarded.peer.inbox, add)
    refused_for_a_logged_reason(guarded, send, 422, "cannot fetch the post", "non-public address 127.0.0.1")
    assert guarded.loopback_gets() == []


def test_admin_cannot_be_made_to_follow_a_forbidden_address(guarded: Guarded) -> None:
    admin = Visitor(guarded.peer, "/login").login()
    for target in (f"http://127.0.0.1:{guarded.server.port}/users/alice", "http://169.254.169.254/latest/meta-data/"):
        with Unchanged(guarded.view):
            response = admin.post("/admin/follow", actor=target)
        assert response.status_code == 303
        assert "non-public%20address" in response.headers["location"], response.headers["location"]
    assert guarded.loopback_gets() == []


def test_the_allowed_host_still_works(guarded: Guarded) -> None:
    """The guard refuses addresses, not everything: alice on the allowed host is heard."""
    response = guarded.alice.post(guarded.http, guarded.peer.inbox, guarded.alice.activity("View", guarded.peer.url))
    assert response.status_code == 202, response.text
