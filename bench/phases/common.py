"""What every phase gets: the run's sizes, cluster, sinks and results, and the few requests phases share."""

from __future__ import annotations

import functools
import re
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.harness import TOKEN, Cluster, Proc, free_ports, pinning, rss_mib, wait_healthy
from bench.seeding import ActorKey

JSON_ACCEPT = {"accept": "application/activity+json"}
CSRF = re.compile(r'name="csrf"\s+value="([^"]+)"|value="([^"]+)"\s+name="csrf"')


@dataclass(frozen=True)
class Sizes:
    followers: int = 10_000
    inboxes: int = 5_000
    hosts: int = 16
    inbox_requests: int = 12_000
    inbox_warmup: int = 600
    concurrency: int = 32
    buyers: int = 50
    purchases_per_buyer: int = 10
    rush_buyers: int = 1_000
    rush_seats: int = 500
    rush_window_s: float = 2.0  # "within 10 s": a burst, so that the peers, not the arrivals, set the pace
    collection_items: int = 100_000
    collection_samples: int = 200
    sign_seconds: float = 2.0
    idle_seconds: float = 60.0  # the idle peers' CPU window (`--idle-seconds 300` for the target's 5 minutes)


FULL = Sizes()
QUICK = Sizes(
    inboxes=2_000,
    inbox_requests=3_000,
    inbox_warmup=300,
    purchases_per_buyer=3,
    rush_buyers=200,
    rush_seats=100,
    rush_window_s=1.0,
    collection_samples=60,
    sign_seconds=1.0,
    idle_seconds=20.0,
)


@dataclass
class Run:
    cluster: Cluster
    sizes: Sizes
    sink_ports: list[int]
    sink: Proc
    actor_keys: list[ActorKey]
    results: dict[str, Any] = field(default_factory=dict)
    blog: tuple[Proc, str, str] | None = None  # (process, base URL, database DSN) while it runs


async def c2s(client: httpx.AsyncClient, base: str, activity: dict[str, Any]) -> str:
    response = await client.post(
        f"{base}/actor/outbox",
        json=activity,
        headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/activity+json"},
    )
    if response.status_code != 201:
        raise RuntimeError(f"C2S {activity['type']} failed: {response.status_code} {response.text[:300]}")
    return str(response.json()["object"])


@functools.cache
def client_tls() -> ssl.SSLContext:
    """One TLS context for all the simulated people's clients. httpx builds a new one for each client (loading
    the CA bundle: 30 ms of CPU), which in a rush of 1,000 buyers took the load generator 30 s of CPU: the
    first buyers' connections waited over 10 s for their first byte and got the peer's 408 for it."""
    return ssl.create_default_context()


def person_client(base: str, timeout: float, local_address: str | None = None) -> httpx.AsyncClient:
    """A client of its own for one simulated person (its own cookies and connections; from its own loopback
    address when given), cheap to make."""
    tls = client_tls()
    transport = httpx.AsyncHTTPTransport(local_address=local_address, verify=tls)
    return httpx.AsyncClient(base_url=base, timeout=timeout, transport=transport, verify=tls, trust_env=False)


def csrf_of(page: str) -> str:
    """The CSRF token of the page's form, whichever order its attributes come in."""
    match = CSRF.search(page)
    if match is None:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1) or match.group(2)


async def sink_stats(client: httpx.AsyncClient, port: int, reset: bool = False) -> dict[str, Any]:
    if reset:
        await client.post(f"http://127.0.0.1:{port}/_reset")
        return {}
    return dict((await client.get(f"http://127.0.0.1:{port}/_stats")).json())


async def ensure_blog(run: Run) -> tuple[Proc, str, str]:
    """The blog peer the inbox phase started, or a new one when that phase did not run."""
    if run.blog is None:
        (port,) = free_ports(1)
        database = await run.cluster.new_database("blog")
        base = f"http://127.0.0.1:{port}"
        blog = run.cluster.peer("blog", "blog", port, database, cpu=pinning()[0])
        await wait_healthy(blog, base)
        run.results.setdefault("memory", {})["blog_idle_mib"] = rss_mib(blog.pid)
        run.blog = (blog, base, run.cluster.raw_db_url(database))
    return run.blog


async def events_and_shop(
    cluster: Cluster, shop_env: dict[str, str] | None = None, suffix: str = ""
) -> tuple[tuple[Proc, str, str], tuple[Proc, str, str]]:
    """An events peer and a shop that know each other, each on a fresh database, both answering:
    (process, base URL, database name) of each. `shop_env`: the shop's extra settings (its payment provider);
    `suffix` tells the databases of one phase's several pairs apart."""
    events_db, shop_db = await cluster.new_database(f"events{suffix}"), await cluster.new_database(f"shop{suffix}")
    events_port, shop_port = free_ports(2)
    events_base, shop_base = f"http://127.0.0.1:{events_port}", f"http://127.0.0.1:{shop_port}"
    events = cluster.peer("events", "events", events_port, events_db, peers={"shop": shop_base})
    shop = cluster.peer("shop", "shop", shop_port, shop_db, peers={"events": events_base}, **(shop_env or {}))
    await wait_healthy(events, events_base)
    await wait_healthy(shop, shop_base)
    return (events, events_base, events_db), (shop, shop_base, shop_db)
