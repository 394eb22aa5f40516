"""A reply from the fediverse (a `Note` with `inReplyTo`), as the blog keeps and shows it: sanitized, bounded."""

from __future__ import annotations

from typing import Any

from activities.errors import ActivityError
from activities.parse import check_url, id_of
from activities.text import clean_html, plain

MAX_CONTENT = 20_000  # characters of a reply's HTML; a longer one is refused, not cut
MAX_NAME = 100
MAX_TIME = 64


def in_reply_to(note: dict[str, Any]) -> str | None:
    """What the note answers, or None when it answers nothing or says it badly."""
    target = note.get("inReplyTo")
    try:
        return id_of(target, "inReplyTo") if target is not None else None
    except ActivityError:
        return None


def reply_fields(note: dict[str, Any]) -> dict[str, str]:
    """The note's own fields we keep: its id, its content cleaned to the allow-list, its times and link."""
    content = note.get("content")
    if not isinstance(content, str) or not content.strip():
        raise ActivityError("a reply needs content")
    if len(content) > MAX_CONTENT:
        raise ActivityError(f"a reply is longer than {MAX_CONTENT} characters")
    url = note.get("url")
    url = url.get("href") if isinstance(url, dict) else url
    fields = {
        "id": id_of(note, "object"),
        "content": clean_html(content, MAX_CONTENT),
        "published": _time(note.get("published")),
        "updated": _time(note.get("updated")),
        "url": _url(url) or id_of(note, "object"),
    }
    if not plain(fields["content"], "content", MAX_CONTENT, required=False):
        raise ActivityError("a reply needs content (nothing was left once its markup was cleaned)")
    return fields


def author_fields(actor_id: str, actor: dict[str, Any]) -> dict[str, str]:
    """Who wrote it, as the page shows them: a display name (markup removed), their profile link."""
    name = _text(actor.get("name")) or _text(actor.get("preferredUsername")) or actor_id
    return {"actor": actor_id, "name": name[:MAX_NAME], "profile": _url(actor.get("url")) or actor_id}


def icon_url(actor: dict[str, Any]) -> str | None:
    icon = actor.get("icon")
    return _url(icon.get("url") if isinstance(icon, dict) else icon)


def reply_note(data: dict[str, Any], post: str) -> dict[str, Any]:
    """The kept reply as the AS2 `Note` the post's replies collection lists."""
    note: dict[str, Any] = {
        "id": data["id"],
        "type": "Note",
        "attributedTo": data["actor"],
        "inReplyTo": post,
        "content": data["content"],
        "url": data.get("url") or data["id"],
    }
    for name in ("published", "updated"):
        if data.get(name):
            note[name] = data[name]
    return note


def _text(value: object) -> str:
    try:
        return plain(value, "name", 1000, required=False)[:MAX_NAME]  # a long name is cut, not refused
    except ActivityError:
        return ""


def _time(value: object) -> str:
    return value[:MAX_TIME] if isinstance(value, str) else ""


def _url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return check_url(value, "url")
    except ActivityError:
        return None
