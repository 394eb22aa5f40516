"""What strangers leave waiting for the admin (allocations on the events peer, events featuring the blog's
posts) is shown grouped by remote actor on the approvals page, with one answer per actor: approve all of
theirs, or refuse all. Nobody but the admin can give that answer."""

from __future__ import annotations

import html
import secrets

from activities.vocab import PUBLIC
from tests.hostile.conftest import KEYS, World
from tests.hostile.helpers import Unchanged, Visitor, serve_post, total_items, wait_until
from tests.hostile.test_trust_rules import remote_event
from tests.support.actors import RemoteActor, key_pair
from tests.support.httpserver import FakeServer


def stranger(server: FakeServer, name: str) -> RemoteActor:
    return RemoteActor(server, f"{name}-{secrets.token_hex(3)}", key_pair(next(KEYS)))


def sender_block(page: str, sender: str) -> str:
    """The part of the approvals page about one sender's waiting items ('' when it lists none)."""
    start = page.find(f'<p><a href="{sender}">')
    return page[start : page.find("</form>", start)] if start >= 0 else ""


def answers_to(actor: RemoteActor, kind: str, ids: set[str]) -> set[str]:
    """Which of `ids` the actor's server received an answer of that type to (among whatever else it got)."""
    answered = set()
    for doc in (r.json() for r in actor.server.posts()):
        obj = doc.get("object")
        if doc.get("type") == kind:
            answered.add(obj.get("id") if isinstance(obj, dict) else obj)
    return answered & ids


def test_allocations_are_answered_per_actor(world: World) -> None:
    dave, erin = stranger(world.remote, "dave"), stranger(world.other, "erin")
    calendar = f"{world.events.url}/calendars/main"
    adds: dict[str, list[dict[str, object]]] = {}
    for actor, count in ((dave, 3), (erin, 2)):
        adds[actor.id] = []
        for n in range(count):
            post = serve_post(actor, f"{actor.name}-{n}", name=f"{actor.name} post {n}")
            add = actor.activity("Add", post, target=calendar, to=[world.events.actor_id])
            response = actor.post(world.http, world.events.inbox, add)
            assert response.status_code == 202 and response.json()["status"] == "processed", response.text
            adds[actor.id].append(add)
    admin = Visitor(world.events, "/login").login()
    try:
        page = html.unescape(admin.get("/admin/followers").text)
        assert "Allocations awaiting approval" in page
        assert f"{dave.id}</a>: 3 waiting" in page and f"{erin.id}</a>: 2 waiting" in page
        assert "Approve all 3" in sender_block(page, dave.id) and "Refuse all 2" in sender_block(page, erin.id)
        assert page.index(dave.id) < page.index(erin.id), "the actor with most waiting comes first"

        allocated_before = total_items(world.http, f"{calendar}/allocated")
        answer = admin.post("/admin/pending/decide", queue="allocations", actor=dave.id, decision="approve")
        assert answer.status_code == 303 and "Approved%203" in answer.headers["location"], answer.headers
        assert total_items(world.http, f"{calendar}/allocated") == allocated_before + 3
        dave_adds = {str(a["id"]) for a in adds[dave.id]}
        wait_until(lambda: answers_to(dave, "Accept", dave_adds) == dave_adds, what="dave's three Accepts")
        page = html.unescape(admin.get("/admin/followers").text)
        assert not sender_block(page, dave.id) and f"{erin.id}</a>: 2 waiting" in page

        answer = admin.post("/admin/pending/decide", queue="allocations", actor=erin.id, decision="refuse")
        assert answer.status_code == 303 and "Refused%202" in answer.headers["location"], answer.headers
        erin_adds = {str(a["id"]) for a in adds[erin.id]}
        wait_until(lambda: answers_to(erin, "Reject", erin_adds) == erin_adds, what="erin's two Rejects")
        assert total_items(world.http, f"{calendar}/allocated") == allocated_before + 3
        assert not sender_block(html.unescape(admin.get("/admin/followers").text), erin.id)

        with Unchanged(world.view(world.events)):
            again = admin.post("/admin/pending/decide", queue="allocations", actor=erin.id, decision="refuse")
            assert "Nothing%20from" in again.headers["location"], again.headers
            odd = admin.post("/admin/pending/decide", queue="nothing-such", actor=erin.id, decision="approve")
            assert "Nothing%20was%20answered" in odd.headers["location"], odd.headers
    finally:
        admin.close()


def test_only_the_admin_answers_for_an_actor(world: World) -> None:
    frank = stranger(world.remote, "frank")
    post = serve_post(frank, f"{frank.name}-0")
    add = frank.activity("Add", post, target=f"{world.events.url}/calendars/main", to=[world.events.actor_id])
    assert frank.post(world.http, world.events.inbox, add).status_code == 202
    visitor = Visitor(world.events, "/login")  # a browser with a session and its CSRF token, not signed in
    try:
        with Unchanged(world.view(world.events)):
            answer = visitor.post("/admin/pending/decide", queue="allocations", actor=frank.id, decision="approve")
            assert answer.status_code in (303, 401, 403) and "Approved" not in answer.headers.get("location", "")
            page = visitor.get("/admin/followers")
            assert frank.id not in page.text
    finally:
        visitor.close()


def test_strangers_events_are_listed_per_actor(world: World) -> None:
    gina = stranger(world.other, "gina")
    welcome = f"{world.blog.url}/posts/welcome"
    events = [remote_event(gina, f"{gina.name}-gig-{n}", post=welcome, name=f"Gina gig {n}") for n in range(2)]
    for event in events:
        response = gina.post(world.http, world.blog.inbox, gina.activity("Create", event, to=[PUBLIC]))
        assert response.status_code == 202 and response.json()["status"] == "processed", response.text
    admin = Visitor(world.blog, "/login").login()
    try:
        page = html.unescape(admin.get("/admin/followers").text)
        assert f"{gina.id}</a>: 2 waiting" in page and "Gina gig 1 on" in sender_block(page, gina.id)
        answer = admin.post("/admin/pending/decide", queue="events", actor=gina.id, decision="approve")
        assert answer.status_code == 303 and "Approved%202" in answer.headers["location"], answer.headers
        listed = {e["id"] for e in world.http.get(f"{welcome}/status").json()["events"]}
        assert {e["id"] for e in events} <= listed
        assert not sender_block(html.unescape(admin.get("/admin/followers").text), gina.id)
    finally:
        admin.close()
