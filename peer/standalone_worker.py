"""`rose-ash worker`: delivery workers without the web app, sharing the peer's queue."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import httpx

from activities.identity import LocalActor
from actors.context import Services
from inbox.directory import Directory
from inbox.remote import AddressGuard, RemoteFetcher
from peer.keys import ensure_key_pair
from peer.settings import Settings
from peer.workers import make_worker
from store.db import open_store
from store.migrate import migrate


async def run_worker(settings: Settings) -> None:
    actor = LocalActor(settings.kind, settings.base_url)
    store = open_store(settings.database_url)
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as client:
        await migrate(store)
        signer = await ensure_key_pair(store, actor)
        fetcher = RemoteFetcher(
            client, AddressGuard(settings.allow_private, settings.allowed_hosts), time.time, signer=signer
        )
        services = Services(
            actor=actor,
            store=store,
            directory=Directory(store, fetcher),
            fetcher=fetcher,
            peers=dict(settings.peers),
            trusted=settings.trusted_actors,
            admin_token=settings.admin_token,
            secret=settings.secret,
            clock=time.time,
        )
        worker = make_worker(settings, services, client, {actor.name: actor}, {actor.name: signer})
        task = asyncio.create_task(worker.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.aclose()
    await store.close()
