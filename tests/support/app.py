"""A whole peer app in-process: `create_app` with its lifespan (migrations, key pair, HTTP client), driven
through httpx's ASGI transport. The store is real (SQLite or PostgreSQL); remote actors it fetches live on
real loopback servers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from peer.app import create_app
from peer.settings import Settings
from store import Store
from store.models import Base
from tests.support.processes import ADMIN_TOKEN

BASE = "http://peer.test"


@dataclass
class App:
    client: httpx.AsyncClient
    store: Store
    services: Any


@contextlib.asynccontextmanager
async def running_app(database_url: str, kind: str = "blog", **settings: Any) -> AsyncIterator[App]:
    options: dict[str, Any] = {
        "allow_private": True,  # the remote actors live on loopback
        "inprocess_worker": False,  # nothing changes the store behind the test's back
        "seed": False,  # no welcome content: the store holds only what the test puts there
        **settings,
    }
    app = create_app(Settings(kind=kind, base_url=BASE, database_url=database_url, admin_token=ADMIN_TOKEN, **options))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield App(client, app.state.services.store, app.state.services)


async def row_counts(store: Store) -> dict[str, int]:
    """Rows in every table: a store-wide fingerprint to compare before and after."""
    async with store.read() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }
