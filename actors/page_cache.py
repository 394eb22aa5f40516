"""Rendered listings for visitors who are not signed in: /calendars and the blog's index render hundreds of cards,
which cost tens of milliseconds a page, so concurrent readers share one rendering.

A rendering is kept under the page's path and query and the store's write generation (`Store.generation`, moved
on by every commit of this process), so a change this process commits shows on the next request. What another
process commits (a `rose-ash worker`'s due work) and the passing of time (an event moving to "past") show within
`MAX_AGE` seconds: an entry older than that (by the peer's clock) is rendered again, the readers meanwhile getting
the one before it, unless it is older than `STALE_AGE`.
The visitor's own CSRF token is put in per request: the page is rendered with a placeholder in its place.

A request that came with no cookie and no credentials is remembered by its shape (path, query and Accept: all the
routing and the page look at), so that the next such request can be answered from the kept page before the
application's middleware and routes (`kept_for`, peer/visitor_pages.py)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

MAX_AGE = 1.0
STALE_AGE = 3.0  # past this, a reader waits for the new rendering rather than get the old one
ENTRIES = 64

# (path, query string, Accept header) of a request that came with no cookie and no credentials
Shape = tuple[str, bytes, bytes]

# the page as bytes, in the pieces between its CSRF placeholders; None: not a page to keep (an error was found)
Render = Callable[[], Awaitable[list[bytes] | None]]


@dataclass
class _Entry:
    pieces: list[bytes]
    generation: int
    rendered_at: float
    refreshing: bool = False


class PageCache:
    def __init__(self, max_age: float = MAX_AGE, entries: int = ENTRIES) -> None:
        self.max_age, self.entries = max_age, entries
        self._kept: OrderedDict[str, _Entry] = OrderedDict()
        self._rendering: dict[str, asyncio.Future[_Entry | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._shapes: OrderedDict[Shape, str] = OrderedDict()
        self._inputs: OrderedDict[str, tuple[bytes, list[bytes]]] = OrderedDict()

    def rendered_from(self, key: str, inputs: bytes | None) -> list[bytes] | None:
        """The pieces last rendered under `key` from inputs of this digest (actors/page_inputs.py), if any."""
        found = self._inputs.get(key) if inputs is not None else None
        return found[1] if found is not None and found[0] == inputs else None

    def rendered(self, key: str, inputs: bytes | None, pieces: list[bytes]) -> None:
        """`pieces` were rendered under `key` from inputs of this digest."""
        if inputs is None:
            self._inputs.pop(key, None)
            return
        self._inputs[key] = (inputs, pieces)
        self._inputs.move_to_end(key)
        while len(self._inputs) > self.entries:
            self._inputs.popitem(last=False)

    def remember(self, shape: Shape, key: str) -> None:
        """Requests of this shape get the page kept under `key` (the listing answered one of them with it)."""
        if self._shapes.get(shape) != key:
            self._shapes[shape] = key
            while len(self._shapes) > 4 * self.entries:  # bounded: every query string is a shape
                self._shapes.popitem(last=False)

    def kept_for(self, shape: Shape, generation: int, now: float) -> list[bytes] | None:
        """The kept page for a request of `shape`, when `pieces` would answer with it as it is (of `generation`,
        not past its age, or being rendered again already); None when the request must go the whole way."""
        key = self._shapes.get(shape)
        entry = self._kept.get(key) if key is not None else None
        if entry is None or entry.generation != generation:
            return None
        age = now - entry.rendered_at
        if not 0 <= age < STALE_AGE or (age >= self.max_age and not entry.refreshing):
            return None
        return entry.pieces

    async def pieces(self, key: str, generation: int, now: float, render: Render) -> list[bytes] | None:
        """The page under `key` as of `generation` (read before anything the page shows) and the peer's clock
        `now`, rendered when there is none that new; None when `render` says the page is not one to keep."""
        entry = self._kept.get(key)
        age = now - entry.rendered_at if entry is not None else 0.0
        if entry is None or entry.generation != generation or not 0 <= age < STALE_AGE:
            entry = await self._render_once(key, generation, now, render)
            return entry.pieces if entry is not None else None
        if age >= self.max_age and not entry.refreshing:
            entry.refreshing = True  # this reader and those after it get this entry until the new one is in
            task = asyncio.ensure_future(self._refresh(entry, key, generation, now, render))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return entry.pieces

    async def _refresh(self, entry: _Entry, key: str, generation: int, now: float, render: Render) -> None:
        try:
            await self._render_once(key, generation, now, render)
        finally:
            entry.refreshing = False

    async def _render_once(self, key: str, generation: int, now: float, render: Render) -> _Entry | None:
        """One rendering per key at a time, shared by every reader waiting for it."""
        running = self._rendering.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[_Entry | None] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        try:
            pieces = await render()
            entry = None if pieces is None else _Entry(pieces, generation, now)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no warning when nobody else waited
            raise
        finally:
            del self._rendering[key]
        future.set_result(entry)
        if entry is not None:
            self._kept[key] = entry
            self._kept.move_to_end(key)
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)
        return entry
