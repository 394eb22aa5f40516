import json

import pytest

from activities.errors import ActivityError
from activities.parse import (
    MAX_DEPTH,
    MAX_ID_LENGTH,
    address_list,
    check_url,
    id_of,
    load_json,
    parse_activity,
    same_origin,
)
from activities.vocab import PUBLIC

ACTOR = "https://a.example/actor"


def follow(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://a.example/activities/1",
        "type": "Follow",
        "actor": ACTOR,
        "object": "https://b.example/actor",
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


# load_json


@pytest.mark.parametrize("body", [b"", b"{", b'{"a": }', b"\xff\xfe", b'{"a": 1} trailing', b"{'a': 1}", b"NaN!"])
def test_malformed_json_is_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(ActivityError) as raised:
        load_json(body)
    assert raised.value.reason


@pytest.mark.parametrize("body", [b"[]", b"[{}]", b'"text"', b"42", b"null", b"true"])
def test_a_body_that_is_not_an_object_is_refused(body: bytes) -> None:
    with pytest.raises(ActivityError, match="JSON object"):
        load_json(body)


def test_nesting_10000_deep_is_refused_before_decoding() -> None:
    for body in (b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
        with pytest.raises(ActivityError, match="nested deeper"):
            load_json(body)


def test_nesting_limit_is_exact() -> None:
    # depth counts the outer object: MAX_DEPTH levels pass, one more is refused
    def nested(depth: int) -> bytes:
        return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)

    assert isinstance(load_json(nested(MAX_DEPTH)), dict)
    with pytest.raises(ActivityError, match="nested deeper"):
        load_json(nested(MAX_DEPTH + 1))


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    tricky = {"content": "[" * 1000 + '\\"{' * 500, "summary": '"\\' + "{" * 100}
    assert load_json(json.dumps(tricky).encode()) == tricky


def test_valid_object_loads() -> None:
    assert load_json(json.dumps(follow()).encode())["type"] == "Follow"


# parse_activity


def test_parses_a_follow() -> None:
    activity = parse_activity(follow(to=[PUBLIC, "https://b.example/actor"], cc="https://a.example/followers"))
    assert activity.type == "Follow"
    assert activity.actor == ACTOR
    assert activity.object_id == "https://b.example/actor"
    assert activity.to == (PUBLIC, "https://b.example/actor")
    assert activity.cc == ("https://a.example/followers",)
    assert activity.raw["id"] == "https://a.example/activities/1"


@pytest.mark.parametrize(
    "bad_id",
    [
        None,
        "",
        42,
        ["https://a.example/1", "https://a.example/2"],
        "ftp://a.example/1",
        "javascript:alert(1)",
        "/activities/1",
        "https://",
        "https://a.example/" + "x" * MAX_ID_LENGTH,
        {"id": "https://a.example/1"},
    ],
)
def test_bad_activity_ids_are_refused(bad_id: object) -> None:
    doc = follow()
    if bad_id is None:
        del doc["id"]
    else:
        doc["id"] = bad_id
    with pytest.raises(ActivityError):
        parse_activity(doc)


@pytest.mark.parametrize("actor", [None, "", "not a url", "file:///etc/passwd", {"name": "no id"}, [ACTOR, ACTOR], 7])
def test_bad_actors_are_refused(actor: object) -> None:
    doc = follow(actor=actor) if actor is not None else {k: v for k, v in follow().items() if k != "actor"}
    with pytest.raises(ActivityError):
        parse_activity(doc)


def test_actor_may_be_an_embedded_object_or_a_one_item_list() -> None:
    assert parse_activity(follow(actor={"id": ACTOR, "type": "Person"})).actor == ACTOR
    assert parse_activity(follow(actor=[ACTOR])).actor == ACTOR
    assert parse_activity(follow(actor=[{"id": ACTOR}])).actor == ACTOR


@pytest.mark.parametrize("kind", [None, "", 5, ["" * 3], "X" * 65, [], [1]])
def test_bad_types_are_refused(kind: object) -> None:
    doc = follow(type=kind) if kind is not None else {k: v for k, v in follow().items() if k != "type"}
    with pytest.raises(ActivityError, match="type"):
        parse_activity(doc)


def test_a_list_of_types_takes_the_first() -> None:
    assert parse_activity(follow(type=["Follow", "https://example.org/ns#Extra"])).type == "Follow"


def test_object_lists() -> None:
    assert parse_activity(follow(object=["https://b.example/actor"])).object_id == "https://b.example/actor"
    embedded = parse_activity(follow(object=[{"id": "https://b.example/note", "type": "Note"}]))
    assert embedded.object_doc == {"id": "https://b.example/note", "type": "Note"}
    with pytest.raises(ActivityError, match="object"):
        parse_activity(follow(object=["https://b.example/1", "https://b.example/2"]))
    with pytest.raises(ActivityError, match="object"):
        parse_activity(follow(object=42))
    with pytest.raises(ActivityError, match="object"):
        parse_activity(follow(object="https://b.example/" + "x" * MAX_ID_LENGTH))


def test_object_id_of_a_bad_reference_raises() -> None:
    activity = parse_activity(follow(object="not a url"))
    with pytest.raises(ActivityError):
        _ = activity.object_id
    with pytest.raises(ActivityError):
        _ = parse_activity(follow(object={"type": "Note"})).object_id


def test_address_lists() -> None:
    doc = {"to": "https://x.example/a", "cc": [{"id": "https://x.example/b"}, "https://x.example/c"]}
    assert address_list(doc, "to") == ("https://x.example/a",)
    assert address_list(doc, "cc") == ("https://x.example/b", "https://x.example/c")
    assert address_list(doc, "bcc") == ()
    for bad in ([1], [None], [{"name": "no id"}], ["x" * (MAX_ID_LENGTH + 1)]):
        with pytest.raises(ActivityError, match="URL strings"):
            address_list({"to": bad}, "to")


def test_every_address_field_is_parsed_as_a_tuple() -> None:
    activity = parse_activity(
        follow(to=["https://x/1"], cc=["https://x/2"], bto=["https://x/3"], bcc=["https://x/4"], audience="https://x/5")
    )
    fields = (activity.to, activity.cc, activity.bto, activity.bcc, activity.audience)
    assert fields == (("https://x/1",), ("https://x/2",), ("https://x/3",), ("https://x/4",), ("https://x/5",))


def test_summary_must_be_short_text() -> None:
    assert parse_activity(follow(summary="sold out")).summary == "sold out"
    with pytest.raises(ActivityError, match="summary"):
        parse_activity(follow(summary=["not", "text"]))
    with pytest.raises(ActivityError, match="summary"):
        parse_activity(follow(summary="x" * 5001))


# helpers


def test_check_url_and_id_of() -> None:
    assert check_url("http://127.0.0.1:8001/actor", "id") == "http://127.0.0.1:8001/actor"
    assert id_of({"id": "https://a.example/x"}, "object") == "https://a.example/x"
    with pytest.raises(ActivityError, match=r"object\.id"):
        id_of({"id": 3}, "object")


def test_same_origin_compares_scheme_host_and_port() -> None:
    assert same_origin("https://a.example/x", "https://A.example/y")
    assert not same_origin("https://a.example/x", "http://a.example/x")
    assert not same_origin("https://a.example/x", "https://a.example:8443/x")
    assert not same_origin("https://a.example/x", "https://evil.example/x")
    assert not same_origin("https://a.example.evil.example/x", "https://a.example/x")


TRICKY_URLS = [
    "http://a.example",
    "https://A.Example:443/x?y#z",
    "http://a.example:/x",
    "http://a.example:65535/",
    "http://a.example:65536/",
    "http://a.example:99999/",
    "http://a.example:0x50/",
    "http://a.example:-1/",
    "http://user:pw@a.example:80/",
    "http://evil.example@a.example/",
    "http://a.example\t.evil/",
    "http://a.ex\nample/",
    "http://a.example/\tpath",
    "http://a.example/p@evil.example:99/",
    "http://a.example?x=@evil.example",
    "http://a.example#@evil.example",
    "http://[::1]:8080/",
    "http://[::1/",
    "http://%41.example/",
    "HTTP://a.example/",
    "http:/a.example/",
    "http:///x",
    "http://:80/",
    "ftp://a.example/",
    " http://a.example/",
    "http://a.example /",
    "http://a.example/\u00e9",
    "http://\u00e9.example/",
    "http://a.example/\x00",
    "http://a.example:8\u0661/",
]


@pytest.mark.parametrize("url", TRICKY_URLS)
def test_origins_are_those_urlsplit_gives(url: str) -> None:
    """check_url and same_origin parse common URLs without urlsplit: exactly as urlsplit would."""
    from urllib.parse import urlsplit

    from activities.parse import _origin

    def expected() -> tuple[str, str | None, int | None]:
        parts = urlsplit(url)
        return parts.scheme, parts.hostname, parts.port

    _origin.cache_clear()
    try:
        want: object = expected()
    except ValueError:
        with pytest.raises(ValueError):
            _origin.__wrapped__(url)
        return
    assert _origin.__wrapped__(url) == want


def test_origins_of_many_generated_urls_are_those_urlsplit_gives() -> None:
    import random
    from urllib.parse import urlsplit

    from activities.parse import _origin

    pieces = ["http", "https", "HTTP", ":", "//", "/", "a", "B", "0", "9", ".", "-", "@", "[", "]", "%", "?", "#",
              "\t", "\n", " ", "\x00", "\u00e9", "65535", "65536", "80", "::1", "x.example"]
    chance = random.Random(16)
    for _ in range(20_000):
        url = "".join(chance.choice(pieces) for _ in range(chance.randint(1, 12)))
        if chance.random() < 0.7:
            url = chance.choice(["http://", "https://"]) + url
        try:
            parts = urlsplit(url)
            want: object = (parts.scheme, parts.hostname, parts.port)
        except ValueError:
            want = ValueError
        try:
            got: object = _origin.__wrapped__(url)
        except ValueError:
            got = ValueError
        assert got == want, url
