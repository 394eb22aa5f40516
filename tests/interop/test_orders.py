"""An Order, fetched by its authorized party. Here the Fedify actor is an organizer the shop trusts (it is
started with `--trust <the Fedify actor>`): it publishes an Event and sends the shop `Offer{Order}`, just
as our events peer does. The shop dereferences the event itself with a signed GET, creates the Order and
answers `Accept{result: Order}`. The order is private: the broker (Fedify) reads it with a signed GET under
either signature scheme, the buyer with the capability link, nobody else at all."""

from __future__ import annotations

import json
import secrets

import pytest

from tests.interop.conftest import Json, Rose, wait_until
from tests.interop.fedify import DRAFT_CAVAGE, RFC9421, FedifyPeer, Spec

pytestmark = pytest.mark.interop

SCHEMA = {
    "schema": "http://schema.org/",
    "Order": "schema:Order",
    "orderedItem": {"@id": "schema:orderedItem", "@type": "@id"},
    "customer": "schema:customer",
    "email": "schema:email",
    "quantity": "schema:orderQuantity",
    "price": "schema:price",
    "maximumAttendeeCapacity": "schema:maximumAttendeeCapacity",
}
CONTEXT = ["https://www.w3.org/ns/activitystreams", SCHEMA]


@pytest.fixture(scope="module")
def brokered(fedify_session: FedifyPeer, rose_session: Rose) -> Json:
    fedify, shop = fedify_session, rose_session.shop
    slug = f"alices-gig-{secrets.token_hex(3)}"
    event = fedify.publish(
        f"/events/{slug}",
        {
            "@context": CONTEXT,
            "id": f"{fedify.origin}/events/{slug}",
            "type": "Event",
            "name": "Alice's gig",
            "startTime": "2027-08-01T20:00:00Z",
            "endTime": "2027-08-01T23:00:00Z",
            "attributedTo": fedify.actor_id,
            "maximumAttendeeCapacity": 5,
            "price": "7.50",
        },
    )
    offer = {
        "@context": CONTEXT,
        "id": f"{fedify.origin}/offers/{secrets.token_hex(8)}",
        "type": "Offer",
        "actor": fedify.actor_id,
        "to": [shop.actor_id],
        "target": shop.actor_id,
        "object": {
            "type": "Order",
            "orderedItem": event,
            "quantity": 2,
            "customer": {"type": "Person", "name": "Ada", "email": "ada@example.org"},
        },
    }
    sent = fedify.send(to=shop.actor_id, activity=offer, spec=RFC9421)
    assert sent["status"] == 202, sent
    assert json.loads(sent["body"])["status"] == "processed", sent

    def shops_answer() -> tuple[Json, Json] | None:
        for delivery in fedify.deliveries():
            if delivery["actor"] != shop.actor_id or delivery["type"] not in ("Accept", "Reject"):
                continue
            body = delivery.get("body") or next(
                (r["received"] for r in fedify.inbox() if r["id"] == delivery["id"]), None
            )
            if body and body.get("object") == offer["id"]:
                return delivery, body
        return None

    delivery, answer = wait_until(shops_answer, "the shop's answer to the Offer", timeout=20)
    return {"event": event, "offer": offer, "delivery": delivery, "answer": answer}


def test_the_shop_sells_a_fedify_organized_event(fedify: FedifyPeer, rose: Rose, brokered: Json) -> None:
    answer = brokered["answer"]
    assert (answer["type"], answer["actor"], answer["to"]) == ("Accept", rose.shop.actor_id, [fedify.actor_id])
    order = answer["result"]
    assert order["type"] == ["Object", "Order"] and order["id"].startswith(f"{rose.shop.url}/orders/")
    assert (order["orderedItem"], order["quantity"], order["price"]) == (brokered["event"], 2, "15.00")
    assert (order["seller"], order["broker"], order["acceptedOffer"]) == (
        rose.shop.actor_id,
        fedify.actor_id,
        brokered["offer"]["id"],
    )
    assert "customer" not in order and "ada@example.org" not in json.dumps(answer)
    # The shop took price and capacity from the event itself, fetched with a signed GET Fedify verified.
    fetches = [r for r in fedify.requests() if r["url"] == brokered["event"]]
    assert fetches and all(r["verified"] and r["key_owner"] == rose.shop.actor_id for r in fetches), fetches


def test_fedify_takes_our_accept_of_its_offer(brokered: Json) -> None:
    delivery = brokered["delivery"]
    assert delivery["status"] == 202, delivery


@pytest.mark.parametrize("spec", [RFC9421, DRAFT_CAVAGE])
def test_the_broker_reads_the_order_with_a_signed_get(fedify: FedifyPeer, brokered: Json, spec: Spec) -> None:
    order = brokered["answer"]["result"]
    got = fedify.lookup(order["id"], spec=spec, as_object=True)
    assert got["ok"] and got["status"] == 200, got
    assert (got["type"], got["id"], got["name"]) == ("Object", order["id"], order["name"])
    assert got["url"] == order["url"]
    assert got["dropped"] == [], got["dropped"]
    raw = got["raw"]
    assert raw["type"] == ["Object", "Order"] and raw["customer"] == {
        "type": "Person",
        "name": "Ada",
        "email": "ada@example.org",
    }


def test_the_order_is_not_public(fedify: FedifyPeer, rose: Rose, brokered: Json) -> None:
    order = brokered["answer"]["result"]["id"]
    unsigned = fedify.lookup(order, signed=False, as_object=True)
    assert not unsigned["ok"] and unsigned["status"] == 404, unsigned
    assert rose.get(order).status_code == 404
    assert rose.get(f"{order}?token=not-the-token").status_code == 404


def test_the_capability_link_reads_the_order(fedify: FedifyPeer, brokered: Json) -> None:
    order = brokered["answer"]["result"]
    got = fedify.lookup(order["url"], signed=False, as_object=True)
    assert got["ok"], got
    assert (got["type"], got["id"]) == ("Object", order["id"])
    assert got["raw"]["customer"]["email"] == "ada@example.org"
    assert got["dropped"] == [], got["dropped"]


def test_fedify_parses_the_order_as_served(fedify: FedifyPeer, brokered: Json) -> None:
    got = fedify.lookup(brokered["answer"]["result"]["id"], spec=RFC9421)
    assert got["ok"], got
