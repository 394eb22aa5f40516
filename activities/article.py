"""Blog posts as AS2 `Article`."""

from __future__ import annotations

from typing import Any

from activities.text import clean_html, plain


def article(
    *,
    post_id: str,
    author: str,
    title: str,
    content_html: str,
    published: str,
    updated: str | None,
    followers: str,
    public: str,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": post_id,
        "type": "Article",
        "attributedTo": author,
        "name": plain(title, "title", 200),
        "content": clean_html(content_html),
        "mediaType": "text/html",
        "url": post_id,
        "published": published,
        "to": [public],
        "cc": [followers],
    }
    if updated:
        doc["updated"] = updated
    return doc
