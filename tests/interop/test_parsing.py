"""Everything we serve parses in Fedify's vocabulary: the three actor documents, an Article, an Event, and
every collection with its first page, each fetched by Fedify's actor with a signed GET (as a server with
authorized fetch does) and parsed without error. Every term they use is defined by their @context, so
no JSON-LD consumer silently drops one (and `formerType: "Event"` means the AS2 type, not a URL).
The Order, the one private object, is in test_orders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from activities.order import product_key
from tests.interop.conftest import Json, Rose, World
from tests.interop.fedify import FedifyPeer

pytestmark = pytest.mark.interop


@dataclass(frozen=True)
class Served:
    kind: str
    path: Callable[[World], str]
    type: str
    listed: bool = False  # the world guarantees the collection lists something

    def url(self, rose: Rose, world: World) -> str:
        path = self.path(world)
        return path if path.startswith("http") else rose.peer(self.kind).url + path


def fixed(path: str) -> Callable[[World], str]:
    return lambda _world: path


def products_tickets(world: World) -> str:
    return f"/products/{product_key(world.event)}/tickets"


DOCUMENTS = {
    **{
        f"{kind} actor": Served(kind, fixed("/actor"), kind_type)
        for kind, kind_type in (("blog", "Service"), ("events", "Application"), ("shop", "Service"))
    },
    "article": Served("blog", lambda w: w.post, "Article"),
    "event": Served("events", lambda w: w.event, "Event"),
}
COLLECTIONS = {
    **{
        f"{kind} {name}": Served(kind, fixed(f"/actor/{name}"), "OrderedCollection")
        for kind in ("blog", "events", "shop")
        for name in ("outbox", "followers", "following")
    },
    "blog /posts": Served("blog", fixed("/posts"), "OrderedCollection", listed=True),
    "events /calendars": Served("events", fixed("/calendars"), "OrderedCollection", listed=True),
    "events /calendars/main": Served("events", fixed("/calendars/main"), "OrderedCollection", listed=True),
    "events /calendars/main/allocated": Served(
        "events", fixed("/calendars/main/allocated"), "OrderedCollection", listed=True
    ),
    "events /events": Served("events", fixed("/events"), "OrderedCollection", listed=True),
    "events /events/<slug>/sold": Served("events", lambda w: f"{w.event}/sold", "OrderedCollection", listed=True),
    "shop /products/<key>/tickets": Served("shop", products_tickets, "OrderedCollection", listed=True),
}


def parsed(fedify: FedifyPeer, url: str) -> Json:
    got = fedify.lookup(url)  # signed: Fedify's authenticated document loader
    assert got["ok"], f"Fedify could not fetch or parse {url}: {got.get('error')}"
    assert got["dropped"] == [], f"terms of {url} a JSON-LD consumer drops: {got['dropped']}"
    return got


@pytest.mark.parametrize("served", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_document_parses(fedify: FedifyPeer, rose: Rose, world: World, served: Served) -> None:
    url = served.url(rose, world)
    got = parsed(fedify, url)
    assert (got["type"], got["id"]) == (served.type, url)
    raw = got["raw"]
    for field in ("name", "content", "summary", "attribution", "inbox", "outbox", "followers", "following"):
        if field in got:
            source = {"attribution": "attributedTo"}.get(field, field)
            assert got[field] == raw.get(source), f"{field}: Fedify read {got[field]!r}, we served {raw.get(source)!r}"
    if served.type in ("Service", "Application"):
        assert got["publicKeyId"] == raw["publicKey"]["id"]
        assert got["sharedInbox"] == raw["endpoints"]["sharedInbox"]


@pytest.mark.parametrize("served", COLLECTIONS.values(), ids=COLLECTIONS.keys())
def test_collection_and_its_first_page_parse(fedify: FedifyPeer, rose: Rose, world: World, served: Served) -> None:
    url = served.url(rose, world)
    collection = parsed(fedify, url)
    assert (collection["type"], collection["id"]) == (served.type, url)
    assert collection["totalItems"] == collection["raw"]["totalItems"]
    first = collection["first"]
    assert first == collection["raw"]["first"]

    page = parsed(fedify, first)
    assert (page["type"], page["id"], page["partOf"]) == ("OrderedCollectionPage", first, url)
    raw_items = [i if isinstance(i, str) else i["id"] for i in page["raw"]["orderedItems"]]
    assert page["items"] == raw_items
    assert page["totalItems"] == collection["totalItems"]
    if served.listed:
        assert raw_items, f"{url} lists nothing"


def test_the_shops_orders_are_not_readable_by_another_server(fedify: FedifyPeer, rose: Rose) -> None:
    """/orders lists every order: a signed GET from another server (not the shop's admin) gets nothing."""
    got = fedify.lookup(f"{rose.shop.url}/orders")
    assert not got["ok"], got
