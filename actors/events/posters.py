"""An event's poster: an image the organiser gives with the event form, taken through the media pipeline the
blog uses (decoded to verify, stripped, resized), published as the Event's AS2 `image` with its alt text, and
shown with a srcset of the widths the pipeline made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from activities.errors import ActivityError
from activities.text import plain
from actors.context import Services
from media.errors import MediaError
from media.library import ALT_LIMIT, attachment
from store.models import MediaFile

FORM_OVERHEAD = 256 * 1024  # the event's own fields, the multipart envelope and the CSRF token around the file
NO_ALT = f"Describe the poster for people who cannot see it (alt text, up to {ALT_LIMIT} characters)."


@dataclass(frozen=True)
class PosterForm:
    """What the event form says about the poster."""

    data: bytes  # the chosen file; empty when none was chosen
    alt: str | None  # None: the form has no alt field (a form without the poster part), the poster stays
    remove: bool


def too_large(request: Request, services: Services) -> bool:
    """The request declares more than a poster and the form around it: refused before it is read."""
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > services.media.limits.max_bytes + FORM_OVERHEAD


async def read_poster(form: FormData, services: Services) -> PosterForm:
    file = form.get("poster")
    data = b""
    if isinstance(file, UploadFile):
        data = await file.read(services.media.limits.max_bytes + 1)
        await file.close()
    alt = form.get("poster_alt")
    return PosterForm(data, alt if isinstance(alt, str) else None, form.get("poster_remove") == "1")


async def poster_image(
    session: AsyncSession, services: Services, poster: PosterForm, current: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The Event's `image` after the form: a new upload, the current one (its alt text as edited), or none.
    A file we refuse raises MediaError with the sentence to show; nothing is stored then."""
    if poster.remove:
        return None
    if poster.data:
        if not (poster.alt or "").strip():
            raise MediaError(NO_ALT)
        row = await services.media.upload(session, services.actor.name, poster.data, poster.alt or "", services.clock())
        return attachment(row, services.actor.base_url)
    if current is None or poster.alt is None:
        return current
    try:
        return {**current, "name": plain(poster.alt, "alt text", ALT_LIMIT)}
    except ActivityError:
        raise MediaError(NO_ALT) from None


@dataclass(frozen=True)
class PosterView:
    """What an `<img>` of the poster needs."""

    src: str
    srcset: str
    width: int
    height: int
    alt: str


def _media_id(services: Services, image: object) -> str | None:
    prefix = services.actor.url("media/")
    if not isinstance(image, dict) or not isinstance(url := image.get("url"), str) or not url.startswith(prefix):
        return None
    return url.removeprefix(prefix).split("-", 1)[0]


async def poster_views(
    session: AsyncSession, services: Services, events: list[dict[str, Any]]
) -> dict[str, PosterView]:
    """The posters of `events` by event id, each with every width the pipeline kept (one query for all)."""
    wanted = {e["id"]: media for e in events if (media := _media_id(services, e.get("image"))) is not None}
    if not wanted:
        return {}
    rows = {
        row.id: row for row in await session.scalars(select(MediaFile).where(MediaFile.id.in_(set(wanted.values()))))
    }
    views: dict[str, PosterView] = {}
    for event in events:
        row = rows.get(wanted.get(event["id"], ""))
        if row is None:
            continue
        image = event["image"]
        srcset = ", ".join(f"{services.actor.url('media/' + v['name'])} {v['width']}w" for v in row.variants)
        views[event["id"]] = PosterView(image["url"], srcset, row.width, row.height, str(image.get("name") or ""))
    return views
