"""Members act through any AS2 client with a personal access token made at the account service, with their
rights and no more: real account, blog and events processes, each on its own store, the peers introspecting
tokens at the account service as its clients.

The attacks: a token for one peer used at another, an editor trying organiser actions, a token whose member lost
the role or that was revoked, a made-up token, and the account service gone. Nothing is stored on a refusal."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from peer.bearer import IntrospectionCache
from store.models import OAuthToken
from tests.support.admin import eventually
from tests.support.app import row_counts, running_app
from tests.support.databases import Databases, Peek
from tests.support.member_tokens import AS2, EVENT, SECRETS, Member, csrf_of, refused, start_site
from tests.support.processes import ADMIN_TOKEN, PeerProcess


def post(outbox_of: str, token: str, doc: dict[str, Any], media_type: str = AS2) -> httpx.Response:
    return httpx.post(
        f"{outbox_of}/actor/outbox",
        content=json.dumps(doc),
        headers={"content-type": media_type, "authorization": f"Bearer {token}"},
        trust_env=False,
        timeout=10.0,
    )


def article(name: str) -> dict[str, Any]:
    return {"type": "Article", "name": name, "content": f"<p>{name}, posted from a client.</p>"}


def stops_working(outbox_of: str, token: str, status: int) -> None:
    """Wait out the peer's short cache: a request it would refuse for its body anyway (415) is answered with
    `status` once the account service's new answer is asked for."""
    eventually(
        lambda: post(outbox_of, token, {}, media_type="text/plain").status_code == status,
        timeout=20,
        what=f"the token to be refused with {status}",
    )


def test_members_tokens_act_with_their_rights_and_no_more(
    processes: Callable[..., PeerProcess], databases: Databases, peek: Callable[[str], Peek]
) -> None:
    site = start_site(processes, databases, peek)
    blog, events, account = site.url("blog"), site.url("events"), site.url("account")
    ada_id = site.add_member("ada@example.org", {"editor"})
    olu_id = site.add_member("olu@example.org", {"organiser"})
    site.add_member("bea@example.org", {"box_office"})
    ada, olu = Member(account, "ada@example.org"), Member(account, "olu@example.org")
    bea = Member(account, "bea@example.org")

    # an editor asks for what her roles do not allow, or for a token with no sense in it: a sentence, no token
    with site.unchanged():
        refusals = [
            (ada.ask_token("events", ["events:write"]), "needs the role Organiser"),
            (ada.ask_token("blog", ["events:write"]), "is used at events, not at blog"),
            (ada.ask_token("blog", ["blog:write"], days="400"), "from 1 to 365 days"),
            (ada.ask_token("blog", ["blog:write"], name=" "), "Give the token a name"),
            (ada.ask_token("blog", ["root"]), "There is no scope called root"),
            (ada.ask_token("blog", []), "at least one scope"),
        ]
        for response, says in refusals:
            assert response.status_code == 400 and says in response.text, (says, response.text)

    # an editor's blog token posts an Article to the blog, in the blog's name, and the log names her
    ada_token = ada.token("blog", ["blog:write"], name="Ada phone")
    assert ada_token.startswith("ra.blog.")
    created = post(blog, ada_token, article("From Ada's phone"))
    assert created.status_code == 201, created.text
    made = httpx.get(created.json()["object"], headers={"accept": "application/activity+json"}, trust_env=False)
    assert made.status_code == 200 and made.json()["name"] == "From Ada's phone"
    assert made.json()["attributedTo"] == f"{blog}/actor"
    assert ("ada@example.org", "c2s Create of Article", created.headers["location"]) in site.audit("blog")

    # the account service lists it (digest only) and never shows the token again
    listed = ada.http.get("/account/tokens").text
    assert "Ada phone" in listed and ada_token not in listed

    with site.unchanged():
        # the same token at another peer: made for the blog, not for events
        refused(post(events, ada_token, {"type": "Create", "object": EVENT}), 403, "made for blog, not for events")
        # an editor trying organiser actions at events with what she has
        refused(post(events, ada_token, {"type": "Delete", "object": f"{events}/x"}), 403, "made for blog")
        # made-up tokens: not in the account's form, or in its form but never made
        refused(post(blog, "garbage", article("nope")), 401, "bearer token is required")
        forged = f"ra.blog.{secrets.token_urlsafe(32)}"
        unknown = post(blog, forged, article("nope"))
        refused(unknown, 401, "not valid")
        assert 'error="invalid_token"' in unknown.headers["www-authenticate"]

    # a token for the right peer without the scope the outbox needs: the door's scope schedules no events
    door_token = bea.token("events", ["door:checkin"], name="Door scanner")
    with site.unchanged():
        refused(post(events, door_token, {"type": "Create", "object": EVENT}), 403, "scope events:write")

    # a peer learns only of tokens made for it: events asking about the blog's token hears "not active"
    asked = httpx.post(
        f"{account}/oauth/introspect", data={"token": ada_token}, auth=("events", SECRETS["events"]), trust_env=False
    )
    assert asked.json() == {"active": False}
    own = httpx.post(
        f"{account}/oauth/introspect", data={"token": ada_token}, auth=("blog", SECRETS["blog"]), trust_env=False
    ).json()
    assert (own["active"], own["sub"], own["aud"], own["scope"], own["roles"]) == (
        True,
        ada_id,
        "blog",
        "blog:write",
        ["editor"],
    )
    wrong_secret = httpx.post(
        f"{account}/oauth/introspect", data={"token": ada_token}, auth=("blog", SECRETS["events"]), trust_env=False
    )
    assert wrong_secret.status_code == 401 and "active" not in wrong_secret.json()

    # an organiser's events token schedules an event
    olu_token = olu.token("events", ["events:write"], name="Olu laptop")
    scheduled = post(events, olu_token, {"type": "Create", "object": EVENT})
    assert scheduled.status_code == 201, scheduled.text
    event = httpx.get(scheduled.json()["object"], headers={"accept": "application/activity+json"}, trust_env=False)
    assert event.status_code == 200 and event.json()["name"] == "Members' gig"

    # the organiser loses the role: the token stops at once the peer's short cache lapses
    site.set_roles(olu_id, set())
    stops_working(events, olu_token, 403)
    with site.unchanged():
        refused(post(events, olu_token, {"type": "Create", "object": EVENT}), 403, "does not hold the role")

    # a revoked token stops too
    ada.revoke("Ada phone")
    stops_working(blog, ada_token, 401)
    with site.unchanged():
        refused(post(blog, ada_token, article("After revoking")), 401, "revoked")

    # the account service gone: the peer cannot check a token, says so and stores nothing; the admin token works on
    spare = ada.token("blog", ["blog:write"], name="spare")
    site.procs["account"].stop()
    with site.unchanged():
        refused(post(blog, spare, article("Unchecked")), 503, "could not be reached")
    admin = post(blog, site.procs["blog"].admin_token, article("By the admin"))
    assert admin.status_code == 201, admin.text
    assert ("admin token", "c2s Create of Article", admin.headers["location"]) in site.audit("blog")

    async def personal(store: Any) -> list[str]:
        async with store.read() as db:
            return list(await db.scalars(select(OAuthToken.id).where(OAuthToken.kind == "personal")))

    assert ada_token not in site.peeks["account"](personal)  # only digests are kept


def test_the_admin_tokens_session_has_no_member_tokens(
    processes: Callable[..., PeerProcess], databases: Databases
) -> None:
    account = processes("account", database_url=databases.new("account"))
    with httpx.Client(base_url=account.url, trust_env=False, timeout=10.0) as http:
        assert http.get("/account/tokens").headers["location"] == "/signin?next=/account/tokens"
        page = http.get("/login")
        logged = http.post("/login", data={"csrf": csrf_of(page), "token": account.admin_token, "next": "/"})
        assert logged.status_code == 303, logged.text
        tokens = http.get("/account/tokens")
        assert tokens.status_code == 403 and "The admin token is no member" in tokens.text
        assert "Make a token" not in tokens.text


async def test_the_admin_token_switched_off_opens_no_outbox(database_url: str) -> None:
    async with running_app(database_url, kind="blog", admin_token_login=False) as app:
        before = await row_counts(app.store)
        answer = await app.client.post(
            "/actor/outbox",
            content=json.dumps(article("By a switched-off token")),
            headers={"content-type": AS2, "authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert answer.status_code == 401 and "admin token is switched off" in answer.json()["error"]
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert await row_counts(app.store) == before


def test_the_introspection_cache_forgets_in_time_and_stays_small() -> None:
    now = [0.0]
    cache = IntrospectionCache(seconds=30.0, size=3, clock=lambda: now[0])
    for n in range(5):
        cache.put(f"digest-{n}", {"active": True, "n": n})
    assert [cache.get(f"digest-{n}") is not None for n in range(5)] == [False, False, True, True, True]
    now[0] = 29.9
    assert cache.get("digest-4") == {"active": True, "n": 4}
    now[0] = 30.0
    assert cache.get("digest-4") is None
