"""Checks made before a peer starts, so that a bad setting ends it with one sentence and not a traceback."""

from __future__ import annotations

import asyncio
import ipaddress
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import text
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from store.db import open_store

DATABASE_SECONDS = 10.0


class StartupError(Exception):
    """A setting the peer cannot start with; the message is the one line the operator reads."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redacted(url: str) -> str:
    """A database URL fit for a message: without its password."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "(a malformed URL)"


async def check_database(url: str, seconds: float = DATABASE_SECONDS) -> None:
    """Connect once and ask `SELECT 1`: StartupError naming DATABASE_URL when that cannot be done in time."""
    try:
        store = open_store(url)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise StartupError(f"DATABASE_URL {redacted(url)} is not a database URL Rose Ash can use ({exc})") from None
    try:
        async with asyncio.timeout(seconds), store.read() as session:
            await session.execute(text("SELECT 1"))
    except TimeoutError:
        raise StartupError(f"the database at {redacted(url)} (DATABASE_URL) did not answer in {seconds:g} s") from None
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StartupError(f"cannot reach the database at {redacted(url)} (DATABASE_URL): {reason}") from None
    finally:
        await store.close()
