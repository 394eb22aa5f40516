"""uvicorn's server with a once-a-second tick instead of ten: the tick only refreshes the Date header (once a
second anyway) and looks for a shutdown request, and ten wake-ups a second were most of an idle peer's CPU.

A shutdown signal does not wait for the next tick: the handler also wakes the tick's sleep."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from types import FrameType

import uvicorn

TICK = 1.0  # seconds; uvicorn counts its ticks in tenths of a second
STARTUP_FAILURE = 3  # the exit status uvicorn.run gives when the app did not start


class QuietServer(uvicorn.Server):
    _tick: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop, self._tick = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000  # every call refreshes the Date header, as every tenth did
            try:
                await asyncio.wait_for(self._tick.wait(), TICK)
            except TimeoutError:
                pass
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and self._tick is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._tick.set)


def run(app: object, **options: object) -> None:
    """`uvicorn.run(app, **options)` with the quiet server (one process, no reloading)."""
    config = uvicorn.Config(app, **options)  # type: ignore[arg-type]
    server = QuietServer(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
