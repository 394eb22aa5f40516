import pytest

from activities.errors import ActivityError
from activities.text import clean_html, plain, slugify, text_to_html


def test_content_keeps_simple_markup_and_drops_scripts_and_handlers() -> None:
    out = clean_html('<p onclick="x()">Hi <a href="javascript:alert(1)">x</a><script>alert(1)</script><b>b</b></p>')
    assert "onclick" not in out and "javascript:" not in out and "<script" not in out
    assert "<b>b</b>" in out and out.startswith("<p>")


def test_links_get_safe_rel() -> None:
    assert 'rel="noopener noreferrer nofollow"' in clean_html('<a href="https://x.example">x</a>')


def test_plain_text_fields_lose_all_markup() -> None:
    assert plain("<img src=x onerror=alert(1)>The &amp; Hall", "location", 100) == "The & Hall"


def test_plain_refuses_huge_and_missing_values() -> None:
    with pytest.raises(ActivityError):
        plain("x" * 1000, "name", 100)
    with pytest.raises(ActivityError):
        plain("", "name", 100)
    assert plain(None, "address", 10, required=False) == ""


def test_typed_paragraphs_become_html() -> None:
    assert text_to_html("One\n\nTwo <3") == "<p>One</p><p>Two &lt;3</p>"


def test_slugs() -> None:
    assert slugify("Summer Gig: the Return!") == "summer-gig-the-return"
    assert slugify("Ünïcödé") == "unicode"
    assert slugify("!!!") == "untitled"
