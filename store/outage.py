"""Which errors mean the database is out of reach for now (restarting, refusing connections, or, for SQLite, held
by another writer past the wait), as opposed to a fault in a statement: a request that meets one is answered
503 with Retry-After (peer/app.py), since nothing was written and the same request will succeed later."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# PostgreSQL's SQLSTATEs for a connection that failed or that the server ended: connection exceptions (not
# 08P01, a protocol violation, nor 08007, a commit whose outcome is unknown), shutting down or starting up, and
# too many connections.
_UNREACHABLE_STATES = frozenset({"08000", "08001", "08003", "08004", "08006", "57P01", "57P02", "57P03", "53300"})

RETRY_AFTER_SECONDS = 5
BUSY = "This site is very busy right now. Please try again in a few seconds."
DATABASE_DOWN = "This site cannot reach its database just now. Please try again in a few seconds."


def out_of_reach(exc: BaseException) -> str | None:
    """The sentence for a person or a sending server when `exc` means the database is out of reach for now;
    None for any other error (a fault, answered 500)."""
    if database_busy(exc):
        return BUSY
    if database_unreachable(exc):
        return DATABASE_DOWN
    return None


def database_unreachable(exc: BaseException) -> bool:
    """The database could not be reached, or dropped the connection: worth trying again in a few seconds."""
    if isinstance(exc, OSError):  # refused, unresolvable, timed out: raised unwrapped while the driver connects
        return _raised_by_driver(exc)
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    return getattr(exc.orig, "sqlstate", None) in _UNREACHABLE_STATES


def _raised_by_driver(exc: BaseException) -> bool:
    """Whether `exc` came out of the database driver or SQLAlchemy's pool, not out of other I/O (a file, a fetch)."""
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_globals.get("__name__", "").startswith(_DRIVERS):
            return True
        frame = frame.tb_next
    return False


_DRIVERS = ("asyncpg", "aiosqlite", "sqlalchemy.pool", "sqlalchemy.connectors", "sqlalchemy.dialects")


def database_busy(exc: BaseException) -> bool:
    """Every connection taken past the wait (PostgreSQL's pool), or SQLite's file held by another writer."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def log_round_failed(log: logging.Logger, what: str, exc: Exception, again_in: float) -> None:
    """A background round (deliveries, mail, sweeps) that failed: one line while the database is out of reach
    (a restart of PostgreSQL is routine and the round is simply run again), the traceback for anything else."""
    if out_of_reach(exc) is not None:
        log.warning("%s: the database is out of reach (%s); trying again in %g s", what, _reason(exc), again_in)
    else:
        log.error("%s failed; trying again in %g s", what, again_in, exc_info=exc)


def _reason(exc: BaseException) -> str:
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0]}" if text else type(original).__name__
