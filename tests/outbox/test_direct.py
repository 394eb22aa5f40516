"""An activity addressed only to actors the store knows gets its delivery rows in the emitting transaction (no
expansion by the worker); its rollback leaves none; anything else is still expanded by the worker."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from activities.build import activity
from outbox.record import emit
from store import Store
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
    assert await fanout_states(rig.store) == ["done"]
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
