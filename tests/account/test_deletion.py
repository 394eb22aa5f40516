"""Deleting an account across the four real peers: the member confirms with their password (a wrong one changes
nothing); the account goes, they can no longer sign in, and each peer, told by the account actor's `Erase`
through its outbox, erases their name and address: the shop's order keeps its number, amount and tickets, the
events peer's purchase and waiting-list place likewise, the blog's newsletter subscription is deleted. The
address itself never travels: the activity names it by digest. A stranger's `Erase` is refused."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from activities.httpsig import RequestSigner, load_private_key
from actors.member_data import ERASED_NAME, email_digest
from store.models import (
    ActorKey,
    CollectionItem,
    InboxActivity,
    MailMessage,
    Member,
    StoredObject,
    WaitlistEntry,
    WebSession,
)
from tests.account.cooperative import Cooperative
from tests.hostile.helpers import Unchanged, Visitor, purchase_state, schedule_event, slug_of, wait_until
from tests.support.actors import RemoteActor

ADA = "ada@example.org"


def order_of(coop: Cooperative, number: str) -> dict[str, Any]:
    rows = coop.stores["shop"].rows(StoredObject, StoredObject.type == "Order")
    return next(row.data for row in rows if row.data["orderNumber"] == number)


def purchase_of(coop: Cooperative, token: str) -> dict[str, Any]:
    rows = coop.stores["events"].rows(StoredObject, StoredObject.type == "TicketPurchase")
    return next(row.data for row in rows if row.id.endswith(f"/tickets/{token}"))


def mentions(coop: Cooperative, kind: str, needle: str) -> list[str]:
    """The tables of a peer's store in which `needle` appears anywhere, in any case."""
    tables = coop.stores[kind].snapshot().items()
    return [table for table, rows in tables if needle in json.dumps(rows, default=str).lower()]


@pytest.mark.slow
def test_deleting_an_account_erases_the_buyer_everywhere_and_keeps_the_orders(
    coop: Cooperative, remote_actor: Callable[..., RemoteActor]
) -> None:
    gig = schedule_event(coop.http, coop.events, name="Summer Gig", capacity=10, price="12.00")
    tiny = schedule_event(coop.http, coop.events, name="Tiny Gig", capacity=1)
    ada = Visitor(coop.events, "/calendars")
    token = ada.buy(gig, name="Ada Lovelace", email="Ada@Example.org", quantity=2)
    wait_until(lambda: purchase_state(coop.http, coop.events, token)["state"] == "held", what="Ada's seats held")
    number = str(purchase_state(coop.http, coop.events, token)["orderNumber"])
    bob = Visitor(coop.events, "/calendars").buy(tiny, name="Bob", email="bob@example.org")
    wait_until(lambda: purchase_state(coop.http, coop.events, bob)["state"] == "confirmed", what="Bob's ticket")
    joined = ada.post(f"/events/{slug_of(tiny)}/waitlist", name="Ada Lovelace", email=ADA, quantity="1")
    assert joined.status_code == 303, joined.text[:300]
    reader = Visitor(coop.blog, "/newsletter")
    assert reader.post("/newsletter", email=ADA).status_code == 200

    member = coop.new_member(ADA, "Ada Lovelace", verified=True)
    browser, _ = coop.sign_in(ADA)
    assert "Summer Gig" in browser.get("/account").text

    # A stranger's Erase of her data is refused, and changes nothing.
    stranger = remote_actor("stranger")
    erase = stranger.activity(
        "Erase", {"id": f"{coop.account.url}/members/{member}", "emailDigest": email_digest(ADA)},
        to=[coop.shop.actor_id],
    )  # fmt: skip
    assert stranger.post(coop.http, coop.shop.inbox, erase).status_code == 403  # its key is cached from here on
    with Unchanged(coop.stores["shop"]):
        assert stranger.post(coop.http, coop.shop.inbox, {**erase, "id": stranger.new_id()}).status_code == 403

    # The wrong password deletes nothing.
    with Unchanged(coop.stores["account"]):
        wrong = browser.post("/account/delete", password="not my password at all")
        assert wrong.status_code == 403 and "nothing was deleted" in html.unescape(wrong.text)
        no_csrf = browser.http.post(f"{coop.account.url}/account/delete", data={"password": "correct horse battery"})
        assert no_csrf.status_code == 403

    deleted = browser.post("/account/delete", password="correct horse battery")
    assert deleted.status_code == 200 and 'id="deleted"' in deleted.text
    assert coop.stores["account"].rows(Member) == []
    assert coop.stores["account"].rows(WebSession, WebSession.member == member) == []
    again, answer = coop.sign_in(ADA)
    assert answer.status_code == 403 and "do not match an account" in html.unescape(answer.text)
    away = again.get("/account", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/signin?next=/account"
    sent = coop.stores["account"].rows(StoredObject, StoredObject.type == "Erase")
    assert len(sent) == 1 and "example.org" not in json.dumps(sent[0].data).lower()  # the digest, not the address

    # The shop keeps the order, its amount and tickets, without her name and address.
    wait_until(lambda: order_of(coop, number)["customer"]["name"] == ERASED_NAME, what="the shop's erasure")
    order = order_of(coop, number)
    assert order["customer"]["email"] == "" and order["price"] == "24.00" and len(order["tickets"]) == 2
    offer = coop.stores["shop"].rows(InboxActivity, InboxActivity.id == order["acceptedOffer"])[0]
    assert offer.data["object"]["customer"]["name"] == ERASED_NAME

    # The events peer keeps the purchase and its tickets; her waiting-list place is left, without her.
    wait_until(lambda: purchase_of(coop, token)["customer"]["name"] == ERASED_NAME, what="the events' erasure")
    purchase = purchase_of(coop, token)
    assert purchase["customer"]["email"] == "" and purchase["quantity"] == 2
    (entry,) = coop.stores["events"].rows(WaitlistEntry)
    assert (entry.state, entry.name, entry.email) == ("left", ERASED_NAME, "")
    assert entry.email_digest != email_digest(ADA)
    assert ada.get(f"/tickets/{token}").status_code == 200

    # The blog deletes her subscription.
    def subscribed() -> list[Any]:
        return coop.stores["blog"].rows(CollectionItem, CollectionItem.item.like("mailto:%"))

    wait_until(lambda: not subscribed(), what="the blog's erasure")
    for kind in ("blog", "events", "shop", "account"):
        for message in coop.stores[kind].rows(MailMessage):
            assert ADA not in json.dumps(message.recipients).lower() and "Ada Lovelace" not in (message.raw or "")
    # A repeat (the same Erase again, or a new one for the same member) changes nothing more.
    key = coop.stores["account"].rows(ActorKey)[0]
    account = RequestSigner(f"{coop.account.actor_id}#main-key", load_private_key(key.private_pem))
    repeat = {**sent[0].data, "id": f"{coop.account.url}/activities/again"}
    orders = [row.data for row in coop.stores["shop"].rows(StoredObject, StoredObject.type == "Order")]
    for doc in (sent[0].data, repeat):
        body = json.dumps(doc).encode()
        answer = coop.http.post(
            coop.shop.inbox, content=body, headers=account.headers_for("POST", coop.shop.inbox, body, time.time())
        )
        assert answer.status_code in (200, 202), answer.text
    assert [row.data for row in coop.stores["shop"].rows(StoredObject, StoredObject.type == "Order")] == orders
    for kind in ("shop", "events", "blog"):
        assert mentions(coop, kind, "ada lovelace") == [] and mentions(coop, kind, ADA) == [], kind
