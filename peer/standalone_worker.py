"""`rose-ash worker`: the delivery and mail workers and the kind's due work (scheduled posts, expiring holds)
without the web app, sharing the peer's queues."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from peer.heartbeat import beat
from peer.services import build_services
from peer.settings import Settings


async def run_worker(settings: Settings) -> None:
    runtime = build_services(settings)
    try:
        worker = runtime.delivery_worker(await runtime.start())
        task = asyncio.gather(worker.run(), runtime.mail_worker().run(), *runtime.kind_tasks())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        heartbeat_file = os.environ.get("ROSE_ASH_HEARTBEAT_FILE")
        if heartbeat_file:
            heart = asyncio.create_task(beat(Path(heartbeat_file), runtime.services.store, task))
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if heartbeat_file:
            with contextlib.suppress(asyncio.CancelledError):
                await heart
        await worker.aclose()
    finally:
        await runtime.aclose()
