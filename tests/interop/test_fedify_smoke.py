"""Smoke test: the Fedify interop peer starts and answers WebFinger for its actor.

Needs `bash scripts/install-fedify.sh` (Node 22 + @fedify/fedify from npm); without it the `fedify`
fixture (conftest.py) skips, or fails under CI=true.
"""

from __future__ import annotations

import httpx
import pytest

from tests.interop.fedify import FedifyPeer

pytestmark = pytest.mark.interop

AP_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


def test_peer_answers_webfinger_for_its_actor(fedify: FedifyPeer) -> None:
    assert fedify.running
    assert fedify.actor_id == f"{fedify.origin}/users/alice"
    resource = f"acct:{fedify.handle}"
    with httpx.Client(trust_env=False, timeout=10) as client:
        response = client.get(f"{fedify.origin}/.well-known/webfinger", params={"resource": resource})
        assert response.status_code == 200, response.text
        jrd = response.json()
        assert jrd["subject"] == resource
        self_links = [link for link in jrd["links"] if link.get("rel") == "self"]
        assert self_links and self_links[0]["href"] == fedify.actor_id
        assert self_links[0]["type"] == "application/activity+json"

        actor = client.get(fedify.actor_id, headers={"Accept": AP_ACCEPT})
        assert actor.status_code == 200, actor.text
        document = actor.json()
        assert document["id"] == fedify.actor_id
        assert document["type"] == "Person"
        assert document["inbox"] == fedify.inbox_url
        assert document["publicKey"]["id"] == fedify.key_id
        assert "BEGIN PUBLIC KEY" in document["publicKey"]["publicKeyPem"]
