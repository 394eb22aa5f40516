"""The account page across the four real peers: a visitor buys a ticket with their email; a member with that
address sees nothing of it until the address is verified, then sees the ticket, its ticket page and the order's
page; only the account service's signed request gets a member's summary from a peer (a stranger's signed one and
an unsigned one are refused, saying nothing); a peer that does not answer is named and the rest still shows."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from activities.httpsig import RequestSigner, SignatureScheme, load_private_key
from actors.member_data import SUMMARY_PATH, email_digest
from store.models import ActorKey
from tests.account.cooperative import Cooperative
from tests.hostile.helpers import Visitor, purchase_state, schedule_event, wait_until
from tests.support.actors import RemoteActor


def text(page: str) -> str:
    return html.unescape(page)


@pytest.mark.slow
def test_the_account_page_shows_a_verified_members_tickets_and_orders(coop: Cooperative) -> None:
    event = schedule_event(coop.http, coop.events, name="Summer Gig", capacity=10)
    buyer = Visitor(coop.events, "/calendars")
    token = buyer.buy(event, name="Ada", email="Ada@Example.org", quantity=2)
    wait_until(lambda: purchase_state(coop.http, coop.events, token)["state"] == "confirmed", what="the ticket")
    number = str(purchase_state(coop.http, coop.events, token)["orderNumber"])
    someone_else = buyer.buy(event, name="Bob", email="bob@example.org")

    # Anyone not signed in is sent to sign in first.
    away = coop.http.get(f"{coop.account.url}/account", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/signin?next=/account"

    member = coop.new_member("ada@example.org", "Ada Lovelace")
    browser, signed_in = coop.sign_in("ada@example.org")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/account"
    unverified = text(browser.get("/account").text)
    assert "Verify your email address to see your tickets" in unverified
    assert "Summer Gig" not in unverified and f"/tickets/{token}" not in unverified

    coop.verify(member)
    page = browser.get("/account")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    shown = text(page.text)
    assert "could not be reached" not in shown
    assert shown.count("Summer Gig") >= 3  # coming up, the ticket, the order
    assert f'href="{coop.events.url}/tickets/{token}"' in shown
    assert f"/tickets/{someone_else}" not in shown  # Bob's purchase is his
    order_link = f"{coop.shop.url}/orders/{number}?token="
    assert order_link in shown and f"<td>{number}</td>" in shown
    assert "You do not receive the blog's newsletter" in shown
    assert 'id="posts"' not in shown and 'id="organised"' not in shown  # no editor or organiser role

    # An editor and organiser also sees the posts and events the peers' audit logs say are theirs.
    coop.grant(member, "editor", "organiser")
    staff = text(browser.get("/account").text)
    assert 'id="posts"' in staff and "Posts name the blog as their author, not a member" in staff
    assert 'id="organised"' in staff and "Events name the events peer as their organiser" in staff

    # The links are the buyer's own pages, which work.
    assert buyer.http.get(f"{coop.events.url}/tickets/{token}").status_code == 200
    start = shown.index(order_link)
    assert coop.http.get(shown[start : shown.index('"', start)]).status_code == 200

    # A peer that does not answer is named; the others still show.
    coop.shop.stop()
    without_shop = text(browser.get("/account").text)
    assert "The shop could not be reached just now" in without_shop
    assert f"/tickets/{token}" in without_shop and order_link not in without_shop


@pytest.mark.slow
def test_a_members_summary_is_only_for_the_account_service(
    coop: Cooperative, remote_actor: Callable[..., RemoteActor]
) -> None:
    event = schedule_event(coop.http, coop.events, name="Private Gig", capacity=10)
    token = Visitor(coop.events, "/calendars").buy(event, name="Ada", email="ada@example.org")
    wait_until(lambda: purchase_state(coop.http, coop.events, token)["state"] == "confirmed", what="the ticket")
    query = urlencode({"member": "0" * 8, "emailDigest": email_digest("ada@example.org")})
    stranger = remote_actor("stranger")
    key = coop.stores["account"].rows(ActorKey)[0]
    account = RequestSigner(f"{coop.account.actor_id}#main-key", load_private_key(key.private_pem))
    for peer in (coop.shop, coop.events, coop.blog):
        url = f"{peer.url}{SUMMARY_PATH}?{query}"
        unsigned = coop.http.get(url)
        assert unsigned.status_code == 401 and set(unsigned.json()) == {"error"}
        signed = coop.http.get(url, headers=stranger.cavage_headers("GET", url, None))
        assert signed.status_code == 403 and set(signed.json()) == {"error"}
        assert "ada" not in signed.text.lower() and token not in signed.text
        # The account service's signature is for that URL: replayed on another query, it counts for nothing.
        other = url.replace("0" * 8, "1" * 8)
        for scheme in SignatureScheme:
            replayed = coop.http.get(other, headers=account.headers_for("GET", url, None, time.time(), scheme=scheme))
            assert replayed.status_code == 401 and set(replayed.json()) == {"error"}
    # Signed by the account service itself (its key, from its store), the shop answers with the orders.
    url = f"{coop.shop.url}{SUMMARY_PATH}?{query}"
    for scheme in SignatureScheme:
        answer = coop.http.get(url, headers=account.headers_for("GET", url, None, time.time(), scheme=scheme))
        assert answer.status_code == 200, answer.text
        assert [o["eventName"] for o in answer.json()["orders"]] == ["Private Gig"]
