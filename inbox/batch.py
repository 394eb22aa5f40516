"""Group commit: requests that arrive together share one database round trip, each still waiting for its answer.

A transaction costs far more than the row it writes (BEGIN, COMMIT, the session, the statement), so with many
requests in flight the inbox writes the rows of everything that arrived while the previous batch was being
committed in one transaction, and answers each request only after that commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    """`await submit(item)` runs `work` on a list of items submitted together and returns this item's result.

    `work` returns one result per item, in order. If a batch of several fails, each item is retried alone, so
    one bad item fails only its own request."""

    def __init__(self, work: Callable[[list[T]], Awaitable[list[R]]], *, max_batch: int = 256, parallel: int = 2):
        self._work = work
        self._max_batch = max_batch
        self._parallel = parallel
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._running = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if not self._scheduled and self._running < self._parallel:
            self._scheduled = True
            loop.call_soon(self._launch)  # after the other requests of this loop iteration have queued too
        return await future

    def _launch(self) -> None:
        self._scheduled = False
        while self._queue and self._running < self._parallel:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            self._running += 1
            task = asyncio.ensure_future(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            await self._settle(batch)
        finally:
            self._running -= 1
            if self._queue and not self._scheduled:
                self._launch()

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._work([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0][1].done():
                    batch[0][1].set_exception(exc)
                return
            for one in batch:
                await self._settle([one])
            return
        except BaseException:  # cancelled while shutting down: nobody is left to answer
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
