"""Atom and RSS feeds of the blog: its posts, newest first, with their content as stored (sanitized on the way
in)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from actors.syndication import Feed, Format, Item, feed_response, parse_time
from actors.web import services_of
from store import objects

LATEST = 50  # posts in a feed


def item_of(post: dict[str, Any], created: float) -> Item:
    published = parse_time(post.get("published"), datetime.fromtimestamp(created, UTC))
    link = str(post["id"])  # the post's page, an absolute URL from the actor's base
    content = str(post.get("content") or "")
    return Item(link, str(post.get("name") or ""), published, parse_time(post.get("updated"), published), "", content)


async def _posts_feed(request: Request, form: Format) -> Response:
    services = services_of(request)
    async with services.store.read() as session:
        rows = await objects.of_type(session, services.actor.name, "Article")
    posts = [item_of(row.data, row.created_at) for row in rows if row.public][:LATEST]
    feed = Feed(
        id=services.actor.url("posts"),
        link=services.actor.url("/"),
        title=f"{services.site.kind_name} · Rose Ash",
        subtitle=f"Posts of the cooperative's {services.site.kind_name.lower()}",
        self_url=services.actor.url("posts"),
        items=posts,
    )
    return feed_response(feed, form)


async def posts_atom(request: Request) -> Response:
    return await _posts_feed(request, "atom")


async def posts_rss(request: Request) -> Response:
    return await _posts_feed(request, "rss")


ROUTES: list[BaseRoute] = [Route("/posts.atom", posts_atom), Route("/posts.rss", posts_rss)]
