"""Tags: typed by the editor as a comma-separated list, carried as AS2 `Hashtag`s in `tag` (Mastodon shows them
as hashtags), each linking to the blog's page of posts with that tag."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activities.errors import ActivityError
from actors.blog.site_pages import site_nav
from actors.context import Services
from actors.web import render, services_of
from store import objects

MAX_TAGS = 10
MAX_LENGTH = 40
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def parse_tags(value: str) -> list[str]:
    """`"summer, live music"` → `["summer", "LiveMusic"]`: each a hashtag Mastodon accepts (letters, digits, `_`)."""
    names: dict[str, str] = {}
    for part in value.replace("#", " ").split(","):
        words = [w for w in _NOT_WORD.split(unicodedata.normalize("NFKC", part)) if w]
        if not words:
            continue
        name = words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])
        if len(name) > MAX_LENGTH:
            raise ActivityError(f"the tag “{name[:MAX_LENGTH]}…” is longer than {MAX_LENGTH} characters")
        names.setdefault(name.casefold(), name)
    if len(names) > MAX_TAGS:
        raise ActivityError(f"a post takes at most {MAX_TAGS} tags")
    return list(names.values())


def tag_page(services: Services, name: str) -> str:
    return services.actor.url(f"tags/{name.casefold()}")


def hashtags(services: Services, names: list[str]) -> list[dict[str, Any]]:
    return [{"type": "Hashtag", "href": tag_page(services, n), "name": f"#{n}"} for n in names]


def names_of(post: dict[str, Any]) -> list[str]:
    tags = post.get("tag")
    return [
        str(t["name"]).removeprefix("#")
        for t in (tags if isinstance(tags, list) else [])
        if isinstance(t, dict) and t.get("type") == "Hashtag" and isinstance(t.get("name"), str)
    ]


async def tagged(request: Request) -> Response:
    services = services_of(request)
    wanted = str(request.path_params["tag"]).casefold()
    async with services.store.read() as session:
        rows = await objects.of_type(session, services.actor.name, "Article")
    posts = [r.data for r in rows if r.public and wanted in {n.casefold() for n in names_of(r.data)}]
    name = next((n for p in posts for n in names_of(p) if n.casefold() == wanted), wanted)
    return render(
        request, services, "blog/tag.html", {"tag": name, "posts": posts, "site_nav": await site_nav(services)}
    )


ROUTES: tuple[Route, ...] = (Route("/tags/{tag}", tagged),)
