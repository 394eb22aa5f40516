"""One untrusted actor cannot queue any number of allocations for the admin: a limit per actor (and per host);
the admin's answer frees a place."""

from __future__ import annotations

import secrets

from actors.pending import PER_ACTOR as PENDING_PER_ACTOR
from tests.hostile.conftest import KEYS, World
from tests.hostile.helpers import Unchanged, Visitor, assert_refused, serve_post
from tests.support.actors import RemoteActor, key_pair


def test_an_untrusted_actor_keeps_only_so_many_allocations_waiting(world: World) -> None:
    dave = RemoteActor(world.remote, f"dave-{secrets.token_hex(3)}", key_pair(next(KEYS)))
    calendar = f"{world.events.url}/calendars/main"

    def add(n: int) -> dict[str, object]:
        post = serve_post(dave, f"{dave.name}-{n}")
        return dave.activity("Add", post, target=calendar, to=[world.events.actor_id])

    waiting = [add(n) for n in range(PENDING_PER_ACTOR)]
    for activity in waiting:
        response = dave.post(world.http, world.events.inbox, activity)
        assert response.status_code == 202 and response.json()["status"] == "processed", response.text
    with Unchanged(world.view(world.events)):
        response = dave.post(world.http, world.events.inbox, add(PENDING_PER_ACTOR))
    assert_refused(response, 422, f"{PENDING_PER_ACTOR} allocations from this actor wait for the admin")
    # another untrusted actor is not held back by dave's flood
    erin = RemoteActor(world.other, f"erin-{secrets.token_hex(3)}", key_pair(next(KEYS)))
    post = serve_post(erin, "erins-post")
    response = erin.post(world.http, world.events.inbox, erin.activity("Add", post, target=calendar))
    assert response.status_code == 202, response.text
    # the admin declines one of dave's: one place is free again
    admin = Visitor(world.events, "/login").login()
    decided = admin.post("/calendars/decide", calendar=calendar, add=str(waiting[0]["id"]), decision="reject")
    assert decided.status_code == 303, decided.text[:300]
    admin.close()
    response = dave.post(world.http, world.events.inbox, add(PENDING_PER_ACTOR + 1))
    assert response.status_code == 202, response.text
    with Unchanged(world.view(world.events)):
        response = dave.post(world.http, world.events.inbox, add(PENDING_PER_ACTOR + 2))
    assert_refused(response, 422, "wait for the admin")
