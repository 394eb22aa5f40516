"""Markdown, the blog editor's stored source, rendered to the HTML we publish (then cleaned like any content).

Raw HTML in the source is not passed through (markdown-it's `html` option is off) and the result still goes
through nh3: the source is the editor's, but the HTML is what every reader's browser and server trusts."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from activities.errors import ActivityError
from activities.text import clean_html

SOURCE_LIMIT = 100_000
_HEADING = re.compile(r"<(/?)h1>")
_IMAGE_LINK = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)")


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("strikethrough")


def render_markdown(source: str, image_prefix: str) -> str:
    """Sanitized HTML; images are kept only when they are ours (`src` under `image_prefix`)."""
    if len(source) > SOURCE_LIMIT:
        raise ActivityError(f"the text is longer than {SOURCE_LIMIT} characters")
    html = _HEADING.sub(r"<\1h2>", _parser().render(source))  # the post's title is its only h1
    return clean_html(html, SOURCE_LIMIT * 4, image_prefix=image_prefix)


def image_links(source: str) -> list[tuple[str, str]]:
    """The `(url, alt text)` of each `![alt](url)` in the source, in order, each url once."""
    seen: dict[str, str] = {}
    for match in _IMAGE_LINK.finditer(source):
        seen.setdefault(match.group(2), match.group(1).strip())
    return list(seen.items())
