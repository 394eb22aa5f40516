"""Smoke test: the Fedify interop peer starts and answers WebFinger for its actor.

Needs `bash scripts/install-fedify.sh` (Node 22 + @fedify/fedify from npm);
without it FedifyPeer.start() raises FedifyNotInstalledError saying so.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

try:
    from tests.interop.fedify import FedifyPeer
except ModuleNotFoundError:  # tests/ not a package: pytest put tests/interop on sys.path
    from fedify import FedifyPeer

pytestmark = pytest.mark.interop

AP_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture(scope="module")
def peer() -> Iterator[FedifyPeer]:
    fedify_peer = FedifyPeer()
    fedify_peer.start()
    try:
        yield fedify_peer
    finally:
        fedify_peer.stop()


def test_peer_answers_webfinger_for_its_actor(peer: FedifyPeer) -> None:
    assert peer.running
    assert peer.actor_id == f"{peer.origin}/users/alice"
    resource = f"acct:{peer.handle}"
    with httpx.Client(trust_env=False, timeout=10) as client:
        response = client.get(f"{peer.origin}/.well-known/webfinger", params={"resource": resource})
        assert response.status_code == 200, response.text
        jrd = response.json()
        assert jrd["subject"] == resource
        self_links = [link for link in jrd["links"] if link.get("rel") == "self"]
        assert self_links and self_links[0]["href"] == peer.actor_id
        assert self_links[0]["type"] == "application/activity+json"

        actor = client.get(peer.actor_id, headers={"Accept": AP_ACCEPT})
        assert actor.status_code == 200, actor.text
        document = actor.json()
        assert document["id"] == peer.actor_id
        assert document["type"] == "Person"
        assert document["inbox"] == peer.inbox_url
        assert document["publicKey"]["id"] == peer.key_id
        assert "BEGIN PUBLIC KEY" in document["publicKey"]["publicKeyPem"]
