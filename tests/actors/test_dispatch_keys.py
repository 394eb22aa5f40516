"""The typed seam's keys (inbox/dispatch.py, actors/kind.py): a listener per ListenerKey and a client-to-server
handler per C2SKey, each registered at most once, and only Accept/Reject keyed by the type they answer."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from actors import blog, events, shop
from actors.context import Context, Services
from actors.kind import C2SKey, Kind, KindSetup
from inbox.dispatch import ANSWER_TYPES, ListenerKey, Listeners, Outcome
from tests.actors.conftest import MakePeer


async def processed(_ctx: Context) -> Outcome:
    return Outcome.PROCESSED


async def ignored(_ctx: Context) -> Outcome:
    return Outcome.IGNORED


async def created(_request: Request, _services: Services, _doc: dict[str, Any]) -> str:
    return "http://events.test/actor/events/one"


async def also_created(_request: Request, _services: Services, _doc: dict[str, Any]) -> str:
    return "http://events.test/actor/events/two"


@pytest.mark.parametrize("kind", sorted(ANSWER_TYPES))
def test_only_answers_are_keyed_by_what_they_answer(kind: str) -> None:
    assert str(ListenerKey(kind, answering="Offer")) == f"{kind} of Offer"
    with pytest.raises(ValueError, match="keyed by the type they answer"):
        ListenerKey(kind)  # an answer to what?
    for other in ("Add", "Offer", "Follow", "Create"):
        with pytest.raises(ValueError, match="keyed by the type they answer"):
            ListenerKey(other, answering="Offer")
    assert ListenerKey("Add") == ListenerKey("Add") and ListenerKey("Add") != ListenerKey("Create")


def test_a_listener_key_is_registered_once() -> None:
    listeners: Listeners[Services] = Listeners()
    listeners.on(ListenerKey("Add"), processed).on(ListenerKey("Accept", answering="Offer"), processed)
    listeners.on(ListenerKey("Accept", answering="Add"), ignored)  # another answered type: another key
    for key in (ListenerKey("Add"), ListenerKey("Accept", answering="Offer")):
        with pytest.raises(ValueError, match="already registered"):
            listeners.on(key, ignored)
        assert listeners.get(key) is processed  # the first stays
    assert listeners.get(ListenerKey("Accept", answering="Add")) is ignored
    assert listeners.get(ListenerKey("Reject", answering="Offer")) is None
    assert ListenerKey("Offer") not in listeners


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"type": "Create", "object": {"type": "Event", "name": "Gig"}}, C2SKey("Create", "Event")),
        ({"type": "Update", "object": {"type": "Article"}}, C2SKey("Update", "Article")),
        ({"type": "Create", "object": "http://events.test/actor/events/gig"}, C2SKey("Create")),
        ({"type": "Delete", "object": {"type": "Event"}}, C2SKey("Delete")),
        ({"type": "Follow", "object": "http://blog.test/actor"}, C2SKey("Follow")),
    ],
)
def test_a_c2s_key_of_an_activity(doc: dict[str, Any], key: C2SKey) -> None:
    assert C2SKey.of(doc) == key


def test_c2s_key_names() -> None:
    assert str(C2SKey("Create", "Event")) == "Create of Event"
    assert str(C2SKey("Delete")) == "Delete"


async def test_a_c2s_handler_is_registered_once(peer: MakePeer) -> None:
    setup = KindSetup(services=(await peer("events")).services, listeners=Listeners())
    setup.on_c2s(C2SKey("Create", "Event"), created).on_c2s(C2SKey("Create", "Article"), also_created)
    with pytest.raises(ValueError, match="already registered"):
        setup.on_c2s(C2SKey("Create", "Event"), also_created)
    assert setup.c2s == {C2SKey("Create", "Event"): created, C2SKey("Create", "Article"): also_created}


@pytest.mark.parametrize(
    ("kind", "listens", "handles"),
    [
        (
            events.KIND,
            {ListenerKey("Add"), ListenerKey("Accept", answering="Offer"), ListenerKey("Reject", answering="Offer")},
            {C2SKey("Create", "Event"), C2SKey("Update", "Event"), C2SKey("Delete")},
        ),
        (shop.KIND, {ListenerKey("Offer")}, set()),
        (
            blog.KIND,
            {
                ListenerKey("Accept", answering="Add"),
                ListenerKey("Reject", answering="Add"),
                ListenerKey("Create"),
                ListenerKey("Update"),
                ListenerKey("Delete"),
            },
            {C2SKey("Create", "Article"), C2SKey("Update", "Article"), C2SKey("Add"), C2SKey("Delete")},
        ),
    ],
)
async def test_each_kind_registers_its_keys_and_cannot_register_twice(
    peer: MakePeer, kind: Kind, listens: set[ListenerKey], handles: set[C2SKey]
) -> None:
    setup = KindSetup(services=(await peer(kind.name)).services, listeners=Listeners())
    kind.register(setup)
    for key in listens:
        assert key in setup.listeners, key
    assert ListenerKey("Follow") not in setup.listeners  # Follow is the core's (peer/follows.py), not a kind's
    assert set(setup.c2s) == handles
    with pytest.raises(ValueError, match="already registered"):
        kind.register(setup)


def test_only_undo_is_keyed_by_what_it_undoes() -> None:
    assert str(ListenerKey("Undo", undoing="Like")) == "Undo of Like"
    assert ListenerKey("Undo", undoing="Like") != ListenerKey("Undo", undoing="Follow") != ListenerKey("Undo")
    for other in ("Delete", "Like", "Create"):
        with pytest.raises(ValueError, match="only Undo"):
            ListenerKey(other, undoing="Like")
