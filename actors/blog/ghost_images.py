"""The images a Ghost export refers to, fetched from the old site through the peer's guarded client (every
address checked, a total deadline, a size cap), a few at a time, and each put through the media pipeline at
once (decoded, cleaned, resized, its files stored), so no more than a few images are in memory at a time and
no image is processed while the import's transaction is open. Each answers its stored image or why it has none."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from urllib.parse import urljoin

import httpx

from media.errors import MediaError
from media.library import MediaLibrary, Stored
from net.guard import Refused

CONCURRENCY = 4
MAX_REDIRECTS = 3


async def fetch_one(client: httpx.AsyncClient, url: str, max_bytes: int) -> bytes | str:
    """The image's bytes, or a sentence saying why they could not be had."""
    for _ in range(MAX_REDIRECTS + 1):
        if not url.startswith(("https://", "http://")):
            return "it redirects to something that is not a web address"
        try:
            async with client.stream("GET", url, headers={"accept": "image/*"}, follow_redirects=False) as answer:
                if answer.status_code in (301, 302, 303, 307, 308) and "location" in answer.headers:
                    url = urljoin(str(answer.url), answer.headers["location"])
                    continue
                if answer.status_code != 200:
                    return f"the old site answered HTTP {answer.status_code}"
                declared = answer.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    return "the image is larger than the upload limit"
                chunks, size = [], 0
                async for chunk in answer.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        return "the image is larger than the upload limit"
                    chunks.append(chunk)
                return b"".join(chunks)
        except Refused as exc:
            return f"its address is refused ({exc.reason})"
        except httpx.HTTPError as exc:
            return f"it could not be fetched ({type(exc).__name__})"
    return "it redirects too many times"


async def fetch_all(client: httpx.AsyncClient, urls: Iterable[str], library: MediaLibrary) -> dict[str, Stored | str]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(url: str) -> tuple[str, Stored | str]:
        async with gate:
            got = await fetch_one(client, url, library.limits.max_bytes)
            if isinstance(got, str):
                return url, got
            try:
                return url, await library.prepare(got)
            except MediaError as exc:
                return url, exc.reason.rstrip(".")

    return dict(await asyncio.gather(*(one(u) for u in dict.fromkeys(urls))))
