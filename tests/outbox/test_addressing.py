from activities.vocab import PUBLIC, recipients
from outbox.addressing import Target, inboxes, is_publicly_addressed

ME = "https://me.example/actor"


def test_recipients_in_order_without_public_sender_or_repeats() -> None:
    activity = {
        "to": [PUBLIC, "https://b.example/actor"],
        "cc": ["https://me.example/actor/followers", "https://b.example/actor", ME],
        "bto": "https://c.example/actor",
        "bcc": ["as:Public", "https://d.example/actor"],
        "audience": ["Public", "https://e.example/group"],
    }
    assert recipients(activity, ME) == [
        "https://b.example/actor",
        "https://me.example/actor/followers",
        "https://c.example/actor",
        "https://d.example/actor",
        "https://e.example/group",
    ]


def test_recipients_skip_non_strings_and_missing_fields() -> None:
    assert recipients({"to": [None, 3, {"id": "x"}, "https://b.example/a"]}, ME) == ["https://b.example/a"]
    assert recipients({}, ME) == []
    assert recipients({"to": None, "cc": []}, ME) == []


def test_publicly_addressed_only_through_to_cc_or_audience() -> None:
    assert is_publicly_addressed({"to": [PUBLIC]})
    assert is_publicly_addressed({"cc": "as:Public"})
    assert is_publicly_addressed({"audience": ["Public"]})
    # blind copies to Public do not make an activity public
    assert not is_publicly_addressed({"bto": [PUBLIC], "bcc": [PUBLIC]})
    assert not is_publicly_addressed({"to": ["https://b.example/actor"]})
    assert not is_publicly_addressed({})


def test_inboxes_prefer_shared_and_group_actors() -> None:
    targets = [
        Target("https://b.example/u/1", "https://b.example/u/1/inbox", "https://b.example/inbox"),
        Target("https://b.example/u/2", "https://b.example/u/2/inbox", "https://b.example/inbox"),
        Target("https://c.example/u/3", "https://c.example/u/3/inbox", None),
        Target("https://c.example/u/4", "https://c.example/u/4/inbox", None),
    ]
    assert inboxes(targets, prefer_shared=True) == {
        "https://b.example/inbox": ["https://b.example/u/1", "https://b.example/u/2"],
        "https://c.example/u/3/inbox": ["https://c.example/u/3"],
        "https://c.example/u/4/inbox": ["https://c.example/u/4"],
    }
    assert list(inboxes(targets, prefer_shared=False)) == [t.inbox for t in targets]


def test_inboxes_of_nobody() -> None:
    assert inboxes([], prefer_shared=True) == {}
