"""A Ghost JSON export (Ghost Admin → Settings → Migration tools → Export), read into what the blog imports.

The export is Ghost's database as tables: `{"db": [{"meta": {...}, "data": {"posts": [...], "tags": [...],
"posts_tags": [...], "posts_meta": [...], ...}}]}` (the `db` wrapper is optional). Ghost 4 and 5 mark pages with
`type: "page"` and write dates as ISO strings; older exports say `page: true` and give milliseconds. Members,
users, settings and newsletters in the file are not read. Pure: no I/O, no clock."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from activities.errors import ActivityError

MAX_EXPORT_BYTES = 50 * 1024 * 1024
NOT_GHOST = "This is not a Ghost export: choose the .json file Ghost's Export button gives (Settings → Migration)."


class NotAGhostExport(ActivityError):
    """The file cannot be read as a Ghost export; `reason` says why, in a sentence for the editor."""


@dataclass(frozen=True)
class GhostPost:
    key: str  # the post's Ghost uuid (its id in exports without one): what makes a second import skip it
    title: str
    slug: str
    page: bool
    status: str  # published, draft, scheduled, sent (an email-only newsletter)
    visibility: str  # public, members, paid, tiers
    html: str | None
    markdown: str | None  # the Markdown card of an old mobiledoc post that has no html
    plaintext: str | None
    published_at: float | None
    updated_at: float | None
    feature_image: str | None
    feature_image_alt: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class GhostExport:
    version: str
    posts: tuple[GhostPost, ...]


def _tables(doc: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if isinstance(doc, dict) and isinstance(doc.get("db"), list) and doc["db"]:
        doc = doc["db"][0]
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict) or not isinstance(doc.get("meta"), dict):
        raise NotAGhostExport(NOT_GHOST)
    data = doc["data"]
    if not isinstance(data.get("posts"), list):
        raise NotAGhostExport("This Ghost export has no posts table, so there is nothing to import.")
    return doc["meta"], data


def _rows(data: dict[str, Any], table: str) -> list[dict[str, Any]]:
    rows = data.get(table) or []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise NotAGhostExport(f"The Ghost export's {table} table is broken (it is not a list of rows).")
    return rows


def _text(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise NotAGhostExport(f"The Ghost export is broken: a post's {name} is not text.")
    return value


def ghost_time(value: Any) -> float | None:
    """Ghost's dates: ISO 8601 strings (Ghost 1 and later), or milliseconds since 1970 (older exports)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise NotAGhostExport("The Ghost export is broken: a date is true or false.")
    if isinstance(value, int | float):
        return float(value) / 1000.0
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
        except ValueError:
            raise NotAGhostExport(f"The Ghost export is broken: “{value[:40]}” is not a date.") from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    raise NotAGhostExport("The Ghost export is broken: a date is neither text nor a number.")


def _mobiledoc_markdown(raw: str | None) -> str | None:
    """The Markdown cards of a mobiledoc document (Ghost 1's editor wrote every post as one), joined."""
    if not raw:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    cards = doc.get("cards") if isinstance(doc, dict) else None
    parts = [
        str(card[1].get("markdown") or card[1].get("cardMarkdown") or "")
        for card in (cards if isinstance(cards, list) else [])
        if isinstance(card, list) and len(card) == 2 and card[0] in ("markdown", "card-markdown")
        if isinstance(card[1], dict)
    ]
    return "\n\n".join(p for p in parts if p) or None


def _sort_order(link: dict[str, Any]) -> int:
    order = link.get("sort_order")
    return order if isinstance(order, int) else 0


def _tags_by_post(data: dict[str, Any]) -> dict[str, list[str]]:
    """Each post's public tags, in the post's order; internal tags (`#name`, Ghost's own filing) are left out."""
    names = {
        str(t.get("id")): str(t["name"])
        for t in _rows(data, "tags")
        if isinstance(t.get("name"), str)
        and not t["name"].startswith("#")
        and t.get("visibility", "public") == "public"
    }
    links = sorted(_rows(data, "posts_tags"), key=_sort_order)
    tags: dict[str, list[str]] = {}
    for link in links:
        name = names.get(str(link.get("tag_id")))
        if name is not None:
            tags.setdefault(str(link.get("post_id")), []).append(name)
    return tags


def _post(row: dict[str, Any], tags: list[str], alts: dict[str, str]) -> GhostPost:
    ghost_id, title, slug = row.get("id"), _text(row, "title"), _text(row, "slug")
    if ghost_id is None or slug is None:
        raise NotAGhostExport("The Ghost export is broken: a post has no id or no slug.")
    kind = row.get("type")
    page = kind == "page" if kind is not None else row.get("page") in (True, 1, "1")
    status = _text(row, "status") or "draft"
    if status not in ("published", "draft", "scheduled", "sent"):
        raise NotAGhostExport(f"The Ghost export is broken: “{status[:40]}” is not a post status Ghost writes.")
    return GhostPost(
        key=str(row.get("uuid") or ghost_id),
        title=title or "Untitled",
        slug=slug,
        page=page,
        status=status,
        visibility=_text(row, "visibility") or "public",
        html=_text(row, "html"),
        markdown=_text(row, "markdown") or _mobiledoc_markdown(_text(row, "mobiledoc")),
        plaintext=_text(row, "plaintext"),
        published_at=ghost_time(row.get("published_at")),
        updated_at=ghost_time(row.get("updated_at")),
        feature_image=_text(row, "feature_image") or _text(row, "image"),
        feature_image_alt=alts.get(str(ghost_id)),
        tags=tuple(tags),
    )


def parse_export(raw: bytes) -> GhostExport:
    """The export's posts and pages; NotAGhostExport, in one sentence, for a file that is not one."""
    if len(raw) > MAX_EXPORT_BYTES:
        raise NotAGhostExport(f"The file is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MB.")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise NotAGhostExport(NOT_GHOST + " (This file is not JSON.)") from None
    meta, data = _tables(doc)
    tags = _tags_by_post(data)
    alts = {
        str(m.get("post_id")): str(m["feature_image_alt"])
        for m in _rows(data, "posts_meta")
        if isinstance(m.get("feature_image_alt"), str) and m["feature_image_alt"].strip()
    }
    posts = tuple(_post(row, tags.get(str(row.get("id")), []), alts) for row in _rows(data, "posts"))
    return GhostExport(str(meta.get("version", "")), posts)
