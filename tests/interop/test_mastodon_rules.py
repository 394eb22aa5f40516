"""Mastodon's rules for a remote server, as checks against our running peers (the facts in DESIGN.md,
"Interop facts"): WebFinger round trip with the port in the acct:, the actor fields Mastodon reads, which
headers our draft-cavage GET and POST signatures cover and the Digest form, an Accept that names the
Follow by its id, and an Event whose summary carries its date, time and place (Mastodon shows an Event as
its name, its summary and a link)."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.interop.conftest import AS2, KINDS, LD_AS2, Json, Rose, World, wait_until
from tests.interop.fedify import FedifyPeer
from tests.support.actors import RemoteActor
from tests.support.httpserver import Recorded, Reply

pytestmark = pytest.mark.interop

MASTODON_ACTOR_TYPES = {"Application", "Group", "Organization", "Person", "Service"}
CLOCK_SKEW = 3600  # Mastodon: signed date within an hour of its clock (and at most 12 h old)


# ------------------------------------------------------------------------------------------ WebFinger --


@pytest.mark.parametrize("kind", KINDS)
def test_webfinger_round_trip(fedify: FedifyPeer, rose: Rose, kind: str) -> None:
    peer = rose.peer(kind)
    resource = f"acct:{rose.handle(kind)}"  # acct:events@127.0.0.1:PORT, the port kept
    answer = rose.client.get(f"{peer.url}/.well-known/webfinger", params={"resource": resource})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/jrd+json")
    jrd = answer.json()
    assert jrd["subject"] == resource
    selves = [link for link in jrd["links"] if link.get("rel") == "self"]
    assert len(selves) == 1 and selves[0]["type"] == AS2, jrd
    assert selves[0]["href"] == peer.actor_id

    actor = rose.document(selves[0]["href"])
    assert actor["id"] == peer.actor_id
    # Mastodon checks back: preferredUsername@host of the actor's id must give the same self link.
    back = rose.client.get(
        f"{peer.url}/.well-known/webfinger",
        params={"resource": f"acct:{actor['preferredUsername']}@{rose.netloc(kind)}"},
    ).json()
    assert back["subject"] == resource
    assert [link["href"] for link in back["links"] if link.get("rel") == "self"] == [peer.actor_id]
    by_id = rose.client.get(f"{peer.url}/.well-known/webfinger", params={"resource": peer.actor_id}).json()
    assert by_id["subject"] == resource
    # An independent client resolves the handle the same way.
    found = fedify.lookup(handle=rose.handle(kind))
    assert found["ok"] and found["id"] == peer.actor_id, found
    assert found["webfinger"]["subject"] == resource


# ------------------------------------------------------------------------------------------ the actor --


@pytest.mark.parametrize("kind", KINDS)
def test_actor_has_what_mastodon_reads(rose: Rose, kind: str) -> None:
    peer = rose.peer(kind)
    for accept in (AS2, LD_AS2):
        response = rose.get(peer.actor_id, accept=accept)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(AS2), response.headers
    actor = rose.document(peer.actor_id)
    assert actor["id"] == peer.actor_id
    assert actor["type"] in MASTODON_ACTOR_TYPES
    assert actor["preferredUsername"] == kind
    for field in ("inbox", "outbox", "followers", "following"):
        assert actor[field].startswith(f"{peer.url}/"), field
    assert actor["endpoints"]["sharedInbox"] == f"{peer.url}/inbox"
    assert isinstance(actor["manuallyApprovesFollowers"], bool)
    assert actor["name"] and actor["url"]
    key = actor["publicKey"]
    assert key["owner"] == peer.actor_id and key["id"].startswith(f"{peer.actor_id}#")
    public = serialization.load_pem_public_key(key["publicKeyPem"].encode())
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size >= 2048
    # The key id dereferences (to the actor that holds it).
    holder = rose.document(key["id"].split("#")[0])
    assert holder["publicKey"] == key


# -------------------------------------------------------------------------------- our HTTP signatures --


def signature_params(header: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def check_cavage(request: Recorded, signer: Json, required: set[str]) -> list[str]:
    """Check a draft-cavage signed request the way Mastodon does, with this file's own verifier."""
    params = signature_params(request.headers["signature"])
    assert params["keyId"] == signer["publicKey"]["id"]
    assert params.get("algorithm", "hs2019") in ("rsa-sha256", "hs2019")
    fields = params["headers"].split()
    assert required <= set(fields), f"signed {fields}, Mastodon needs {sorted(required)}"
    signed_at = parsedate_to_datetime(request.headers["date"]).timestamp()
    assert abs(time.time() - signed_at) < CLOCK_SKEW
    target = request.path + (f"?{request.query}" if request.query else "")
    lines = [
        f"(request-target): {request.method.lower()} {target}"
        if f == "(request-target)"
        else f"{f}: {request.headers[f]}"
        for f in fields
    ]
    key = serialization.load_pem_public_key(signer["publicKey"]["publicKeyPem"].encode())
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(base64.b64decode(params["signature"]), "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    return fields


def test_our_signed_get_and_post_cover_what_mastodon_requires(
    rose: Rose, remote_actor: Callable[..., RemoteActor]
) -> None:
    """The blog's admin follows an actor on a recording server that, like Mastodon before 4.5, knows only
    draft-cavage (401 to RFC 9421): the blog fetches it (signed GET), then delivers the Follow (signed POST),
    each falling back to draft-cavage in the form Mastodon requires."""
    mastodon = remote_actor("mastodon_user")
    server = mastodon.server
    server.gate = lambda r: Reply(401, {}, b"unknown signature") if "signature-input" in r.headers else None
    rose.follow("blog", mastodon.id)
    server.wait_for(lambda s: any("signature-input" not in r.headers for r in s.posts()), what="the Follow")
    blog = rose.document(rose.blog.actor_id)

    get = next(r for r in server.gets(f"/users/{mastodon.name}") if "signature-input" not in r.headers)
    assert get.headers["host"] == server.netloc
    check_cavage(get, blog, {"(request-target)", "host", "date"})

    post = next(r for r in server.posts() if "signature-input" not in r.headers)
    assert post.headers["host"] == server.netloc
    assert post.headers["content-type"].startswith(AS2)
    check_cavage(post, blog, {"(request-target)", "host", "date", "digest"})
    assert re.fullmatch(r"SHA-256=[A-Za-z0-9+/]+={0,2}", post.headers["digest"]), post.headers["digest"]
    assert post.headers["digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(post.body).digest()).decode()
    follow = post.json()
    assert (follow["type"], follow["actor"], follow["object"]) == ("Follow", rose.blog.actor_id, mastodon.id)


def test_our_deliveries_to_fedify_use_the_same_form(fedify: FedifyPeer, fedify_follows: Callable[[str], Json]) -> None:
    """What our peers POSTed to Fedify (at least the Accept of its Follow) went as RFC 9421 in the form
    Mastodon 4.5 verifies (created, @method, @target-uri and Content-Digest covered, rsa-v1_5-sha256), and
    Fedify verified it."""
    fedify_follows("events")
    ours = [d for d in fedify.deliveries() if d["headers"].get("user-agent", "").startswith("rose-ash/")]
    assert ours
    for delivery in ours:
        headers = delivery["headers"]
        assert re.fullmatch(r"sha-256=:[A-Za-z0-9+/]+={0,2}:", headers["content-digest"]), headers
        covered = headers["signature-input"]
        for component in ('"@method"', '"@target-uri"', '"content-digest"', "created=", 'alg="rsa-v1_5-sha256"'):
            assert component in covered, (component, covered)
        assert delivery["status"] == 202 and delivery["unverified_reason"] is None, delivery


# ------------------------------------------------------------------------------ Accept, Event summary --


def test_our_accept_of_a_follow_names_the_follow_by_id(
    fedify: FedifyPeer, rose: Rose, fedify_follows: Callable[[str], Json]
) -> None:
    follow = fedify_follows("events")
    accept = follow["accept"]["received"]  # the Accept as we sent it
    assert (accept["type"], accept["actor"]) == ("Accept", rose.events.actor_id)
    assert fedify.actor_id in accept["to"]
    named = accept["object"]
    assert (named if isinstance(named, str) else named["id"]) == follow["follow_id"]
    if isinstance(named, dict):
        assert (named["type"], named["actor"], named["object"]) == ("Follow", fedify.actor_id, rose.events.actor_id)
    state = next(f for f in fedify.following() if f["id"] == follow["follow_id"])
    assert state["state"] == "accepted" and state["reply_id"] == accept["id"]


def test_an_events_summary_carries_its_date_time_and_place(
    fedify: FedifyPeer, rose: Rose, world: World, fedify_follows: Callable[[str], Json]
) -> None:
    event = rose.document(world.event)
    assert event["name"] == "Interop Night" and event["url"] == world.event
    summary = event["summary"]
    for part in ("Thu 1 July 2027", "19:00", "The Hall"):
        assert part in summary, summary
    # Announced to a follower, Fedify reads the same summary.
    fedify_follows("events")
    rose.c2s("events", {"type": "Update", "object": {"type": "Event", "id": world.event, "name": "Interop Night"}})
    update = wait_until(
        lambda: next((r for r in fedify.inbox() if r["type"] == "Update" and r["object_id"] == world.event), None),
        "the Update at Fedify",
    )
    assert update["object"]["summary"] == summary
