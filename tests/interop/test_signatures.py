"""Both HTTP signature schemes, inbound and outbound. Fedify signs each activity with exactly the scheme a test forces
(no double-knock fallback) and our inbox answers which one it verified; a body that is not the signed one
is refused under either. And Fedify's own sending, which knocks with one scheme and falls back to the
other on refusal, gets through whichever scheme it tries first. Outbound, we knock with RFC 9421 first, as
Fedify does, and fall back to draft-cavage for a receiver that knows only that."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from tests.interop.conftest import Json, Rose, wait_until
from tests.interop.fedify import DRAFT_CAVAGE, RFC9421, FedifyPeer, Spec
from tests.support.actors import RemoteActor
from tests.support.httpserver import FakeServer, Recorded, Reply

pytestmark = pytest.mark.interop

SPECS = [RFC9421, DRAFT_CAVAGE]
OUR_NAME = {RFC9421: "rfc9421", DRAFT_CAVAGE: "draft-cavage"}


def follow_of(fedify: FedifyPeer, target: str) -> Json:
    return {
        "id": f"{fedify.origin}/follows/{secrets.token_hex(8)}",
        "type": "Follow",
        "actor": fedify.actor_id,
        "object": target,
    }


def assert_signed_with(sent: Json, spec: Spec) -> None:
    """What Fedify put on the wire is the scheme the test asked for, and only that one."""
    headers = sent["request_headers"]
    if spec == RFC9421:
        assert "signature-input" in headers and "content-digest" in headers, headers
        assert '"@method"' in headers["signature-input"] and '"@target-uri"' in headers["signature-input"]
    else:
        assert "signature-input" not in headers and "digest" in headers, headers
        assert 'headers="(request-target)' in headers["signature"]


@pytest.mark.parametrize("inbox", ["actor inbox", "shared inbox"])
@pytest.mark.parametrize("spec", SPECS)
def test_inbox_verifies_the_scheme_fedify_signed_with(fedify: FedifyPeer, rose: Rose, spec: Spec, inbox: str) -> None:
    shop = rose.shop
    follow = follow_of(fedify, shop.actor_id)
    sent = fedify.send(to=shop.actor_id, activity=follow, spec=spec, shared_inbox=inbox == "shared inbox")
    assert_signed_with(sent, spec)
    assert sent["inbox"] == (f"{shop.url}/inbox" if inbox == "shared inbox" else shop.inbox)
    assert sent["status"] == 202, sent
    assert json.loads(sent["body"]) == {"status": "processed", "id": follow["id"], "signature": OUR_NAME[spec]}

    # It took effect: our Accept of that Follow reaches Fedify, which verifies our signature in turn.
    accept = fedify.wait_for_inbox(lambda r: r["object_id"] == follow["id"], activity_type="Accept", timeout=20)
    assert accept["actor"] == shop.actor_id

    # The same activity again is a replay: recognised, changes nothing.
    again = fedify.send(to=shop.actor_id, activity=follow, spec=spec)
    assert again["status"] == 202, again
    assert json.loads(again["body"])["status"] == "duplicate"

    # Undo, signed the same way, is verified the same way.
    undo = {"id": f"{fedify.origin}/undos/{secrets.token_hex(8)}", "type": "Undo", "object": follow}
    sent = fedify.send(to=shop.actor_id, activity=undo, spec=spec)
    assert sent["status"] == 202, sent
    assert json.loads(sent["body"]) == {"status": "processed", "id": undo["id"], "signature": OUR_NAME[spec]}
    assert fedify.actor_id not in rose.item_ids(f"{shop.actor_id}/followers")


@pytest.mark.parametrize("spec", SPECS)
def test_inbox_refuses_a_body_that_is_not_the_signed_one(fedify: FedifyPeer, rose: Rose, spec: Spec) -> None:
    follow = follow_of(fedify, rose.shop.actor_id)
    sent = fedify.send(to=rose.shop.actor_id, activity=follow, spec=spec, tamper_body=True)
    assert sent["status"] == 401, sent
    assert fedify.actor_id not in rose.item_ids(f"{rose.shop.actor_id}/followers")


@pytest.mark.parametrize("spec", SPECS)
def test_inbox_refuses_an_unsigned_or_stale_post(fedify: FedifyPeer, rose: Rose, spec: Spec) -> None:
    unsigned = fedify.send(to=rose.shop.actor_id, activity=follow_of(fedify, rose.shop.actor_id), spec="none")
    assert unsigned["status"] == 401, unsigned
    stale = fedify.send(
        to=rose.shop.actor_id,
        activity=follow_of(fedify, rose.shop.actor_id),
        spec=spec,
        signed_at="2020-01-01T00:00:00Z",
    )
    assert stale["status"] == 401, stale


def test_fedify_knocking_with_draft_cavage_first_gets_through(rose: Rose, fedify: FedifyPeer) -> None:
    """The session's Fedify peer knocks with RFC 9421 first (its follows in test_follower get through);
    this one starts with draft-cavage, as Fedify does for servers it remembers that way."""
    with FedifyPeer(actor="bob", first_knock=DRAFT_CAVAGE) as bob:
        result = bob.follow(handle=rose.handle("shop"))
        assert result["ok"], result
        bob.wait_for_follow(result["follow_id"], timeout=20)
        wait_until(lambda: bob.actor_id in rose.item_ids(f"{rose.shop.actor_id}/followers"), "bob among followers")


def test_we_sign_rfc9421_first_and_fedify_takes_it_on_the_first_knock(fedify: FedifyPeer, rose: Rose) -> None:
    """Outbound: our deliveries and signed GETs reach Fedify as RFC 9421, accepted without a second knock."""
    follow = follow_of(fedify, rose.shop.actor_id)
    assert fedify.send(to=rose.shop.actor_id, activity=follow, spec=DRAFT_CAVAGE)["status"] == 202
    accept = fedify.wait_for_inbox(lambda r: r["object_id"] == follow["id"], activity_type="Accept", timeout=20)
    assert accept["signature_spec"] == RFC9421
    # Fedify records a delivery once its inbox has answered, after the listener recorded the activity: wait for it.
    knocks = wait_until(
        lambda: [d for d in fedify.deliveries() if d["id"] == accept["id"]], "Fedify's record of the Accept's POST"
    )
    assert [(d["signature_spec"], d["status"]) for d in knocks] == [(RFC9421, 202)], knocks
    ours = tuple(peer.url for peer in rose.all)
    by_us = [d for d in fedify.deliveries() if (d["actor"] or "").startswith(ours)]
    assert by_us and {d["signature_spec"] for d in by_us} == {RFC9421}, by_us
    assert all(200 <= d["status"] < 300 for d in by_us), by_us
    gets = [r for r in fedify.requests() if (r["key_id"] or "").startswith(ours)]
    assert all(r["signature_spec"] == RFC9421 and r["verified"] for r in gets), gets


def test_a_receiver_that_knows_only_draft_cavage_gets_every_delivery(
    rose: Rose, remote_actor: Callable[..., RemoteActor], fake_server: Callable[[], FakeServer]
) -> None:
    """It answers 401 to RFC 9421: the first Accept is signed again as draft-cavage, and the origin is
    remembered, so the next one goes as draft-cavage at once."""
    server = fake_server()

    def cavage_only(request: Recorded) -> Reply:
        cavage = "signature" in request.headers and "signature-input" not in request.headers
        return Reply(202) if cavage else Reply(401, {}, b"unknown signature scheme")

    server.responder = cavage_only
    for name in ("ann", "bea"):
        follower = remote_actor(name, server=server, shared_inbox=False)
        follow = follower.activity("Follow", rose.shop.actor_id)
        assert follower.post(rose.client, rose.shop.inbox, follow).status_code == 202
        server.wait_for(
            lambda s, f=follower: any(r.status == 202 for r in s.posts(urlsplit(f.inbox).path)),
            what=f"the Accept for {name}",
        )
    first, second = (server.posts(f"/users/{name}/inbox") for name in ("ann", "bea"))
    assert [("signature-input" in r.headers, r.status) for r in first] == [(True, 401), (False, 202)]
    assert [("signature-input" in r.headers, r.status) for r in second] == [(False, 202)]
    assert all(r.json()["type"] == "Accept" for r in first + second)
