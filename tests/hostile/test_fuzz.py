"""A hypothesis fuzz of the inbox, against the real peers of the hostile world.

- Random bodies with random headers (random or borrowed signatures, dates, digests, content types): never a
  server error, always a refusal with a JSON reason, and never a change to the store.
- Random activities signed by a real actor (so they pass the signature and reach the trust rules and the
  listeners): never a server error, never a listener crash kept as `failed`; every refusal leaves the store as
  it was, and every 202 is recorded."""

from __future__ import annotations

import json
import string
import time
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.models import InboxActivity
from tests.hostile.conftest import World
from tests.hostile.helpers import Visitor, diff, schedule_event, serve_event, serve_post, slug_of, wait_until
from tests.support.actors import RemoteActor

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
REFUSALS = {400, 401, 403, 413, 415, 422, 503}
TYPES = [
    "Accept", "Add", "Announce", "Block", "Create", "Delete", "Follow", "Like", "Offer", "Reject", "Remove",
    "Undo", "Update", "Move", "Flag", "Question", "Dance",
]  # fmt: skip

header_text = st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " ", max_size=120).map(
    str.strip
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)


def url_strategy(world: World) -> st.SearchStrategy[Any]:
    """References an attacker would try: its own host, ours, others, and things that are not http URLs."""
    ours = [world.events.url, world.blog.url, world.shop.url]
    known = [
        world.alice.id,
        world.bob.id,
        world.events.actor_id,
        world.shop.actor_id,
        world.blog.actor_id,
        f"{world.events.url}/calendars/main",
        f"{world.blog.url}/posts/welcome",
        f"{world.events.actor_id}/followers",
        "https://www.w3.org/ns/activitystreams#Public",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://127.0.0.1:1/closed",
        "http://[::1",
        "",
    ]
    paths = st.text(alphabet=string.ascii_lowercase + string.digits + "/-_.?=#%", max_size=30)
    return (
        st.sampled_from(known)
        | st.builds(lambda p: world.remote.url(f"/{p}"), paths)
        | st.builds(lambda base, p: f"{base}/{p}", st.sampled_from(ours), paths)
        | st.text(max_size=30)
    )


def activities(world: World, actor: RemoteActor) -> st.SearchStrategy[dict[str, Any]]:
    """Loosely shaped random activities (for the unsigned fuzz)."""
    urls = url_strategy(world)
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(TYPES) | st.text(max_size=10) | json_values,
            "id": st.builds(lambda tail: actor.server.url(f"/activities/{tail}"), st.uuids()) | urls,
            "actor": st.just(actor.id) | urls | json_values,
        },
        optional={"object": urls | json_values, "target": urls | json_values, "to": st.lists(urls, max_size=3)},
    )


@dataclass(frozen=True)
class Targets:
    """What the signed fuzz aims at: documents its signers serve and things our peers really have."""

    offer: str  # an Offer the events peer sent to its (stand-in) shop, still pending
    event: str  # the events peer's event that Offer is for
    seller_event: str  # an Event the shop's trusted seller organizes
    posts: tuple[str, ...]  # posts on alice's host, hers and bob's


def prepare(world: World) -> Targets:
    if "fuzz-targets" not in world.cache:
        event = schedule_event(world.http, world.events, name="Fuzz gig", capacity=1000, price="5.00")
        visitor = Visitor(world.events, f"/events/{slug_of(event)}")
        visitor.buy(event, name="Fuzz buyer")
        visitor.close()

        def offers() -> list[str]:
            docs = (r.json() for r in world.fake_shop.server.posts("/inbox"))
            return [d["id"] for d in docs if d.get("type") == "Offer" and d["object"]["orderedItem"] == event]

        (offer_id,) = wait_until(offers, what="the Offer of the fuzz purchase")
        world.cache["fuzz-targets"] = Targets(
            offer=offer_id,
            event=event,
            seller_event=serve_event(world.seller, "fuzz-event", capacity=1000, price="5.00"),
            posts=(serve_post(world.alice, "fuzz-hers"), serve_post(world.alice, "fuzz-bobs", author=world.bob.id)),
        )
    return world.cache["fuzz-targets"]  # type: ignore[no-any-return]


MISSING = object()


@st.composite
def corrupted(draw: st.DrawFn, doc: dict[str, Any], junk: st.SearchStrategy[Any]) -> dict[str, Any]:
    """`doc` with up to two fields replaced by junk or removed (often none: well-formed enough to reach the
    trust rules and the listeners)."""
    doc = dict(doc)
    for key in draw(st.sets(st.sampled_from(sorted(doc)), max_size=2)):
        value = draw(st.one_of(st.just(MISSING), junk))
        if value is MISSING:
            doc.pop(key)
        else:
            doc[key] = value
    return doc


@st.composite
def signed_activities(draw: st.DrawFn, world: World, targets: Targets) -> tuple[RemoteActor, dict[str, Any]]:
    signer = draw(st.sampled_from([world.alice, world.seller, world.fake_shop]))
    here = signer.server
    junk = url_strategy(world) | json_values
    refs = st.sampled_from(
        [
            targets.offer,
            targets.event,
            targets.seller_event,
            *targets.posts,
            f"{world.events.url}/calendars/main",
            f"{world.blog.url}/posts/welcome",
            world.events.actor_id,
            world.shop.actor_id,
            world.blog.actor_id,
            signer.id,
            world.bob.id,
        ]
    ) | st.builds(lambda tail: here.url(f"/things/{tail}"), st.uuids())
    customer = draw(
        corrupted({"type": "Person", "name": draw(st.text(min_size=1, max_size=30)), "email": "ada@example.org"}, junk)
    )
    fields = {
        "id": draw(st.builds(lambda tail: here.url(f"/objects/{tail}"), st.uuids()) | refs),
        "type": draw(st.sampled_from(["Note", "Article", "Event", "Order", "Tombstone", "Follow", "Offer"])),
        "attributedTo": draw(st.just(signer.id) | refs),
        "name": draw(st.text(max_size=40)),
        "content": draw(st.text(max_size=100)),
        "orderedItem": draw(st.sampled_from([targets.seller_event, targets.event]) | refs),
        "quantity": draw(st.integers(min_value=-1, max_value=11)),
        "customer": customer,
        "price": draw(st.sampled_from(["5.00", "5", "10.00", 5, "1.00"])),
        "maximumAttendeeCapacity": draw(st.sampled_from([1000, 10])),
        "attachment": [{"type": "Link", "rel": "featured", "href": f"{world.blog.url}/posts/welcome"}],
        "location": {"type": "Place", "name": draw(st.text(max_size=20))},
        "url": draw(refs),
        "actor": draw(refs),
        "object": draw(refs),
        "startTime": "2027-07-01T19:00:00+01:00",
    }
    chosen = draw(st.sets(st.sampled_from(sorted(fields)), min_size=2))
    obj = draw(corrupted({k: v for k, v in fields.items() if k in chosen or k in ("id", "type")}, junk))
    doc: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": here.url(f"/activities/{draw(st.uuids())}"),
        "type": draw(st.sampled_from(TYPES)),
        "actor": signer.id,
        "object": draw(refs | st.just(obj)),
    }
    optional = {
        "target": draw(refs | st.just(obj)),
        "result": obj,
        "to": draw(st.lists(refs, max_size=3)),
        "cc": draw(st.lists(refs, max_size=3)),
        "summary": draw(st.text(max_size=60)),
    }
    for key in draw(st.sets(st.sampled_from(sorted(optional)))):
        doc[key] = optional[key]
    return signer, draw(corrupted(doc, junk))


@pytest.mark.slow
def test_random_bodies_and_headers_change_nothing(world: World) -> None:
    peer = world.events
    view = world.view(peer)
    view.settle()
    start = view.snapshot()
    alice = world.alice
    genuine_body = json.dumps(alice.activity("Like", peer.actor_id)).encode()  # signed, never sent as it is
    genuine = alice.cavage_headers("POST", peer.inbox, genuine_body)
    genuine_rfc = alice.rfc9421_headers("POST", peer.inbox, genuine_body)
    header_names = ["signature", "signature-input", "digest", "content-digest", "date", "content-type", "accept", "x-y"]
    bodies = (
        st.binary(max_size=300)
        | st.builds(lambda v: json.dumps(v).encode(), json_values)
        | st.builds(lambda a: json.dumps(a).encode(), activities(world, alice))
        | st.builds(lambda extra: genuine_body[:-1] + extra + b"}", st.binary(min_size=1, max_size=8))
    )
    headers = st.dictionaries(st.sampled_from(header_names), header_text, max_size=6)
    borrowed = st.sampled_from([{}, genuine, genuine_rfc])
    content_types = st.sampled_from(
        ["application/activity+json", 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
         "application/json", "text/plain", "", "application/activity+json; charset=utf-8"]
    )  # fmt: skip
    paths = st.sampled_from(["/actor/inbox", "/inbox"])

    @FUZZ
    @given(body=bodies, random_headers=headers, signature=borrowed, content_type=content_types, path=paths)
    def fuzz(body: bytes, random_headers: dict[str, str], signature: dict[str, str], content_type: str, path: str):
        sent = {**signature, "content-type": content_type, **random_headers}
        response = world.http.post(peer.url + path, content=body, headers=sent)
        assert response.status_code in REFUSALS, (response.status_code, response.text[:300], sent)
        assert response.headers["content-type"].startswith("application/json"), response.headers
        assert isinstance(response.json().get("error"), str) and response.json()["error"]

    fuzz()
    changes = diff(start, view.snapshot())
    assert not changes, f"the store changed: {changes}"


@pytest.mark.slow
def test_random_signed_activities_never_crash_and_refusals_change_nothing(world: World) -> None:
    targets = prepare(world)
    kinds = st.sampled_from(["events", "shop", "blog"])
    state: dict[str, Any] = {}

    @FUZZ
    @given(signed=signed_activities(world, targets), kind=kinds, scheme=st.sampled_from(["cavage", "rfc9421"]))
    def fuzz(signed: tuple[RemoteActor, dict[str, Any]], kind: str, scheme: str) -> None:
        signer, activity = signed
        peer = world.peers[kind]
        view = world.view(peer)
        if state.get("kind") != kind or state.get("dirty"):
            view.settle()
            state.update(kind=kind, dirty=False, snapshot=view.snapshot())
        before = state["snapshot"]
        started = time.monotonic()
        response = signer.post(world.http, peer.inbox, activity, scheme=scheme)
        assert response.status_code < 500, (response.status_code, response.text[:300], activity)
        assert time.monotonic() - started < 20, "the inbox took too long"
        if response.status_code == 202:
            state["dirty"] = True
            outcome = response.json()["status"]
            assert outcome in ("processed", "ignored", "duplicate"), response.text
            (row,) = view.rows(InboxActivity, InboxActivity.id == response.json()["id"])
            assert row.state != "failed", f"a listener crashed on {activity}: {row.error}"
            return
        assert response.status_code in REFUSALS, (response.status_code, response.text[:300])
        assert isinstance(response.json().get("error"), str), response.text
        view.settle()
        changes = diff(before, view.snapshot())
        assert not changes, f"refused {response.status_code} {response.json()} but the store changed: {changes}"

    fuzz()
