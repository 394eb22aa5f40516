"""`rose-ash worker`: the delivery and mail workers without the web app, sharing the peer's queues."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from peer.services import build_services
from peer.settings import Settings


async def run_worker(settings: Settings) -> None:
    runtime = build_services(settings)
    try:
        worker = runtime.delivery_worker(await runtime.start())
        task = asyncio.gather(worker.run(), runtime.mail_worker().run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.aclose()
    finally:
        await runtime.aclose()
