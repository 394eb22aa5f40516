"""Reading Ghost exports of every age, and Ghost's HTML as the blog's Markdown: pure, no store."""

from __future__ import annotations

import json

import pytest

from activities.markdown import render_markdown
from actors.blog.ghost_content import image_refs, link_instead, resolve, source_of, to_markdown
from actors.blog.ghost_export import NotAGhostExport, parse_export


def test_an_old_export_without_the_db_wrapper_with_page_flags_milliseconds_and_mobiledoc() -> None:
    mobiledoc = {
        "version": "0.3.1",
        "cards": [["card-markdown", {"cardName": "card-markdown", "markdown": "# Hi\n\n*old*"}]],
    }
    raw = json.dumps(
        {
            "meta": {"exported_on": 1500000000000, "version": "1.25.0"},
            "data": {
                "posts": [
                    {
                        "id": 7,
                        "uuid": "u-7",
                        "title": "Old",
                        "slug": "old",
                        "mobiledoc": json.dumps(mobiledoc),
                        "html": None,
                        "page": False,
                        "status": "published",
                        "published_at": 1500000000000,
                    },
                    {
                        "id": 8,
                        "title": "About",
                        "slug": "about",
                        "markdown": "Hello",
                        "page": 1,
                        "status": "published",
                        "image": "/content/images/me.jpg",
                    },
                ],
                "tags": [{"id": 1, "name": "news"}],
                "posts_tags": [{"post_id": 7, "tag_id": 1}],
            },
        }
    ).encode()
    old, about = parse_export(raw).posts
    assert (old.key, old.page, old.published_at, old.tags) == ("u-7", False, 1500000000.0, ("news",))
    assert source_of(old) == "# Hi\n\n*old*\n"
    assert (about.key, about.page, about.feature_image) == ("8", True, "/content/images/me.jpg")  # no uuid: its id
    assert resolve("/content/images/me.jpg", "https://old.example") == ("https://old.example/content/images/me.jpg", "")
    assert resolve("/content/images/me.jpg", "")[0] is None


def test_ghost_html_becomes_markdown_the_blog_renders_the_same() -> None:
    html = (
        "<h3>Menu</h3><ol><li>Soup <em>of the day</em></li><li>Bread<ul><li>rye</li></ul></li></ol>"
        '<p>Call <a href="https://example.org/call">us</a> or <a href="javascript:alert(1)">this</a>; <s>gone</s>.</p>'
        '<hr><div class="kg-card kg-callout-card"><div class="kg-callout-text">Doors at <b>7</b></div></div>'
        "<style>p{color:red}</style><form><input name=x></form>"
    )
    source = to_markdown(html)
    rendered = render_markdown(source, "https://blog.example/media/")
    for part in ("<h3>Menu</h3>", "<em>of the day</em>", "<li>rye</li>", "<s>gone</s>", "<hr>", "<strong>7</strong>"):
        assert part in rendered, (part, rendered)
    assert "javascript" not in source and "color:red" not in source and "input" not in source
    assert "or this;" in rendered and 'href="https://example.org/call"' in rendered


def test_image_references_are_found_and_a_missing_one_becomes_a_link() -> None:
    source = "![A](__GHOST_URL__/a.jpg)\n\ntext ![](https://cdn.example/b.png) and ![A](__GHOST_URL__/a.jpg)\n"
    assert image_refs(source) == [("__GHOST_URL__/a.jpg", "A"), ("https://cdn.example/b.png", "")]
    assert link_instead(source, "__GHOST_URL__/a.jpg", "https://old/a.jpg").count("[A](https://old/a.jpg)") == 2
    assert resolve("data:image/png;base64,AAAA", "https://old") == (None, "not a web address")


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        (b"", "This is not a Ghost export"),
        (b"[1, 2]", "This is not a Ghost export"),
        (
            json.dumps(
                {"db": [{"meta": {}, "data": {"posts": [{"id": 1, "slug": "a", "published_at": True}]}}]}
            ).encode(),
            "a date is true or false",
        ),
        (
            json.dumps({"meta": {}, "data": {"posts": [{"id": 1, "slug": "a", "title": 5}]}}).encode(),
            "a post's title is not text",
        ),
        (json.dumps({"meta": {}, "data": {"posts": [3]}}).encode(), "The Ghost export's posts table is broken"),
    ],
)
def test_a_broken_export_is_refused_in_a_sentence(raw: bytes, sentence: str) -> None:
    with pytest.raises(NotAGhostExport) as refused:
        parse_export(raw)
    assert sentence in refused.value.reason
