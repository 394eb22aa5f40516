"""Which database errors a peer answers 503 (try again) rather than 500 (a fault): real errors, raised by real
SQLite and PostgreSQL connections."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from store.db import normalize_url
from store.outage import BUSY, DATABASE_DOWN, log_round_failed, out_of_reach
from tests.support.databases import Databases


def test_a_sqlite_file_held_by_another_writer_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE t (x)")
    holder.commit()
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(DBAPIError) as raised, engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
        assert out_of_reach(raised.value) == BUSY
    finally:
        engine.dispose()
        holder.close()


def test_a_fault_in_a_statement_is_not_out_of_reach(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'fault.db'}")
    try:
        with pytest.raises(DBAPIError) as raised, engine.begin() as connection:
            connection.execute(text("SELECT * FROM no_such_table"))
        assert out_of_reach(raised.value) is None
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:9/none",  # port 9: nothing listens (refused)
        "postgresql+asyncpg://postgres@/none?host=/nonexistent-socket-dir",  # a Unix socket that is not there
    ],
)
async def test_a_postgresql_connection_that_cannot_be_made_is_out_of_reach(url: str) -> None:
    engine = create_async_engine(url)
    try:
        with pytest.raises(OSError) as raised:
            async with engine.connect():
                pass
        assert out_of_reach(raised.value) == DATABASE_DOWN
    finally:
        await engine.dispose()


def test_an_os_error_elsewhere_is_not_the_database(tmp_path: Path) -> None:
    with pytest.raises(OSError) as raised:
        (tmp_path / "missing" / "file").read_bytes()
    assert out_of_reach(raised.value) is None


async def test_a_server_that_ends_the_connection_is_out_of_reach(postgres_databases: Databases) -> None:
    engine = create_async_engine(normalize_url(postgres_databases.new()))
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as raised:
                await connection.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        assert out_of_reach(raised.value) == DATABASE_DOWN
    finally:
        await engine.dispose()


async def test_a_round_that_met_the_database_away_logs_one_line(caplog: pytest.LogCaptureFixture) -> None:
    """While PostgreSQL restarts, every worker round fails: one line each, not a traceback each."""
    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    try:
        with pytest.raises(Exception) as refused:
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    log = logging.getLogger("tests.outage")
    with caplog.at_level(logging.INFO, logger="tests.outage"):
        log_round_failed(log, "delivery round", refused.value, 0.25)
        log_round_failed(log, "delivery round", ValueError("a fault of ours"), 0.25)
    away, fault = caplog.records
    assert away.levelno == logging.WARNING and away.exc_info is None
    assert away.getMessage().startswith("delivery round: the database is out of reach (")
    assert away.getMessage().endswith("; trying again in 0.25 s")
    assert fault.levelno == logging.ERROR and fault.exc_info is not None
    assert fault.getMessage() == "delivery round failed; trying again in 0.25 s"
