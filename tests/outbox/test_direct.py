"""An activity addressed only to actors the store knows gets its delivery rows in the emitting transaction (no
expansion by the worker); its rollback leaves none; anything else is still expanded by the worker."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import delete, select

from activities.build import activity
from outbox.addressing import Target
from outbox.record import TargetMemory, emit
from store import Store, objects
from store.models import FanOut
from store.models import RemoteActor as RemoteActorRow
from tests.outbox import test_delivery
from tests.outbox.test_delivery import ME, Rig
from tests.support.actors import RemoteActor
from tests.support.fanout import delivery_rows, emit_note
from tests.support.httpserver import FakeServer

rig = test_delivery.rig  # the worker on a real store, posting to loopback sinks


async def know(store: Store, actor: RemoteActor) -> None:
    async with store.write() as session:
        session.add(
            RemoteActorRow(
                id=actor.id, inbox=actor.inbox, shared_inbox=actor.shared_inbox, data=actor.document(), fetched_at=0.0
            )
        )


async def fanout_states(store: Store) -> list[str]:
    async with store.read() as session:
        return list(await session.scalars(select(FanOut.state).order_by(FanOut.id)))


async def test_known_recipient_gets_its_row_at_emit_and_is_delivered(
    rig: Rig, fake_server: Callable[[], FakeServer]
) -> None:
    buyer = rig.remote(fake_server(), "buyer", shared_inbox=False)
    await know(rig.store, buyer)

    sent = await emit_note(rig.store, ME, to=[buyer.id], cc=[])

    rows = await delivery_rows(rig.store, sent["id"])  # before the worker ran
    assert [(r.inbox, r.recipients, r.state) for r in rows] == [(buyer.inbox, [buyer.id], "pending")]
    assert await fanout_states(rig.store) == []  # nothing for the worker to expand
    await rig.worker.drain()
    assert [r.path for r in buyer.server.posts()] == ["/users/buyer/inbox"]
    assert [r.state for r in await delivery_rows(rig.store, sent["id"])] == ["delivered"]


async def test_rollback_leaves_no_delivery(rig: Rig, fake_server: Callable[[], FakeServer]) -> None:
    buyer = rig.remote(fake_server(), "buyer")
    await know(rig.store, buyer)
    doc = activity("Create", ME.new_activity_id(), ME.id, {"type": "Note", "content": "no"}, to=[buyer.id])
    with pytest.raises(RuntimeError):
        async with rig.store.write() as session:
            await emit(session, ME, doc, time.time())
            raise RuntimeError("the caller's transaction fails")
    assert await delivery_rows(rig.store) == [] and await fanout_states(rig.store) == []
    await rig.worker.drain()
    assert buyer.server.posts() == []


async def test_unknown_recipient_or_followers_are_expanded_by_the_worker(
    rig: Rig, fake_server: Callable[[], FakeServer]
) -> None:
    known, stranger = rig.remote(fake_server(), "known"), rig.remote(fake_server(), "stranger")
    await know(rig.store, known)

    to_both = await emit_note(rig.store, ME, to=[known.id, stranger.id], cc=[])
    to_followers = await emit_note(rig.store, ME, to=[known.id])  # cc the followers: none yet

    assert await delivery_rows(rig.store) == [] and await fanout_states(rig.store) == ["pending", "pending"]
    await rig.worker.drain()
    assert {r.inbox for r in await delivery_rows(rig.store, to_both["id"])} == {
        known.shared_inbox,
        stranger.shared_inbox,
    }
    assert [r.state for r in await delivery_rows(rig.store, to_followers["id"])] == ["delivered"]
    assert await fanout_states(rig.store) == ["done", "done"]


async def test_a_remembered_inbox_spares_the_read_and_a_forgotten_actor_is_read_again(
    rig: Rig, fake_server: Callable[[], FakeServer]
) -> None:
    buyer = rig.remote(fake_server(), "buyer", shared_inbox=False)
    await know(rig.store, buyer)
    memory = TargetMemory(seconds=60.0)

    async def emit_to(who: str) -> str:
        doc = activity("Create", ME.new_activity_id(), ME.id, {"type": "Note", "content": "hi"}, to=[who])
        async with rig.store.write() as session:
            await emit(session, ME, doc, time.time(), memory=memory)
        return str(doc["id"])

    first = await emit_to(buyer.id)  # read from the store, then remembered
    async with rig.store.write() as session:  # the store forgets the actor: only the memory still has it
        await session.execute(delete(RemoteActorRow).where(RemoteActorRow.id == buyer.id))
    second = await emit_to(buyer.id)
    assert [[r.inbox for r in await delivery_rows(rig.store, sent)] for sent in (first, second)] == [
        [buyer.inbox],
        [buyer.inbox],
    ]
    assert await fanout_states(rig.store) == []

    memory.seconds = -1.0  # what it keeps from now on has lapsed already
    memory.keep([Target(buyer.id, buyer.inbox, None)])  # lapsed: the store is asked again, and no longer knows it
    third = await emit_to(buyer.id)
    assert await delivery_rows(rig.store, third) == [] and await fanout_states(rig.store) == ["pending"]


async def test_an_activity_emitted_again_under_its_id_replaces_the_stored_one(rig: Rig) -> None:
    doc = activity("Create", ME.new_activity_id(), ME.id, {"type": "Note", "content": "first"}, to=[ME.followers])
    async with rig.store.write() as session:
        await emit(session, ME, doc, time.time())
    again = {**doc, "object": {"type": "Note", "content": "second"}}
    async with rig.store.write() as session:
        await emit(session, ME, again, time.time())
    async with rig.store.read() as session:
        stored = await objects.get(session, doc["id"])
    assert stored is not None and stored.data["object"]["content"] == "second"
