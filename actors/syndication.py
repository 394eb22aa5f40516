"""Atom and RSS feeds (feedgen) of a list of items, for any kind: the blog's posts, a calendar's events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from starlette.responses import Response

Format = Literal["atom", "rss"]
CONTENT_TYPES: dict[Format, str] = {"atom": "application/atom+xml", "rss": "application/rss+xml"}


@dataclass(frozen=True)
class Item:
    id: str  # absolute URL, also its link
    title: str
    published: datetime
    updated: datetime
    summary: str = ""  # HTML
    content: str = ""  # HTML
    categories: tuple[str, ...] = ()
    enclosure: tuple[str, str] | None = None  # (url, media type) of a picture that goes with the item


@dataclass(frozen=True)
class Feed:
    id: str  # absolute URL of what the feed follows
    link: str  # absolute URL of its HTML page
    title: str
    subtitle: str
    self_url: str  # absolute URL of the feed itself (without its .atom/.rss)
    items: Sequence[Item]


def parse_time(value: object, fallback: datetime) -> datetime:
    """An AS2 xsd:dateTime as an aware datetime; `fallback` when it is missing or unreadable."""
    if not isinstance(value, str):
        return fallback
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def render(feed: Feed, form: Format) -> bytes:
    from feedgen.feed import FeedGenerator  # with lxml, 4 MiB a peer keeps only once a feed is read

    gen = FeedGenerator()
    gen.id(feed.id)
    gen.title(feed.title or feed.id)
    gen.subtitle(feed.subtitle or feed.title or feed.id)  # also RSS's required description
    gen.link(href=f"{feed.self_url}.{form}", rel="self", type=CONTENT_TYPES[form])
    gen.link(href=feed.link, rel="alternate", type="text/html")  # after self: RSS's channel link is the last one
    gen.generator("Rose Ash")
    gen.updated(max((i.updated for i in feed.items), default=datetime(1970, 1, 1, tzinfo=UTC)))
    for item in feed.items:
        entry = gen.add_entry(order="append")
        entry.id(item.id)
        entry.guid(item.id, permalink=True)
        entry.title(item.title or item.id)
        entry.link(href=item.id, rel="alternate", type="text/html")
        entry.published(item.published)
        entry.updated(item.updated)
        if item.summary:
            entry.summary(item.summary, type="html")
        if item.content:
            entry.content(item.content, type="html")
        for category in item.categories:
            entry.category(term=category)
        # RSS only: feedgen 1.0 writes an Atom entry's links without their rel, so an enclosure there would read
        # as a second alternate link. RSS wants a length; 0 is its "not known".
        if item.enclosure and form == "rss":
            entry.enclosure(item.enclosure[0], "0", item.enclosure[1])
    out: bytes = gen.atom_str(pretty=True) if form == "atom" else gen.rss_str(pretty=True)
    return out


def feed_response(feed: Feed, form: Format) -> Response:
    return Response(render(feed, form), media_type=f"{CONTENT_TYPES[form]}; charset=utf-8")
