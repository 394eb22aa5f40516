"""Collection pages: the first page against page 1,000 of a 100k-item collection (the blog's following)."""

from __future__ import annotations

import statistics
import time

import asyncpg
import httpx

from bench.harness import log
from bench.phases.common import JSON_ACCEPT, Run, ensure_blog
from bench.seeding import seed_collection
from bench.stats import percentile


async def phase_collections(run: Run) -> None:
    """First page vs page 1,000 of a 100k-item collection (blog's following), as JSON."""
    sizes = run.sizes
    _, blog_base, dsn = await ensure_blog(run)
    collection = f"{blog_base}/actor/following"
    await seed_collection(dsn, collection, sizes.collection_items)
    conn = await asyncpg.connect(dsn)
    cursor = await conn.fetchval(
        "SELECT seq FROM collection_items WHERE collection = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1",
        collection,
        999 * 20 - 1,
    )
    await conn.close()
    first_url, deep_url = f"{collection}?page=true", f"{collection}?before={cursor}"
    first: list[float] = []
    deep: list[float] = []
    async with httpx.AsyncClient(timeout=10.0, headers=JSON_ACCEPT) as client:
        page = (await client.get(deep_url)).json()
        items = page.get("orderedItems", [])
        total = (await client.get(collection)).json().get("totalItems")
        expected_first = f"https://remote.example/users/u{sizes.collection_items - 1 - 999 * 20}"
        for _ in range(10):
            await client.get(first_url)
            await client.get(deep_url)
        for _ in range(sizes.collection_samples):
            for url, samples in ((first_url, first), (deep_url, deep)):
                started = time.perf_counter()
                response = await client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
    run.results["collections"] = {
        "items": sizes.collection_items,
        "page_size": 20,
        "page_1000_ok": len(items) == 20 and items[0] == expected_first,
        "total_items_ok": total == sizes.collection_items,
        "first_p50_ms": round(statistics.median(first), 3),
        "first_p99_ms": round(percentile(first, 0.99), 3),
        "page1000_p50_ms": round(statistics.median(deep), 3),
        "page1000_p99_ms": round(percentile(deep, 0.99), 3),
        "ratio": round(statistics.median(deep) / statistics.median(first), 3),
    }
    log(f"collections: {run.results['collections']}")
