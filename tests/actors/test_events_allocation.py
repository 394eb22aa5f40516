"""Allocation trust on the events peer (actors/events/listeners.py on_add): a trusted sender's post is
allocated at once and answered with an Accept, anyone else's waits in the calendar's pending collection; the
target must be one of our calendars and the post the sender's own. A refusal leaves the store as it was."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actors.events.calendars import allocate_post, allocated_of, create_calendar, pending_of
from actors.events.listeners import on_add
from inbox.dispatch import DuplicateActivity, Outcome
from inbox.errors import Forbidden, Unprocessable
from tests.actors.conftest import MakePeer
from tests.actors.helpers import Peer
from tests.hostile.helpers import Unchanged, serve_post
from tests.support.actors import RemoteActor
from tests.support.httpserver import FakeServer

EVENTS = "http://events.test/actor"


async def calendar_peer(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> tuple[Peer, str, RemoteActor, RemoteActor]:
    """The events peer with one calendar; a trusted blog and a stranger on the blog's host."""
    blog = remote_actor("blog")
    stranger = remote_actor("stranger", server=blog.server)
    events = await peer("events", trusted={blog.id})
    async with events.services.store.write() as session:
        calendar = await create_calendar(session, events.services, "Main", "The main calendar")
    return events, calendar, blog, stranger


def add(sender: RemoteActor, post: str, calendar: str) -> dict[str, Any]:
    return sender.activity("Add", post, target=calendar, to=[EVENTS])


def post_fetches(server: FakeServer) -> list[str]:
    return [r.path for r in server.requests if r.method == "GET" and r.path.startswith("/posts/")]


async def test_a_trusted_senders_post_is_allocated_and_accepted(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> None:
    events, calendar, blog, _ = await calendar_peer(peer, remote_actor)
    post = serve_post(blog, "hello", name="Hello")
    doc = add(blog, post, calendar)
    assert await on_add(events.context(doc)) is Outcome.PROCESSED
    allocated = await events.collection(allocated_of(calendar))
    assert list(allocated) == [post]
    data = allocated[post] or {}
    assert (data.get("author"), data.get("add"), data.get("name")) == (blog.id, doc["id"], "Hello")
    assert await events.collection(pending_of(calendar)) == {}
    [accept] = await events.emitted("Accept")
    assert (accept["object"], accept["to"]) == (doc["id"], [blog.id])
    assert await events.fanout_to(accept["id"]) == [blog.id]
    assert await events.inbox_state(doc["id"]) == "processed"


async def test_an_untrusted_senders_post_waits_in_pending(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> None:
    events, calendar, _, stranger = await calendar_peer(peer, remote_actor)
    post = serve_post(stranger, "mine", author=stranger.id)
    doc = add(stranger, post, calendar)
    assert await on_add(events.context(doc)) is Outcome.PROCESSED
    pending = await events.collection(pending_of(calendar))
    assert list(pending) == [doc["id"]]
    data = pending[doc["id"]] or {}
    assert (data.get("post"), data.get("author")) == (post, stranger.id)
    assert await events.collection(allocated_of(calendar)) == {}
    assert await events.emitted("Accept") == [] and await events.emitted("Reject") == []
    assert await events.inbox_state(doc["id"]) == "processed"


async def test_an_untrusted_senders_post_allocated_before_is_accepted_again(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> None:
    """Once the admin allocated a post, the same post sent again is answered at once, whoever is trusted."""
    events, calendar, _, stranger = await calendar_peer(peer, remote_actor)
    post = serve_post(stranger, "mine", author=stranger.id)
    first = add(stranger, post, calendar)
    async with events.services.store.write() as session:  # what the admin's approval does
        await allocate_post(session, events.services, calendar, post, {"author": stranger.id}, first["id"], stranger.id)
    again = add(stranger, post, calendar)
    assert await on_add(events.context(again)) is Outcome.PROCESSED
    assert await events.collection(pending_of(calendar)) == {}
    accepted = {a["object"] for a in await events.emitted("Accept")}
    assert accepted == {first["id"], again["id"]}


async def test_a_target_that_is_not_a_calendar_is_unprocessable(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> None:
    events, calendar, blog, _ = await calendar_peer(peer, remote_actor)
    post = serve_post(blog, "hello")
    for target in (f"{calendar}-nope", "http://events.test/actor/outbox", blog.id):
        with Unchanged(events.view, settle=False), pytest.raises(Unprocessable, match="not a calendar"):
            await on_add(events.context(add(blog, post, target)))
    assert post_fetches(blog.server) == []  # refused before the post was fetched


async def test_a_post_not_attributed_to_the_sender_is_forbidden(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> None:
    """Even a trusted sender cannot allocate a post someone else wrote on its host."""
    events, calendar, blog, stranger = await calendar_peer(peer, remote_actor)
    post = serve_post(stranger, "theirs", author=stranger.id)
    with Unchanged(events.view, settle=False), pytest.raises(Forbidden, match="not attributed"):
        await on_add(events.context(add(blog, post, calendar)))
    assert post_fetches(blog.server) == ["/posts/theirs"]


async def test_a_post_on_another_host_is_forbidden(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor], fake_server: Callable[[], FakeServer]
) -> None:
    events, calendar, blog, _ = await calendar_peer(peer, remote_actor)
    elsewhere = remote_actor("elsewhere", server=fake_server())
    post = serve_post(elsewhere, "hello", author=blog.id)
    with Unchanged(events.view, settle=False), pytest.raises(Forbidden, match="not on the actor's host"):
        await on_add(events.context(add(blog, post, calendar)))
    assert post_fetches(elsewhere.server) == []


@pytest.mark.parametrize(("fields", "served"), [({"type": "Event"}, True), ({}, False)])
async def test_an_object_that_is_not_a_post_is_unprocessable(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor], fields: dict[str, Any], served: bool
) -> None:
    events, calendar, blog, _ = await calendar_peer(peer, remote_actor)
    post = serve_post(blog, "odd", **fields) if served else blog.server.url("/posts/missing")
    with Unchanged(events.view, settle=False), pytest.raises(Unprocessable):
        await on_add(events.context(add(blog, post, calendar)))


async def test_the_same_add_twice_is_processed_once(peer: MakePeer, remote_actor: Callable[..., RemoteActor]) -> None:
    events, calendar, blog, _ = await calendar_peer(peer, remote_actor)
    doc = add(blog, serve_post(blog, "hello"), calendar)
    assert await on_add(events.context(doc)) is Outcome.PROCESSED
    with Unchanged(events.view, settle=False), pytest.raises(DuplicateActivity):
        await on_add(events.context(doc))
    assert len(await events.emitted("Accept")) == 1
