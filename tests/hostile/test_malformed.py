"""Malformed, oversized and odd bodies at the inbox: each refused with its own status and reason (signed where
the point is the body, so the signature is not what refuses), the store exactly as it was."""

from __future__ import annotations

import json
import select
import socket
import time
from typing import Any

import pytest

from store.models import InboxActivity
from tests.hostile.conftest import World
from tests.hostile.helpers import AS2, Unchanged, assert_refused, diff, offer, serve_event

TEN_MB = 10 * 1024 * 1024


def signed_raw(world: World, body: bytes, *, kind: str = "events") -> tuple[int, dict[str, Any]]:
    peer = world.peers[kind]
    headers = world.alice.cavage_headers("POST", peer.inbox, body)
    response = world.http.post(peer.inbox, content=body, headers=headers)
    return response.status_code, response.json()


def refused_body(world: World, body: bytes, status: int, reason: str, kind: str = "events") -> None:
    peer = world.peers[kind]
    with Unchanged(world.view(peer)):
        response = world.alice.post(world.http, peer.inbox, body)
    assert_refused(response, status, reason)


def like(world: World, **changes: Any) -> dict[str, Any]:
    activity = world.alice.activity("Like", world.events.actor_id)
    activity.update(changes)
    return {k: v for k, v in activity.items() if v is not None}


@pytest.mark.parametrize(
    "body",
    [b'{"type": "Like",', b"{'type': 'Like'}", b'{"a": 1} trailing', b"\xff\xfe{}", b"", b"{]"],
    ids=["truncated", "single-quotes", "trailing", "not-utf8", "empty", "mismatched"],
)
def test_malformed_json(world: World, body: bytes) -> None:
    refused_body(world, body, 400, "malformed JSON")


@pytest.mark.parametrize("body", [b"[]", b'[{"type": "Like"}]', b'"Like"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object(world: World, body: bytes) -> None:
    refused_body(world, body, 400, "must be a JSON object")


def test_nesting_ten_thousand_deep(world: World) -> None:
    for body in (
        b"[" * 10_000 + b"]" * 10_000,
        b'{"type": "Like", "object": ' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"}",
    ):
        refused_body(world, body, 400, "nested deeper than")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html", None],
)
def test_wrong_content_type(world: World, content_type: str | None) -> None:
    body = json.dumps(like(world)).encode()
    headers = world.alice.cavage_headers("POST", world.events.inbox, body)
    headers.pop("content-type")
    if content_type:
        headers["content-type"] = content_type
    with Unchanged(world.view(world.events)):
        response = world.http.post(world.events.inbox, content=body, headers=headers)
    assert_refused(response, 415, "must be application/activity+json")


def _raw_post(port: int, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head.encode())
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    data = b""
    sock.settimeout(30)
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, json.loads(rest[:length])


def test_ten_megabytes_declared_is_refused_before_reading_it(world: World) -> None:
    """Content-Length: 10 MB, and only 64 KB sent: the 413 comes back without waiting for the rest."""
    with Unchanged(world.view(world.events)):
        sock = _raw_post(
            world.events.port,
            f"POST /actor/inbox HTTP/1.1\r\nHost: 127.0.0.1:{world.events.port}\r\n"
            f"Content-Type: {AS2}\r\nContent-Length: {TEN_MB}\r\n\r\n",
        )
        try:
            sock.sendall(b"{" + b" " * 65535)
            status, body = _read_response(sock)
        finally:
            sock.close()
    assert status == 413 and "larger than" in body["error"], body


def test_ten_megabytes_chunked_is_cut_off(world: World) -> None:
    """No length declared: the peer stops reading at its limit and answers 413 long before 10 MB arrive."""
    sent = 0
    with Unchanged(world.view(world.events)):
        sock = _raw_post(
            world.events.port,
            f"POST /actor/inbox HTTP/1.1\r\nHost: 127.0.0.1:{world.events.port}\r\n"
            f"Content-Type: {AS2}\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
        try:
            try:
                while sent < TEN_MB:
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable:
                        break
                    sock.sendall(chunk)
                    sent += 0x10000
                    time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                pass
            status, body = _read_response(sock)
        finally:
            sock.close()
    assert status == 413 and "larger than" in body["error"], body
    assert sent < 4 * 1024 * 1024, f"the client could send {sent} bytes before the refusal"


def test_ten_megabytes_signed_is_refused_by_size_not_signature(world: World) -> None:
    body = json.dumps(like(world, summary="x" * TEN_MB)).encode()
    with Unchanged(world.view(world.events)):
        response = world.alice.post(world.http, world.events.inbox, body)
    assert_refused(response, 413, "larger than")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"id": None}, "id must be a URL string"),
        ({"id": 5}, "id must be a URL string"),
        ({"id": "urn:uuid:1234"}, "id must be an http(s) URL"),
        ({"id": "javascript:alert(1)"}, "id must be an http(s) URL"),
        ({"id": "http://[::1/activities/1"}, "id must be an http(s) URL"),
        ({"id": "http://127.0.0.1:99999/activities/1"}, "id must be an http(s) URL"),
        ({"actor": "http://a.example:port/actor"}, "actor must be an http(s) URL"),
        ({"type": None}, "type must be a short string"),
        ({"type": 5}, "type must be a short string"),
        ({"type": ""}, "type must be a short string"),
        ({"type": ["Like", 5]}, "type must be a short string"),
        ({"actor": None}, "actor must be a URL string"),
        ({"actor": 5}, "actor must be a URL string"),
        ({"actor": {"type": "Person"}}, "actor.id must be a URL string"),
        ({"actor": ["https://a.example/1", "https://a.example/2"]}, "actor must be a URL string"),
        ({"object": 5}, "object must be a URL or an object"),
        ({"object": [1, 2]}, "object must be a URL or an object"),
        ({"target": True}, "target must be a URL or an object"),
        ({"result": 1.5}, "result must be a URL or an object"),
        ({"to": 5}, "to must hold URL strings"),
        ({"cc": [{"type": "Person"}]}, "cc must hold URL strings"),
        ({"bto": [None]}, "bto must hold URL strings"),
        ({"summary": 5}, "summary must be a string"),
    ],
)
def test_missing_or_wrongly_typed_fields(world: World, changes: dict[str, Any], reason: str) -> None:
    activity = world.alice.activity("Like", world.events.actor_id)
    activity.update(changes)
    activity = {k: v for k, v in activity.items() if v is not None}
    refused_body(world, json.dumps(activity).encode(), 400, reason)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"type": "T" * 65}, "type must be a short string"),
        ({"summary": "s" * 5001}, "summary is longer than 5000"),
        ({"object": "https://a.example/" + "o" * 3000}, "object is longer than 2048"),
        ({"to": ["https://a.example/" + "t" * 3000]}, "to must hold URL strings"),
        ({"type": "Add", "target": {"id": "https://a.example/" + "g" * 3000}}, "target.id is longer than 2048"),
    ],
)
def test_huge_strings(world: World, changes: dict[str, Any], reason: str) -> None:
    activity = world.alice.activity("Like", world.remote.url("/posts/p"))
    activity.update(changes)
    refused_body(world, json.dumps(activity).encode(), 400, reason)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers(world: World, constant: str) -> None:
    """Python's decoder takes NaN and Infinity; JSON (and PostgreSQL's json type) do not."""
    activity = world.alice.activity("Like", world.events.actor_id, rating="@@")
    refused_body(world, json.dumps(activity).replace('"@@"', constant).encode(), 400, "malformed JSON")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", "/activities/nul\u0000", "id must be an http(s) URL"),
        ("id", "/activities/new\nline", "id must be an http(s) URL"),
        ("type", "Li\u0000ke", "type must be a short string"),
        ("object", "/posts/\u0000", "object must be a URL or an object"),
    ],
)
def test_control_characters(world: World, field: str, value: str, reason: str) -> None:
    """PostgreSQL cannot store NUL in text: such ids must be refused as malformed, not crash the insert."""
    activity = world.alice.activity("Like", world.events.actor_id)
    activity[field] = world.remote.url(value) if value.startswith("/") else value
    refused_body(world, json.dumps(activity).encode(), 400, reason)


def test_huge_id(world: World) -> None:
    activity = world.alice.activity("Like", world.events.actor_id, id=world.remote.url("/activities/" + "i" * 3000))
    refused_body(world, json.dumps(activity).encode(), 400, "id is longer than 2048")


@pytest.mark.parametrize(
    ("kind", "activity", "reason"),
    [
        ("blog", {"type": "Delete"}, "object must be a URL string"),
        ("blog", {"type": "Update", "object": {"type": "Event"}}, "object.id must be a URL string"),
        ("events", {"type": "Follow"}, "object must be a URL string"),
        ("events", {"type": "Follow", "object": {"type": "Person"}}, "object.id must be a URL string"),
        ("events", {"type": "Undo"}, "object must be a URL string"),
        ("events", {"type": "Add", "object": "{remote}/posts/p"}, "target must be a URL string"),
        ("events", {"type": "Add", "target": "{events}/calendars/main"}, "object must be a URL string"),
        ("shop", {"type": "Accept"}, "Accept needs an object"),
    ],
)
def test_fields_a_listener_needs(world: World, kind: str, activity: dict[str, Any], reason: str) -> None:
    """Well-formed as an activity, but missing what its type needs: refused as malformed, not a crash."""
    doc = world.alice.activity(activity["type"], None)
    for key, value in activity.items():
        doc[key] = (
            value.format(remote=world.remote.base_url, events=world.events.url) if isinstance(value, str) else value
        )
    status = 422 if reason.startswith("Accept") else 400
    refused_body(world, json.dumps(doc).encode(), status, reason, kind=kind)


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        ({"type": "Note"}, "must be an Order"),
        ({"quantity": "lots"}, "quantity must be a whole number"),
        ({"quantity": 0}, "quantity must be between 1 and 10"),
        ({"quantity": 10**30}, "quantity must be between 1 and 10"),
        ({"customer": "Ada"}, "needs a customer"),
        ({"customer": {"name": "Ada", "email": "not an address"}}, "email must be an address"),
        ({"customer": {"name": "A" * 5000, "email": "ada@example.org"}}, "name is longer than 200"),
        ({"customer": {"name": "", "email": "ada@example.org"}}, "name is required"),
        ({"customer": {"name": ["Ada"], "email": "ada@example.org"}}, "name must be text"),
        ({"maximumAttendeeCapacity": "lots"}, "maximumAttendeeCapacity must be an integer"),
        ({"maximumAttendeeCapacity": True}, "maximumAttendeeCapacity must be an integer"),
        ({"price": {"value": 1}}, "price must be a number"),
        ({"price": "twelve"}, "offered price is not a number"),
        ({"orderedItem": None}, "orderedItem must be a URL string"),
    ],
)
def test_malformed_offers(world: World, order: dict[str, Any], reason: str) -> None:
    event = serve_event(world.seller, "malformed-target", capacity=10, price="12.00")
    activity = offer(world.seller, world.shop, event)
    activity["object"].update(order)
    activity["object"] = {k: v for k, v in activity["object"].items() if v is not None}
    with Unchanged(world.view(world.shop)):
        response = world.seller.post(world.http, world.shop.inbox, activity)
    assert_refused(response, 400, reason)


@pytest.mark.parametrize("kind", ["Dance", "Question", "TentativeAccept", ["Like", "Custom"]])
def test_unknown_activity_types_are_kept_and_ignored(world: World, kind: Any) -> None:
    view = world.view(world.events)
    view.settle()
    before = view.snapshot()
    activity = world.alice.activity("x", world.events.actor_id)
    activity["type"] = kind
    response = world.alice.post(world.http, world.events.inbox, activity)
    assert response.status_code == 202 and response.json()["status"] == "ignored", response.text
    changes = diff(before, view.snapshot())
    assert list(changes) == ["inbox_activities"], changes
    assert changes["inbox_activities"]["removed"] == []
    (row,) = view.rows(InboxActivity, InboxActivity.id == activity["id"])
    assert row.state == "ignored" and row.actor == world.alice.id
    with Unchanged(view):  # and its replay changes nothing
        assert world.alice.post(world.http, world.events.inbox, activity).json()["status"] == "duplicate"
