"""Forged and broken HTTP signatures, at every peer's inbox: each refused with its own status and reason, and
the store exactly as it was."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from activities.httpsig import digest_header
from tests.hostile.conftest import KEYS, World
from tests.hostile.helpers import AS2, Unchanged, assert_refused
from tests.support.actors import key_pair

KINDS = ["blog", "events", "shop"]


def like(world: World, kind: str, **changes: Any) -> dict[str, Any]:
    """A harmless activity from alice to that peer (a Like of its actor)."""
    activity = world.alice.activity("Like", world.peers[kind].actor_id)
    activity.update(changes)
    return activity


def send(world: World, kind: str, body: bytes, headers: dict[str, str], path: str = "/actor/inbox") -> httpx.Response:
    return world.http.post(world.peers[kind].url + path, content=body, headers=headers)


def refused(world: World, kind: str, body: bytes, headers: dict[str, str], status: int, reason: str) -> None:
    with Unchanged(world.view(world.peers[kind])):
        assert_refused(send(world, kind, body, headers), status, reason)


@pytest.mark.parametrize("kind", KINDS)
def test_unsigned_post(world: World, kind: str) -> None:
    body = json.dumps(like(world, kind)).encode()
    refused(world, kind, body, {"content-type": AS2}, 401, "not signed")


@pytest.mark.parametrize("kind", KINDS)
def test_signed_with_another_key_under_the_actors_key_id(world: World, kind: str) -> None:
    url = world.peers[kind].inbox
    body = json.dumps(like(world, kind)).encode()
    headers = world.alice.cavage_headers("POST", url, body, key=key_pair(next(KEYS)).private_key, algorithm="hs2019")
    refused(world, kind, body, headers, 401, "does not verify")


@pytest.mark.parametrize("kind", KINDS)
def test_body_changed_after_signing(world: World, kind: str) -> None:
    url = world.peers[kind].inbox
    body = json.dumps(like(world, kind)).encode()
    headers = world.alice.cavage_headers("POST", url, body)
    changed = body.replace(b'"Like"', b'"Undo"')
    refused(world, kind, changed, headers, 401, "digest does not match")
    # …and with the Digest recomputed for the new body, the signature no longer covers it
    headers["digest"] = digest_header(changed)
    refused(world, kind, changed, headers, 401, "does not verify")


@pytest.mark.parametrize("kind", KINDS)
def test_rfc9421_body_changed_after_signing(world: World, kind: str) -> None:
    url = world.peers[kind].inbox
    body = json.dumps(like(world, kind)).encode()
    headers = world.alice.rfc9421_headers("POST", url, body)
    refused(world, kind, body.replace(b'"Like"', b'"Undo"'), headers, 401, "content-digest does not match")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("offset", "reason"), [(-14 * 3600, "too old"), (2 * 3600, "in the future")], ids=["stale", "future"]
)
def test_date_outside_the_window(world: World, kind: str, offset: int, reason: str) -> None:
    url = world.peers[kind].inbox
    body = json.dumps(like(world, kind)).encode()
    refused(world, kind, body, world.alice.cavage_headers("POST", url, body, now=time.time() + offset), 401, reason)
    rfc = world.alice.rfc9421_headers("POST", url, body, created=time.time() + offset)
    refused(world, kind, body, rfc, 401, reason)


@pytest.mark.parametrize("kind", KINDS)
def test_signature_for_another_path(world: World, kind: str) -> None:
    """A signature made for the shared inbox does not open the personal one."""
    peer = world.peers[kind]
    body = json.dumps(like(world, kind)).encode()
    headers = world.alice.cavage_headers("POST", f"{peer.url}/inbox", body)
    refused(world, kind, body, headers, 401, "does not verify")


@pytest.mark.parametrize("kind", KINDS)
def test_signature_without_digest(world: World, kind: str) -> None:
    url = world.peers[kind].inbox
    body = json.dumps(like(world, kind)).encode()
    headers = world.alice.cavage_headers("POST", url, body, fields=("(request-target)", "host", "date"))
    refused(world, kind, body, headers, 401, "must cover digest")


@pytest.mark.parametrize("kind", KINDS)
def test_garbled_signature_header(world: World, kind: str) -> None:
    url = world.peers[kind].inbox
    body = json.dumps(like(world, kind)).encode()
    headers = world.alice.cavage_headers("POST", url, body)
    for garbled, reason in [
        ('keyId="x",signature=', "lacks signature"),
        ("this is not a signature", 'key="value"'),
        (headers["signature"].replace('algorithm="rsa-sha256"', 'algorithm="hmac-sha256"'), "unsupported"),
        (headers["signature"].replace('signature="', 'signature="%%%'), "malformed"),
    ]:
        refused(world, kind, body, {**headers, "signature": garbled}, 401, reason)


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_key(world: World, kind: str) -> None:
    url = world.peers[kind].inbox
    body = json.dumps(like(world, kind)).encode()
    headers = world.alice.cavage_headers("POST", url, body, key_id=world.remote.url("/users/nobody#main-key"))
    refused(world, kind, body, headers, 401, "cannot fetch key")


@pytest.mark.parametrize(
    "key_id", ["http://[::1#main-key", "http://127.0.0.1:99999/users/alice#main-key", "https://a.example:x/k", "k"]
)
def test_malformed_key_id(world: World, key_id: str) -> None:
    body = json.dumps(like(world, "events")).encode()
    headers = world.alice.cavage_headers("POST", world.events.inbox, body, key_id=key_id)
    refused(world, "events", body, headers, 401, "cannot fetch key")


@pytest.mark.parametrize("kind", KINDS)
def test_key_of_another_actor(world: World, kind: str) -> None:
    """alice signs, the activity claims to be bob's."""
    peer = world.peers[kind]
    activity = like(world, kind, actor=world.bob.id, id=world.remote.url("/activities/forged-bob"))
    body = json.dumps(activity).encode()
    refused(world, kind, body, world.alice.cavage_headers("POST", peer.inbox, body), 403, "owner is not the activity")


@pytest.mark.parametrize("kind", KINDS)
def test_activity_id_on_another_host(world: World, kind: str) -> None:
    peer = world.peers[kind]
    body = json.dumps(like(world, kind, id=world.other.url("/activities/elsewhere"))).encode()
    refused(world, kind, body, world.alice.cavage_headers("POST", peer.inbox, body), 403, "not on the actor's host")


@pytest.mark.parametrize("kind", KINDS)
def test_signature_captured_from_a_delivery_to_another_server(world: World, kind: str) -> None:
    """A draft-cavage signature alice made for a POST to another server (its host signed) is replayed to us with
    the same headers: the signature verifies with alice's key, but the host it was made for is not ours."""
    body = json.dumps(like(world, kind)).encode()
    elsewhere = "http://other-server.example:8080/actor/inbox"
    headers = world.alice.cavage_headers("POST", elsewhere, body)
    assert headers["host"] == "other-server.example:8080"
    refused(world, kind, body, headers, 401, "signed host is not this server's")


@pytest.mark.parametrize("kind", KINDS)
def test_rfc9421_signature_made_for_another_authority(world: World, kind: str) -> None:
    """RFC 9421 covers @authority and @target-uri, which we rebuild from our own base URL: another server's
    signature does not verify here."""
    body = json.dumps(like(world, kind)).encode()
    headers = world.alice.rfc9421_headers("POST", "http://other-server.example:8080/actor/inbox", body)
    refused(world, kind, body, headers, 401, "does not verify")
