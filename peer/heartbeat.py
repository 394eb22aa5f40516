"""A worker's sign of life for a container health check: `rose-ash worker` has no HTTP server, so while its
delivery loop runs and its database answers it touches a file (ROSE_ASH_HEARTBEAT_FILE) every few seconds;
`rose-ash-heartbeat-ok` (python -m peer.heartbeat) fails once the file is older than the given age."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the health check imports this module: it must start fast, without the database layer
    from store.db import Store

log = logging.getLogger(__name__)
INTERVAL = 5.0
MAX_AGE = 30.0


async def beat(path: Path, store: Store, worker: asyncio.Future[Any], interval: float = INTERVAL) -> None:
    """Touch `path` every `interval` seconds while `worker` runs and the store answers a query."""
    from sqlalchemy import text

    while not worker.done():
        try:
            async with store.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception:  # the store away for a moment: no beat this round, the check sees the file age
            log.warning("heartbeat: the database does not answer")
        else:
            await asyncio.to_thread(path.touch)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(worker), interval)


def fresh(path: Path, max_age: float = MAX_AGE, now: float | None = None) -> bool:
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age <= max_age


def main() -> int:
    name = os.environ.get("ROSE_ASH_HEARTBEAT_FILE")
    if not name:
        print("ROSE_ASH_HEARTBEAT_FILE is not set: this worker keeps no heartbeat.", file=sys.stderr)
        return 2
    max_age = float(sys.argv[1]) if len(sys.argv) > 1 else MAX_AGE
    if fresh(Path(name), max_age):
        return 0
    print(f"The worker's heartbeat {name} is missing or older than {max_age:g} seconds.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
