"""A remote reply as the blog keeps it (activities/reply.py): cleaned, bounded, its author's name without markup."""

from __future__ import annotations

import pytest

from activities.errors import ActivityError
from activities.reply import MAX_CONTENT, author_fields, icon_url, in_reply_to, reply_fields, reply_note

NOTE = {"id": "https://social.example/notes/1", "type": "Note", "attributedTo": "https://social.example/users/ada"}


def test_the_content_is_cleaned_to_the_allow_list() -> None:
    fields = reply_fields(
        {**NOTE, "content": '<p onclick="x()">Hi <a href="javascript:alert(1)">you</a><script>alert(2)</script></p>'}
    )
    assert "onclick" not in fields["content"] and "javascript" not in fields["content"]
    assert "alert(2)" not in fields["content"] and fields["content"].startswith("<p>Hi")
    assert fields["url"] == NOTE["id"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "needs content"),
        ("   ", "needs content"),
        (["<p>a list</p>"], "needs content"),
        ("<script>only</script>", "nothing was left"),
        ("x" * (MAX_CONTENT + 1), "longer than"),
    ],
)
def test_a_reply_without_content_or_too_long_is_refused(content: object, reason: str) -> None:
    with pytest.raises(ActivityError, match=reason):
        reply_fields({**NOTE, "content": content})


def test_what_it_answers() -> None:
    assert in_reply_to({"inReplyTo": "https://blog.example/posts/a"}) == "https://blog.example/posts/a"
    assert in_reply_to({"inReplyTo": {"id": "https://blog.example/posts/a"}}) == "https://blog.example/posts/a"
    for bad in (None, "javascript:alert(1)", 42, ["a", "b"]):
        assert in_reply_to({"inReplyTo": bad}) is None


def test_the_author_as_the_page_shows_them() -> None:
    ada = "https://social.example/users/ada"
    shown = author_fields(ada, {"name": "<b>Ada</b> &lt;script&gt;", "url": "javascript:alert(1)"})
    assert shown == {"actor": ada, "name": "Ada", "profile": ada}
    assert author_fields(ada, {"preferredUsername": "ada"})["name"] == "ada"
    assert author_fields(ada, {"name": "x" * 500})["name"] == "x" * 100
    assert icon_url({"icon": {"url": "https://social.example/a.png"}}) == "https://social.example/a.png"
    assert icon_url({"icon": "data:image/png;base64,AAAA"}) is None


def test_the_kept_reply_as_a_note() -> None:
    data = {**reply_fields({**NOTE, "content": "<p>Hi</p>", "published": "2026-12-02T17:00:00Z"}), "actor": NOTE["attributedTo"]}
    note = reply_note(data, "https://blog.example/posts/a")
    assert note == {
        "id": NOTE["id"],
        "type": "Note",
        "attributedTo": NOTE["attributedTo"],
        "inReplyTo": "https://blog.example/posts/a",
        "content": "<p>Hi</p>",
        "url": NOTE["id"],
        "published": "2026-12-02T17:00:00Z",
    }
