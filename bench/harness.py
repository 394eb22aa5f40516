"""The processes and databases of a benchmark run: peers, workers, sinks and yardstick servers on loopback, each
peer on a fresh PostgreSQL database, all of them stopped and dropped at the end."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
TOKEN = "bench-admin-token-0123456789"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"


def database_server() -> str:
    """The PostgreSQL server the benchmarks make their databases on (a URL without a database)."""
    return os.environ.get("BENCH_DATABASE_SERVER", DEFAULT_SERVER)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_ports(n: int) -> list[int]:
    # All n bound at once, so that they are distinct.
    sockets = []
    for _ in range(n):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [s.getsockname()[1] for s in sockets]
    for sock in sockets:
        sock.close()
    return ports


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pinning() -> tuple[int | None, int | None]:
    """The server under test on the first core, the load generator on the second (when there are two)."""
    cores = cpus()
    return (cores[0], cores[1]) if len(cores) >= 2 else (None, None)


def on_cpu(cpu: int | None) -> Callable[[], None] | None:
    """A `preexec_fn` that pins the child process to one core (None: not pinned)."""
    return (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None


def sink_command(ports: list[int], actors_file: Path | None = None) -> list[str]:
    """bench/sink.py on these ports: the remote inboxes (and, from `actors_file`, the remote actors)."""
    command = [sys.executable, str(REPO / "bench" / "sink.py"), "--ports", ",".join(map(str, ports))]
    return command + (["--actors", str(actors_file)] if actors_file else [])


# ---------------------------------------------------------------------------------------------- databases


def plain_url(server_url: str, database: str) -> str:
    """The asyncpg DSN of `database` on the server."""
    return f"{server_url.rstrip('/').replace('postgresql+asyncpg://', 'postgresql://')}/{database}"


async def create_database(server_url: str, database: str) -> None:
    conn = await asyncpg.connect(plain_url(server_url, "postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def drop_databases(server_url: str, databases: list[str]) -> None:
    conn = await asyncpg.connect(plain_url(server_url, "postgres"))
    try:
        for database in databases:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


# ---------------------------------------------------------------------------------------------- processes


@dataclass
class Proc:
    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    cpu: int | None = None
    cwd: Path = REPO
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        self.log_file = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=on_cpu(self.cpu),
        )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
        self.log_file.close()
        self.popen = None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Cluster:
    """Every process and database the run made, so that all of them go away at the end."""

    def __init__(self, server_url: str, logs: Path, code: Path = REPO) -> None:
        self.code = code  # the checkout whose peers are measured (`--code`, for before/after comparisons)
        self.server_url = server_url.rstrip("/")
        self.logs = logs
        self.procs: list[Proc] = []
        self.databases: list[str] = []
        self.child_pids: list[int] = []  # short-lived helpers (the load generator) while they run
        self.tag = f"bench_{os.getpid()}_{int(time.time())}"

    def env(self, database: str | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(PYTHONUNBUFFERED="1", NO_PROXY="*")
        if database:
            env["DATABASE_URL"] = self.db_url(database)
        env.update(extra)
        return env

    def db_url(self, database: str) -> str:
        return f"{self.server_url.replace('postgresql://', 'postgresql+asyncpg://')}/{database}"

    def raw_db_url(self, database: str) -> str:
        return plain_url(self.server_url, database)

    async def new_database(self, name: str) -> str:
        database = f"{self.tag}_{name}"
        await create_database(self.server_url, database)
        self.databases.append(database)
        return database

    async def drop_databases(self) -> None:
        if self.databases:
            await drop_databases(self.server_url, self.databases)
        self.databases.clear()

    def start(
        self, name: str, command: list[str], env: dict[str, str], cpu: int | None = None, cwd: Path = REPO
    ) -> Proc:
        proc = Proc(name, command, env, self.logs / f"{name}.log", cpu, cwd).start()
        self.procs.append(proc)
        return proc

    def peer(
        self,
        name: str,
        kind: str,
        port: int,
        database: str,
        *,
        peers: dict[str, str] | None = None,
        command: str = "serve",
        cpu: int | None = None,
        **env: str,
    ) -> Proc:
        """`rose-ash serve|worker` of the measured checkout: its cwd and PYTHONPATH, so that with `--code` the
        peer runs the other checkout's code while this harness (and what it imports) stays this one's."""
        args = [sys.executable, "-m", "peer.cli", command, "--kind", kind, "--port", str(port)]
        args += ["--base-url", f"http://127.0.0.1:{port}", "--admin-token", TOKEN, "--allow-private"]
        for other, url in (peers or {}).items():
            args += ["--peer", f"{other}={url}"]
        env = self.env(database, **env)
        env.update(json.loads(os.environ.get("BENCH_PEER_ENV", "{}")))  # e.g. '{"ROSE_ASH_INPROCESS_WORKER": "0"}'
        if self.code != REPO:
            env["PYTHONPATH"] = str(self.code)
        return self.start(name, args, env, cpu, self.code)

    def stop(self, proc: Proc) -> None:
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


async def wait_healthy(proc: Proc, url: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not become healthy:\n{proc.tail()}")


async def wait_tcp(proc: Proc, port: int, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{proc.name} is not listening")
