"""Test infrastructure shared by the suites.

- `database_url`: a fresh database, once on SQLite and once on PostgreSQL (TEST_DATABASE_URL; skipped when
  it is unset, a failure when CI=true). `databases` hands out more of the same backend.
- `store`: a migrated `store.Store` on `database_url`.
- `fake_server`, `remote_actor`: real loopback HTTP servers — a remote actor whose key the peers fetch, and
  recording inbox sinks with configurable answers.
- `peer_process`: real `rose-ash serve` processes, each on its own database; logs attached to failures.
- `smtp_server`: a real SMTP server (aiosmtpd) on loopback that records and parses what it receives.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from store import Store, open_store
from store.migrate import migrate
from tests.support.actors import KeyPair, RemoteActor, key_pair
from tests.support.databases import Databases, Peek, postgres_or_skip, postgres_server_url
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess
from tests.support.smtp import SmtpSink

PEER_LOGS = pytest.StashKey[list[Path]]()
BEFORE_DROP = pytest.StashKey[list[Callable[[], None]]]()
KEY_POOL = 8


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "federation: real peer processes talking to each other")
    config.addinivalue_line("markers", "faults: crashes and restarts of real peer processes")


def pytest_report_header(config: pytest.Config) -> str:
    url = postgres_server_url()
    return (
        f"PostgreSQL for tests: {url}" if url else "PostgreSQL for tests: none (TEST_DATABASE_URL unset): SQLite only"
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        postgres_or_skip()
    return str(request.param)


def before_drop(request: pytest.FixtureRequest, action: Callable[[], None]) -> None:
    """Run `action` before the test's databases are dropped (stop a peer, close an engine)."""
    request.node.stash.setdefault(BEFORE_DROP, []).append(action)


def _stop_processes(request: pytest.FixtureRequest) -> None:
    """Peers and peeks go before their databases are dropped, whatever order the fixtures were set up in."""
    for action in request.node.stash.get(BEFORE_DROP, []):
        action()


@pytest.fixture
def databases(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Databases]:
    dbs = Databases(backend, tmp_path, postgres_server_url() if backend == "postgres" else "")
    try:
        yield dbs
    finally:
        _stop_processes(request)
        dbs.cleanup()


@pytest.fixture
def database_url(databases: Databases) -> str:
    return databases.new()


@pytest.fixture
def postgres_databases(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Databases]:
    """Fresh PostgreSQL databases for the PostgreSQL-only tests."""
    dbs = Databases("postgres", tmp_path, postgres_or_skip())
    try:
        yield dbs
    finally:
        _stop_processes(request)
        dbs.cleanup()


async def open_migrated(url: str) -> Store:
    store = open_store(url)
    await migrate(store)
    return store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_migrated(database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def fake_server() -> Iterator[Callable[[], FakeServer]]:
    """Factory of loopback HTTP servers (each its own host:port); all closed at teardown."""
    servers: list[FakeServer] = []

    def make() -> FakeServer:
        server = FakeServer()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def remote_actor(fake_server: Callable[[], FakeServer]) -> Callable[..., RemoteActor]:
    """Factory: `remote_actor(name="alice", server=None, key=None, shared_inbox=True)`; each actor of a
    test gets its own key."""
    counter = itertools.count()

    def make(
        name: str = "alice",
        *,
        server: FakeServer | None = None,
        key: KeyPair | None = None,
        shared_inbox: bool = True,
    ) -> RemoteActor:
        index = next(counter)
        assert key is not None or index < KEY_POOL, "use more keys: pass key=key_pair(n)"
        return RemoteActor(server or fake_server(), name, key or key_pair(index), shared_inbox=shared_inbox)

    return make


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def peer_logs(request: pytest.FixtureRequest) -> list[Path]:
    logs: list[Path] = []
    request.node.stash[PEER_LOGS] = logs
    return logs


@pytest.fixture
def processes(
    tmp_path: Path, peer_logs: list[Path], request: pytest.FixtureRequest
) -> Iterator[Callable[..., PeerProcess]]:
    """Factory of peer processes on explicit databases: `processes(kind, database_url=…, start=True, …)`.
    Every process is terminated at teardown."""
    made: list[PeerProcess] = []
    counter = itertools.count()

    def make(kind: str, *, database_url: str, start: bool = True, **options: Any) -> PeerProcess:
        log_path = tmp_path / f"{options.get('command', 'serve')}-{kind}-{next(counter)}.log"
        peer_logs.append(log_path)
        process = PeerProcess(kind, database_url=database_url, log_path=log_path, **options)
        made.append(process)
        before_drop(request, process.stop)
        return process.start() if start else process

    try:
        yield make
    finally:
        for process in made:
            process.stop()


@pytest.fixture
def peer_process(processes: Callable[..., PeerProcess], databases: Databases) -> Callable[..., PeerProcess]:
    """Factory: `peer_process("blog", peers={...}, env={...}, start=True)`, each peer on its own fresh
    database of the test's backend (pass database_url= to share one, e.g. on restart)."""

    def make(kind: str, *, database_url: str | None = None, **options: Any) -> PeerProcess:
        return processes(kind, database_url=database_url or databases.new(kind), **options)

    return make


@pytest.fixture
def peek(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Peek]]:
    """Factory: `peek(database_url)` → a Peek (one engine on a background loop) closed at teardown."""
    made: list[Peek] = []

    def make(url: str) -> Peek:
        opened = Peek(url)
        made.append(opened)
        before_drop(request, opened.close)
        return opened

    try:
        yield make
    finally:
        for opened in made:
            opened.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        for path in item.stash.get(PEER_LOGS, []):
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-150:]
                report.sections.append((f"peer log {path.name}", "\n".join(lines)))
