"""An upload's way in: process it (off the event loop), store its variants, record it; and its way out."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.errors import ActivityError
from activities.text import plain
from media.errors import MediaError
from media.images import Limits, process
from media.storage import NAME, Storage
from store.models import MediaFile

ALT_LIMIT = 1500  # Mastodon's limit for an image description
TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}


def media_type_of(name: str) -> str | None:
    """The content type a stored file is served with, from its (our own) name; None for a name we never made."""
    if not NAME.match(name):
        return None
    return TYPES[name.rsplit(".", 1)[1]]


@dataclass(frozen=True)
class Stored:
    """An image processed and its variants stored: what its `MediaFile` row is made of."""

    digest: str
    media_type: str
    width: int
    height: int
    variants: list[dict[str, Any]]


@dataclass(frozen=True)
class MediaLibrary:
    storage: Storage
    limits: Limits = field(default_factory=Limits)

    async def upload(self, session: AsyncSession, actor: str, data: bytes, alt: str, now: float) -> MediaFile:
        """Check, clean and keep an image; a MediaError (nothing stored) when it is not one we accept."""
        description = described(alt)
        return await self.record(session, actor, await self.prepare(data), description, now)

    async def prepare(self, data: bytes) -> Stored:
        """Process the image and store its variants (files named by their content: storing one twice is
        harmless), off the event loop and outside any transaction; MediaError when it is not one we accept."""
        processed = await asyncio.to_thread(process, data, self.limits)
        digest = hashlib.sha256(processed.full.data).hexdigest()[:32]
        variants: list[dict[str, Any]] = []
        for variant in processed.variants:
            name = f"{digest}-{variant.width}.{processed.extension}"
            await asyncio.to_thread(self.storage.put, name, variant.data)
            variants.append({"name": name, "width": variant.width, "height": variant.height, "size": len(variant.data)})
        return Stored(digest, processed.media_type, processed.full.width, processed.full.height, variants)

    async def record(self, session: AsyncSession, actor: str, stored: Stored, alt: str, now: float) -> MediaFile:
        """The stored image's row (its alt text the newest given), in the caller's transaction."""
        row = await session.get(MediaFile, stored.digest)
        if row is None:
            row = MediaFile(
                id=stored.digest,
                actor=actor,
                media_type=stored.media_type,
                width=stored.width,
                height=stored.height,
                alt=alt,
                variants=stored.variants,
                created_at=now,
            )
            session.add(row)
        else:
            row.alt = alt
        await session.flush()
        return row

    def read(self, name: str) -> bytes | None:
        return self.storage.get(name)


def described(alt: str) -> str:
    """The alt text, checked; MediaError when there is none or too much."""
    try:
        return plain(alt, "alt text", ALT_LIMIT)
    except ActivityError:
        raise MediaError(
            f"Describe the image for people who cannot see it (alt text, up to {ALT_LIMIT} characters)."
        ) from None


def full_name(row: MediaFile) -> str:
    return str(row.variants[-1]["name"])


def attachment(row: MediaFile, base_url: str) -> dict[str, Any]:
    """The image as an AS2 `Image` for a post's `attachment` (Mastodon shows it, with `name` as its description)."""
    return {
        "type": "Image",
        "mediaType": row.media_type,
        "url": f"{base_url}/media/{full_name(row)}",
        "width": row.width,
        "height": row.height,
        "name": row.alt,
    }
