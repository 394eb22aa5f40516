"""Untrusted text made safe: HTML content cleaned to a small allow-list, plain fields stripped of markup."""

from __future__ import annotations

import html
import re
import unicodedata

import nh3

from activities.errors import ActivityError

CONTENT_TAGS = {
    "p", "br", "a", "strong", "em", "b", "i", "u", "s", "blockquote", "code", "pre", "ul", "ol", "li",
    "h2", "h3", "h4", "hr", "span",
}  # fmt: skip
CONTENT_ATTRIBUTES = {"a": {"href", "title"}}
_SLUG_STRIP = re.compile(r"[^a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_html(value: str, limit: int = 100_000, *, image_prefix: str | None = None) -> str:
    """Content reduced to the allow-list; with `image_prefix`, images whose `src` is under it stay (our own
    uploads: a stranger's image URL in a post would tell its server who reads the post)."""
    if len(value) > limit:
        raise ActivityError(f"content is longer than {limit} characters")
    if image_prefix is None:
        return nh3.clean(
            _CONTROL.sub("", value),
            tags=CONTENT_TAGS,
            attributes=CONTENT_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
    prefix = image_prefix

    def ours(tag: str, attribute: str, value: str) -> str | None:
        return None if tag == "img" and attribute == "src" and not value.startswith(prefix) else value

    return nh3.clean(
        _CONTROL.sub("", value),
        tags=CONTENT_TAGS | {"img", "del"},
        attributes={**CONTENT_ATTRIBUTES, "img": {"src", "alt", "title"}},
        attribute_filter=ours,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def plain(value: object, what: str, limit: int, *, required: bool = True) -> str:
    """A plain-text field: markup removed, whitespace tidied, length bounded."""
    if value is None or value == "":
        if required:
            raise ActivityError(f"{what} is required")
        return ""
    if not isinstance(value, str):
        raise ActivityError(f"{what} must be text")
    if len(value) > limit * 4:
        raise ActivityError(f"{what} is longer than {limit} characters")
    text = _strip_markup(value)
    text = " ".join(text.split())
    if len(text) > limit:
        raise ActivityError(f"{what} is longer than {limit} characters")
    if required and not text:
        raise ActivityError(f"{what} is required")
    return text


def _strip_markup(value: str, rounds: int = 4) -> str:
    """Tags removed and entities decoded, repeated until nothing changes: decoding `&lt;img …&gt;` must not
    hand markup to whoever shows the text (a fediverse server rendering `name` as HTML)."""
    text = _CONTROL.sub("", value)
    for _ in range(rounds):
        cleaned = html.unescape(nh3.clean(text, tags=set()))
        if cleaned == text:
            return text
        text = cleaned
    return text.replace("<", "").replace(">", "")


def text_to_html(value: str) -> str:
    """Paragraphs from plain text, for editors who type rather than write HTML."""
    if "<" in value and ">" in value:
        return clean_html(value)
    paragraphs = [p.strip() for p in value.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def slugify(value: str, limit: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    slug = _SLUG_STRIP.sub("-", ascii_text).strip("-")[:limit].strip("-")
    return slug or "untitled"
