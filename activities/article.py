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
    published: str | None,
    updated: str | None,
    followers: str,
    public: str,
    source: str | None = None,
    tags: list[dict[str, Any]] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    image_prefix: str | None = None,
) -> dict[str, Any]:
    """`published` None for a draft; `source` is the Markdown the content was rendered from; `tags` are
    `Hashtag`s, `attachments` the post's `Image`s (Mastodon shows both)."""
    doc: dict[str, Any] = {
        "id": post_id,
        "type": "Article",
        "attributedTo": author,
        "name": plain(title, "title", 200),
        "content": clean_html(content_html, image_prefix=image_prefix),
        "mediaType": "text/html",
        "url": post_id,
        "to": [public],
        "cc": [followers],
        # the reactions, each an OrderedCollection served at its id (the blog keeps them)
        "replies": f"{post_id}/replies",
        "likes": f"{post_id}/likes",
        "shares": f"{post_id}/shares",
    }
    if published:
        doc["published"] = published
    if source is not None:
        doc["source"] = {"content": source, "mediaType": "text/markdown"}
    if tags:
        doc["tag"] = tags
    if attachments:
        doc["attachment"] = attachments
    if updated:
        doc["updated"] = updated
    return doc
