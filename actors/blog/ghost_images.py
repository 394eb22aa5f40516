"""The images a Ghost export refers to, fetched from the old site through the peer's guarded client (every
address checked, a total deadline, a size cap), a few at a time; each answers its bytes or why it has none."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from urllib.parse import urljoin

import httpx

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


async def fetch_all(client: httpx.AsyncClient, urls: Iterable[str], max_bytes: int) -> dict[str, bytes | str]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(url: str) -> tuple[str, bytes | str]:
        async with gate:
            return url, await fetch_one(client, url, max_bytes)

    return dict(await asyncio.gather(*(one(u) for u in dict.fromkeys(urls))))
