"""Rose Ash benchmarks near the machine's limits (issue 6): fan-out, inbox ingest, purchases, collections, memory.

    .venv/bin/python bench/run.py            # full run: about 3 minutes on 2 idle cores, up to 8 on a busy machine
    .venv/bin/python bench/run.py --quick    # smaller counts: about 2 minutes
    .venv/bin/python bench/run.py --only inbox --profile    # one phase, with py-spy profiles in the logs folder
    .venv/bin/python bench/run.py --code /tmp/old-checkout  # the same measurements of another checkout's peers

Starts real `rose-ash serve` / `rose-ash worker` processes on loopback, each on a fresh PostgreSQL database
(BENCH_DATABASE_SERVER, default postgresql://postgres@127.0.0.1:5432; dropped at the end), with loopback sinks
(bench/sink.py) as remote inboxes and remote actors, and bench/loadgen.py as the load generator. Prints a markdown
table and writes every figure to bench/results/<timestamp>.json (and latest.json). Ratios are taken against
yardsticks measured in the same run, so a noisy machine cancels out.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import pickle
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

RESULTS = REPO / "bench" / "results"
TOKEN = "bench-admin-token-0123456789"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
JSON_ACCEPT = {"accept": "application/activity+json"}
TARGETS = {"fanout_ratio": 0.7, "inbox_ratio": 0.5, "scaling": 1.8, "collections_ratio": 1.5}


@dataclass(frozen=True)
class Sizes:
    followers: int = 10_000
    inboxes: int = 5_000
    hosts: int = 16
    inbox_requests: int = 12_000
    inbox_warmup: int = 600
    concurrency: int = 32
    buyers: int = 50
    purchases_per_buyer: int = 10
    collection_items: int = 100_000
    collection_samples: int = 200
    sign_seconds: float = 2.0


FULL = Sizes()
QUICK = Sizes(
    inboxes=2_000,
    inbox_requests=3_000,
    inbox_warmup=300,
    purchases_per_buyer=3,
    collection_samples=60,
    sign_seconds=1.0,
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_ports(n: int) -> list[int]:
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


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
        cpu = self.cpu
        preexec: Callable[[], None] | None = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
        self.log_file = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=preexec,
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
        return f"{self.server_url.replace('postgresql+asyncpg://', 'postgresql://')}/{database}"

    async def new_database(self, name: str) -> str:
        database = f"{self.tag}_{name}"
        conn = await asyncpg.connect(self.raw_db_url("postgres"))
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()
        self.databases.append(database)
        return database

    async def drop_databases(self) -> None:
        if not self.databases:
            return
        conn = await asyncpg.connect(self.raw_db_url("postgres"))
        try:
            for database in self.databases:
                await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()
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


class Profiler:
    """`--profile`: py-spy samples the given processes while a measurement runs (flame-graph text, collapsed)."""

    enabled = False

    def __init__(self, cluster: Cluster, name: str, pids: list[int]) -> None:
        self.cluster, self.name, self.pids = cluster, name, pids
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Profiler:
        if not self.enabled:
            return self
        spy = str(Path(sys.executable).with_name("py-spy"))
        for pid in self.pids:
            out = self.cluster.logs / f"profile-{self.name}-{pid}.txt"
            self.procs.append(
                subprocess.Popen(
                    [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "-o", str(out)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(0.5)
        return self

    def __exit__(self, *_: object) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


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


class CpuMeter:
    """CPU used during a measurement, in cores: the whole machine, this run's processes (with the PostgreSQL
    backends serving its databases), and everything else (other users of a shared machine: noise)."""

    def __init__(self, cluster: Cluster, dsn: str | None = None, focus: list[int] | None = None) -> None:
        self.cluster, self.dsn, self.focus = cluster, dsn, focus or []
        self.hz = os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _machine() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields[:8]) - idle, sum(fields[:8])

    def _pid_ticks(self, pid: int) -> int:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0
        return int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])

    async def _pids(self) -> list[int]:
        pids = [os.getpid()] + [p.pid for p in self.cluster.procs if p.alive()]
        pids += self.cluster.child_pids
        if self.dsn:
            conn = await asyncpg.connect(self.cluster.raw_db_url("postgres"))
            try:
                rows = await conn.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE datname LIKE $1", self.cluster.tag + "%"
                )
            finally:
                await conn.close()
            pids += [r["pid"] for r in rows]
        return pids

    async def start(self) -> None:
        self.pids = await self._pids()
        self.ticks = {pid: self._pid_ticks(pid) for pid in {*self.pids, *self.focus}}
        self.busy, self.total = self._machine()
        self.t0 = time.perf_counter()

    async def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.t0
        busy, total = self._machine()
        pids = set(self.pids) | set(await self._pids())
        ours = sum(self._pid_ticks(pid) - self.ticks.get(pid, 0) for pid in pids) / self.hz / elapsed
        ncpu = os.cpu_count() or 1
        machine = (busy - self.busy) / max(1, total - self.total) * ncpu
        focus = sum(self._pid_ticks(pid) - self.ticks.get(pid, 0) for pid in self.focus) / self.hz
        return {
            "focus_cpu_s": round(focus, 3),
            "machine_cores": round(machine, 2),
            "bench_cores": round(ours, 2),
            "other_cores": round(max(0.0, machine - ours), 2),
        }


# ---------------------------------------------------------------------------------------------- crypto yardstick


def raw_rsa(seconds: float) -> dict[str, float]:
    """RSA-2048 PKCS#1 v1.5 SHA-256 signs and verifies per second on this core, as the peers do them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    message = b"(request-target): post /inbox\nhost: 127.0.0.1\ndate: x\ndigest: SHA-256=y" * 2
    pad, hash_ = padding.PKCS1v15(), hashes.SHA256()
    for _ in range(20):
        key.sign(message, pad, hash_)
    signs, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        for _ in range(20):
            signature = key.sign(message, pad, hash_)
        signs += 20
    sign_rate = signs / (time.perf_counter() - started)
    sign_cpu_ms = (time.process_time() - cpu) * 1000 / signs
    verifies, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds / 2:
        for _ in range(100):
            public.verify(signature, message, pad, hash_)
        verifies += 100
    verify_rate = verifies / (time.perf_counter() - started)
    return {
        "signs_per_s": round(sign_rate, 1),
        "sign_ms": round(1000 / sign_rate, 4),
        "sign_cpu_ms": round(sign_cpu_ms, 4),  # CPU time, which other load on the machine barely changes
        "verifies_per_s": round(verify_rate, 1),
        "verify_ms": round(1000 / verify_rate, 4),
    }


# ---------------------------------------------------------------------------------------------- remote actors


def make_actors(sink_port: int, n: int) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str, str]]]:
    """n remote actors served by the sink: their documents, and (actor id, key id, private PEM) for signing."""
    docs: dict[str, dict[str, Any]] = {}
    keys: list[tuple[str, str, str]] = []
    for i in range(n):
        name = f"a{i}"
        actor = f"http://127.0.0.1:{sink_port}/users/{name}"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        docs[name] = {
            "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Person",
            "preferredUsername": name,
            "inbox": f"{actor}/inbox",
            "outbox": f"{actor}/outbox",
            "endpoints": {"sharedInbox": f"http://127.0.0.1:{sink_port}/inbox"},
            "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": public_pem.decode()},
        }
        keys.append((actor, f"{actor}#main-key", private_pem.decode()))
    return docs, keys


def _sign_chunk(args: tuple[list[tuple[str, str, str]], str, str, int, int]) -> list[bytes]:
    """Pre-sign Create(Note) POSTs i in [start, stop): round-robin over the actors, each with a distinct id."""
    from activities.httpsig import RequestSigner, load_private_key

    keys, inbox_url, run, start, stop = args
    signers = [(actor, RequestSigner(key_id, load_private_key(pem))) for actor, key_id, pem in keys]
    path = "/" + inbox_url.split("/", 3)[3]
    now = time.time()
    out = []
    for i in range(start, stop):
        actor, signer = signers[i % len(signers)]
        note = f"{actor}/notes/{run}-{i}"
        body = json.dumps(
            {
                "@context": AS_CONTEXT,
                "id": f"{actor}/activities/{run}-{i}",
                "type": "Create",
                "actor": actor,
                "to": [PUBLIC],
                "cc": [f"{actor}/followers"],
                "object": {
                    "id": note,
                    "type": "Note",
                    "attributedTo": actor,
                    "content": f"<p>Benchmark note {i}: nothing to see here, just a few words of text.</p>",
                    "to": [PUBLIC],
                    "published": "2027-01-01T00:00:00Z",
                },
            },
            separators=(",", ":"),
        ).encode()
        headers = signer.headers_for("POST", inbox_url, body, now)
        head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        out.append(head.encode() + f"content-length: {len(body)}\r\n\r\n".encode() + body)
    return out


def presign(keys: list[tuple[str, str, str]], inbox_url: str, count: int, workers: int) -> list[bytes]:
    run = base64.urlsafe_b64encode(os.urandom(6)).decode()
    step = max(1, count // (workers * 4))
    chunks = [(keys, inbox_url, run, start, min(count, start + step)) for start in range(0, count, step)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [req for part in pool.map(_sign_chunk, chunks) for req in part]


# ---------------------------------------------------------------------------------------------- seeding


async def seed_followers(dsn: str, followers_of: str, sink_ports: list[int], n: int, inboxes: int) -> int:
    """n followers of `followers_of`, on `inboxes` distinct shared inboxes spread over the sink ports."""
    actors, items = [], []
    now = time.time()
    for i in range(n):
        group = i % inboxes
        port = sink_ports[group % len(sink_ports)]
        actor = f"http://127.0.0.1:{port}/g{group}/users/f{i}"
        shared = f"http://127.0.0.1:{port}/g{group}/inbox"
        doc = {"id": actor, "type": "Person", "inbox": f"{actor}/inbox", "endpoints": {"sharedInbox": shared}}
        actors.append((actor, f"{actor}/inbox", shared, json.dumps(doc), now))
        items.append((followers_of, actor, None, now))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "remote_actors", records=actors, columns=["id", "inbox", "shared_inbox", "data", "fetched_at"]
        )
        await copy_collection_items(conn, followers_of, items)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return min(n, inboxes)


async def copy_collection_items(conn: asyncpg.Connection, collection: str, records: list[tuple[Any, ...]]) -> None:
    """Items copied in behind the store's back, and the size the store would have kept for them (a checkout from
    before sizes were kept, measured with --code, has no such table)."""
    await conn.copy_records_to_table(
        "collection_items", records=records, columns=["collection", "item", "data", "created_at"]
    )
    if not await conn.fetchval("SELECT to_regclass('collection_sizes') IS NOT NULL"):
        return
    await conn.execute(
        "INSERT INTO collection_sizes (collection, size) SELECT $1::varchar, count(*) FROM collection_items"
        " WHERE collection = $1::varchar ON CONFLICT (collection) DO UPDATE SET size = excluded.size",
        collection,
    )


async def seed_collection(dsn: str, collection: str, n: int) -> None:
    now = time.time()
    records = [(collection, f"https://remote.example/users/u{i}", None, now) for i in range(n)]
    conn = await asyncpg.connect(dsn)
    try:
        await copy_collection_items(conn, collection, records)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# ---------------------------------------------------------------------------------------------- phases


@dataclass
class Run:
    cluster: Cluster
    sizes: Sizes
    sink_ports: list[int]
    sink: Proc
    actor_keys: list[tuple[str, str, str]]
    results: dict[str, Any] = field(default_factory=dict)
    blog: tuple[Proc, str, str] | None = None  # (process, base URL, database DSN) while it runs


async def c2s(client: httpx.AsyncClient, base: str, activity: dict[str, Any]) -> str:
    response = await client.post(
        f"{base}/actor/outbox",
        json=activity,
        headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/activity+json"},
    )
    if response.status_code != 201:
        raise RuntimeError(f"C2S {activity['type']} failed: {response.status_code} {response.text[:300]}")
    return str(response.json()["id"])


def event_activity(name: str, capacity: int = 100_000) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "type": "Create",
        "object": {
            "type": "Event",
            "name": name,
            "startTime": "2027-07-01T19:00",
            "endTime": "2027-07-01T23:00",
            "timezone": "Europe/London",
            "location": {"type": "Place", "name": "Hall"},
            "maximumAttendeeCapacity": capacity,
            "price": "12.00",
        },
    }


async def sink_stats(client: httpx.AsyncClient, port: int, reset: bool = False) -> dict[str, Any]:
    if reset:
        await client.post(f"http://127.0.0.1:{port}/_reset")
        return {}
    return dict((await client.get(f"http://127.0.0.1:{port}/_stats")).json())


async def fan_out(
    run: Run, base: str, dsn: str, expected: int, activity: dict[str, Any], label: str, pids: list[int]
) -> dict[str, Any]:
    """POST one C2S activity to followers; time until every delivery is recorded as delivered."""
    conn = await asyncpg.connect(dsn)
    profile = Profiler(run.cluster, "fanout-" + re.sub(r"\W+", "-", label), pids)
    async with httpx.AsyncClient(timeout=30.0) as client:
        await sink_stats(client, run.sink_ports[0], reset=True)
        before = await conn.fetchval("SELECT coalesce(max(id), 0) FROM fanouts")
        yardstick = raw_rsa(0.8)  # taken right next to the run it divides
        signs = yardstick["signs_per_s"]
        meter = CpuMeter(run.cluster, dsn, pids)
        await meter.start()
        profile.__enter__()
        started = time.perf_counter()
        await c2s(client, base, activity)
        activity_id = await conn.fetchval("SELECT activity_id FROM fanouts WHERE id > $1 ORDER BY id LIMIT 1", before)
        deadline = time.monotonic() + 180
        states: dict[str, int] = {}
        while time.monotonic() < deadline:
            rows = await conn.fetch(
                "SELECT state, count(*) AS n FROM deliveries WHERE activity_id = $1 GROUP BY state", activity_id
            )
            states = {r["state"]: r["n"] for r in rows}
            if states.get("delivered", 0) >= expected or (sum(states.values()) >= expected and "pending" not in states):
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        profile.__exit__()
        cpu = await meter.stop()
        stats = await sink_stats(client, run.sink_ports[0])
    attempts = await conn.fetchval(
        "SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.activity_id = $1",
        activity_id,
    )
    await conn.close()
    delivered = states.get("delivered", 0)
    send_span = (stats["last"] - stats["first"]) if stats.get("posts") else 0.0
    result = {
        "label": label,
        "deliveries": delivered,
        "expected": expected,
        "states": states,
        "attempts_recorded": attempts,
        "sink_posts": stats.get("posts", 0),
        "elapsed_s": round(elapsed, 3),
        "deliveries_per_s": round(delivered / elapsed, 1) if elapsed else 0.0,
        "send_span_s": round(send_span, 3),
        "send_rate_per_s": round(delivered / send_span, 1) if send_span else 0.0,
        "signs_per_s_adjacent": signs,
        "sign_cpu_ms_adjacent": yardstick["sign_cpu_ms"],
        "cpu": cpu,
        "worker_cpu_ms_per_delivery": round(cpu["focus_cpu_s"] * 1000 / delivered, 3) if delivered else None,
    }
    # The same ratio from CPU time: the share of the workers' CPU that is the signature itself. Other load on a
    # shared machine stretches wall-clock rates but hardly CPU time, so this one is stable from run to run.
    if delivered and cpu["focus_cpu_s"]:
        result["cpu_ratio"] = round(yardstick["sign_cpu_ms"] / result["worker_cpu_ms_per_delivery"], 3)
    log(
        f"fan-out {label}: {delivered}/{expected} in {elapsed:.2f}s = {result['deliveries_per_s']}/s, "
        f"{result['worker_cpu_ms_per_delivery']} ms CPU/delivery (sign {1000 / signs:.2f} ms), {cpu}"
    )
    return result


async def phase_fanout(run: Run) -> None:
    """Events with N followers on M inboxes: in-process worker, then 1 and 2 `rose-ash worker` processes."""
    sizes, cluster = run.sizes, run.cluster
    database = await cluster.new_database("fanout")
    dsn = cluster.raw_db_url(database)
    (port,) = free_ports(1)
    base = f"http://127.0.0.1:{port}"
    events = cluster.peer("events-fanout", "events", port, database)
    await wait_healthy(events, base)
    memory = run.results.setdefault("memory", {})
    memory["events_idle_mib"] = rss_mib(events.pid)
    expected = await seed_followers(dsn, f"{base}/actor/followers", run.sink_ports, sizes.followers, sizes.inboxes)
    runs = []
    result = await fan_out(run, base, dsn, expected, event_activity("In-process"), "in-process worker", [events.pid])
    result["workers"] = 1
    runs.append(result)
    memory["events_after_fanout_mib"] = rss_mib(events.pid)
    cluster.stop(events)

    events = cluster.peer("events-web", "events", port, database, ROSE_ASH_INPROCESS_WORKER="0")
    await wait_healthy(events, base)
    workers = []
    for n in (1, 2):
        workers.append(cluster.peer(f"events-worker{n}", "events", port, database, command="worker"))
        await asyncio.sleep(1.5)  # the worker migrates (a no-op), loads its key and starts polling
        if not workers[-1].alive():
            raise RuntimeError(f"worker {n} exited:\n{workers[-1].tail()}")
        label = f"{n} worker process{'es' if n > 1 else ''}"
        result = await fan_out(
            run, base, dsn, expected, event_activity(f"Workers {n}"), label, [w.pid for w in workers]
        )
        result["workers"] = n
        runs.append(result)
    memory["events_worker_after_fanout_mib"] = [rss_mib(w.pid) for w in workers]
    for proc in [*workers, events]:
        cluster.stop(proc)
    run.results["fanout"] = {"followers": sizes.followers, "inboxes": expected, "hosts": sizes.hosts, "runs": runs}


async def loadgen(
    run: Run,
    port: int,
    requests_file: Path,
    warmup: int,
    cpu: int | None,
    dsn: str | None = None,
    server: Proc | None = None,
) -> dict[str, Any]:
    args = [sys.executable, str(REPO / "bench" / "loadgen.py"), "--port", str(port), "--requests", str(requests_file)]
    args += ["--concurrency", str(run.sizes.concurrency), "--warmup", str(warmup), "--time-limit", "90"]
    preexec = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    meter = CpuMeter(run.cluster, dsn, [server.pid] if server else [])
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, preexec_fn=preexec
    )
    run.cluster.child_pids.append(proc.pid)
    await meter.start()
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=240)
    finally:
        run.cluster.child_pids.remove(proc.pid)
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen failed: {err.decode()[-2000:]}")
    result = dict(json.loads(out))
    result["cpu"] = await meter.stop()  # includes the warm-up
    if server is not None:
        result["server_cpu_ms_per_request"] = round(result["cpu"]["focus_cpu_s"] * 1000 / (warmup + result["count"]), 3)
    return result


def pinning() -> tuple[int | None, int | None]:
    """The server under test on the first core, the load generator on the second (when there are two)."""
    cores = cpus()
    return (cores[0], cores[1]) if len(cores) >= 2 else (None, None)


async def phase_inbox(run: Run) -> None:
    """Inbox ingest on blog vs a bare Starlette endpoint (measured before and after the peer, averaged)."""
    sizes, cluster = run.sizes, run.cluster
    server_cpu, client_cpu = pinning()
    bare_port, blog_port = free_ports(2)
    blog_base = f"http://127.0.0.1:{blog_port}"
    total = sizes.inbox_warmup + sizes.inbox_requests
    log(f"pre-signing {total} Create activities…")
    requests = presign(run.actor_keys, f"{blog_base}/inbox", total, max(1, len(cpus())))
    requests_file = cluster.logs / "inbox-requests.pickle"
    requests_file.write_bytes(pickle.dumps(requests))
    inbox: dict[str, Any] = {"concurrency": sizes.concurrency, "requests": sizes.inbox_requests}

    # The load generator's own ceiling, against the raw sink (which is cheaper than any Starlette app).
    inbox["loadgen_ceiling"] = await loadgen(run, run.sink_ports[0], requests_file, sizes.inbox_warmup, client_cpu)
    log(f"loadgen ceiling: {inbox['loadgen_ceiling']['rate']}/s")

    async def bare_run() -> dict[str, Any]:
        command = [sys.executable, str(REPO / "bench" / "bare.py"), "--port", str(bare_port)]
        bare = cluster.start("bare", command, cluster.env(), server_cpu)
        await wait_tcp(bare, bare_port)
        result = await loadgen(run, bare_port, requests_file, sizes.inbox_warmup, client_cpu, server=bare)
        cluster.stop(bare)
        log(f"bare Starlette: {result['rate']}/s, {result['server_cpu_ms_per_request']} ms CPU/req, {result['cpu']}")
        return result

    bare_before = await bare_run()
    database = await cluster.new_database("blog")
    dsn = cluster.raw_db_url(database)
    blog = cluster.peer("blog", "blog", blog_port, database, cpu=server_cpu)
    await wait_healthy(blog, blog_base)
    run.blog = (blog, blog_base, dsn)
    run.results.setdefault("memory", {})["blog_idle_mib"] = rss_mib(blog.pid)
    with Profiler(cluster, "inbox", [blog.pid]):
        peer = await loadgen(run, blog_port, requests_file, sizes.inbox_warmup, client_cpu, dsn, blog)
    conn = await asyncpg.connect(dsn)
    stored = await conn.fetchval("SELECT count(*) FROM inbox_activities")
    await conn.close()
    accepted = peer["statuses"].get("202", 0)
    peer["stored"] = stored
    peer["every_202_stored"] = stored >= accepted + sizes.inbox_warmup
    log(
        f"blog inbox: {peer['rate']}/s, {peer['server_cpu_ms_per_request']} ms CPU/req, statuses {peer['statuses']}, "
        f"stored {stored}, cpu {peer['cpu']}"
    )
    bare_after = await bare_run()
    bare = dict(bare_after)
    for key in ("rate", "p50_ms", "p90_ms", "p99_ms"):
        bare[key] = round((bare_before[key] + bare_after[key]) / 2, 3)
    inbox.update(peer=peer, bare=bare, bare_before=bare_before, bare_after=bare_after)
    inbox["ratio"] = round(peer["rate"] / bare["rate"], 3)
    bare["server_cpu_ms_per_request"] = round(
        (bare_before["server_cpu_ms_per_request"] + bare_after["server_cpu_ms_per_request"]) / 2, 4
    )
    inbox["cpu_ratio"] = round(bare["server_cpu_ms_per_request"] / peer["server_cpu_ms_per_request"], 3)
    run.results["inbox"] = inbox


async def ensure_blog(run: Run) -> tuple[Proc, str, str]:
    if run.blog is None:
        (port,) = free_ports(1)
        database = await run.cluster.new_database("blog")
        base = f"http://127.0.0.1:{port}"
        blog = run.cluster.peer("blog", "blog", port, database, cpu=pinning()[0])
        await wait_healthy(blog, base)
        run.results.setdefault("memory", {})["blog_idle_mib"] = rss_mib(blog.pid)
        run.blog = (blog, base, run.cluster.raw_db_url(database))
    return run.blog


async def phase_collections(run: Run) -> None:
    """First page vs page 1,000 of a 100k-item collection (blog's following), as JSON."""
    sizes = run.sizes
    _, blog_base, dsn = await ensure_blog(run)
    collection = f"{blog_base}/actor/following"
    await seed_collection(dsn, collection, sizes.collection_items)
    conn = await asyncpg.connect(dsn)
    cursor = await conn.fetchval(
        "SELECT seq FROM collection_items WHERE collection = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1",
        collection,
        999 * 20 - 1,
    )
    await conn.close()
    first_url, deep_url = f"{collection}?page=true", f"{collection}?before={cursor}"
    first: list[float] = []
    deep: list[float] = []
    async with httpx.AsyncClient(timeout=10.0, headers=JSON_ACCEPT) as client:
        page = (await client.get(deep_url)).json()
        items = page.get("orderedItems", [])
        total = (await client.get(collection)).json().get("totalItems")
        expected_first = f"https://remote.example/users/u{sizes.collection_items - 1 - 999 * 20}"
        for _ in range(10):
            await client.get(first_url)
            await client.get(deep_url)
        for _ in range(sizes.collection_samples):
            for url, samples in ((first_url, first), (deep_url, deep)):
                started = time.perf_counter()
                response = await client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
    run.results["collections"] = {
        "items": sizes.collection_items,
        "page_size": 20,
        "page_1000_ok": len(items) == 20 and items[0] == expected_first,
        "total_items_ok": total == sizes.collection_items,
        "first_p50_ms": round(statistics.median(first), 3),
        "first_p99_ms": round(percentile(first, 0.99), 3),
        "page1000_p50_ms": round(statistics.median(deep), 3),
        "page1000_p99_ms": round(percentile(deep, 0.99), 3),
        "ratio": round(statistics.median(deep) / statistics.median(first), 3),
    }
    log(f"collections: {run.results['collections']}")


async def phase_blog_fanout(run: Run) -> None:
    """The blog's memory after a fan-out of a new post to 10k followers (its in-process worker). Its rate is not a
    target (the events runs measure that), so the followers share fewer inboxes here to keep the run short."""
    sizes = run.sizes
    blog, blog_base, dsn = await ensure_blog(run)
    inboxes = min(sizes.inboxes, 1_000)
    expected = await seed_followers(dsn, f"{blog_base}/actor/followers", run.sink_ports, sizes.followers, inboxes)
    article = {"type": "Create", "object": {"type": "Article", "name": "Fan-out", "content": "Hello, followers."}}
    label = "blog, in-process worker pinned to one core"
    run.results["blog_fanout"] = await fan_out(run, blog_base, dsn, expected, article, label, [blog.pid])
    run.results.setdefault("memory", {})["blog_after_fanout_mib"] = rss_mib(blog.pid)
    run.cluster.stop(blog)
    run.blog = None


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


CSRF = re.compile(r'name="csrf"\s+value="([^"]+)"')


async def buyer(
    base: str, slug: str, index: int, count: int, latencies: list[float], outcomes: dict[str, int], asked: list[int]
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
        page = await client.get("/calendars")
        match = CSRF.search(page.text) or re.search(r'value="([^"]+)"\s+name="csrf"', page.text)
        if match is None:
            raise RuntimeError("no csrf token on /calendars")
        csrf = match.group(1)
        for n in range(count):
            started = time.perf_counter()
            response = await client.post(
                f"/events/{slug}/buy",
                data={"csrf": csrf, "name": f"Buyer {index}", "email": f"b{index}-{n}@example.test", "quantity": "1"},
            )
            if response.status_code != 303:
                outcomes["buy_failed"] = outcomes.get("buy_failed", 0) + 1
                continue
            status_url = response.headers["location"] + "/status"
            deadline = time.monotonic() + 60
            state, pause = "pending", 0.05
            while time.monotonic() < deadline:
                # `wait`: the events peer answers when the purchase is settled (or after 10 s), so the buyer learns
                # the outcome at once without polling. A peer that answers at once anyway (an older checkout,
                # `--code`) is polled as before: short pauses growing to 0.5 s.
                sent = time.monotonic()
                state = (await client.get(status_url, params={"wait": "10"})).json()["fields"]["state"]
                asked[0] += 1
                if state != "pending":
                    break
                if time.monotonic() - sent < 5:
                    await asyncio.sleep(pause)
                    pause = min(0.5, pause * 1.5)  # a browser polls every 2 s; finer, but not a flood of its own
            outcomes[state] = outcomes.get(state, 0) + 1
            if state == "confirmed":
                latencies.append((time.perf_counter() - started) * 1000)


async def phase_purchases(run: Run) -> None:
    sizes, cluster = run.sizes, run.cluster
    events_db, shop_db = await cluster.new_database("events"), await cluster.new_database("shop")
    events_port, shop_port = free_ports(2)
    events_base, shop_base = f"http://127.0.0.1:{events_port}", f"http://127.0.0.1:{shop_port}"
    events = cluster.peer("events", "events", events_port, events_db, peers={"shop": shop_base})
    shop = cluster.peer("shop", "shop", shop_port, shop_db, peers={"events": events_base})
    await wait_healthy(events, events_base)
    await wait_healthy(shop, shop_base)
    memory = run.results.setdefault("memory", {})
    memory["shop_idle_mib"] = rss_mib(shop.pid)
    async with httpx.AsyncClient(timeout=30.0) as client:
        event_id = await c2s(client, events_base, event_activity("Benchmark gig"))
    slug = event_id.rsplit("/", 1)[-1]
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    asked = [0]  # status requests the buyers made
    cpu0 = time.process_time()
    meter = CpuMeter(cluster, cluster.raw_db_url(events_db), [events.pid, shop.pid])
    await meter.start()
    started = time.perf_counter()
    with Profiler(cluster, "purchases", [events.pid, shop.pid]):
        await asyncio.gather(
            *(
                buyer(events_base, slug, i, sizes.purchases_per_buyer, latencies, outcomes, asked)
                for i in range(sizes.buyers)
            )
        )
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - cpu0
    peers_cpu = await meter.stop()
    econn = await asyncpg.connect(cluster.raw_db_url(events_db))
    sconn = await asyncpg.connect(cluster.raw_db_url(shop_db))
    bought = sum(outcomes.values()) - outcomes.get("buy_failed", 0)
    settle = time.monotonic() + 90  # a buyer gives up waiting after 60 s; the system still has to finish
    while time.monotonic() < settle:
        pending = await econn.fetchval(
            "SELECT count(*) FROM objects WHERE type = 'TicketPurchase' AND data->>'state' = 'pending'"
        )
        if not pending:
            break
        await asyncio.sleep(0.2)
    sold = await econn.fetchval("SELECT count(*) FROM collection_items WHERE collection = $1", f"{event_id}/sold")
    confirmed = await econn.fetchval(
        "SELECT count(*) FROM objects WHERE type = 'TicketPurchase' AND data->>'state' = 'confirmed'"
    )
    orders = await sconn.fetchval("SELECT count(*) FROM collection_items WHERE collection = $1", f"{shop_base}/orders")
    server_side = [
        (r["updated_at"] - r["created_at"]) * 1000
        for r in await econn.fetch(
            "SELECT created_at, updated_at FROM objects WHERE type = 'TicketPurchase' AND data->>'state' = 'confirmed'"
        )
    ]
    await econn.close()
    await sconn.close()
    async with httpx.AsyncClient(timeout=10.0, headers=JSON_ACCEPT) as client:
        sold_http = (await client.get(f"{events_base}/events/{slug}/sold")).json().get("totalItems")
    count = outcomes.get("confirmed", 0)
    run.results["purchases"] = {
        "buyers": sizes.buyers,
        "attempted": sizes.buyers * sizes.purchases_per_buyer,
        "outcomes": outcomes,
        "elapsed_s": round(elapsed, 3),
        "purchases_per_s": round(count / elapsed, 2) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "server_p50_ms": round(percentile(server_side, 0.5), 1),
        "server_p99_ms": round(percentile(server_side, 0.99), 1),
        "status_requests_per_purchase": round(asked[0] / max(1, bought), 1),
        "sold": sold,
        "sold_http": sold_http,
        "orders": orders,
        "purchases_confirmed": confirmed,
        "bought": bought,
        "client_gave_up": outcomes.get("pending", 0),
        "consistent": sold == orders == confirmed == sold_http == bought,
        "client_cpu_share": round(client_cpu / elapsed, 3) if elapsed else 0.0,
        "cpu": peers_cpu,
        "peers_cpu_ms_per_purchase": round(peers_cpu["focus_cpu_s"] * 1000 / max(1, count), 1),
    }
    memory["events_after_purchases_mib"] = rss_mib(events.pid)
    memory["shop_after_purchases_mib"] = rss_mib(shop.pid)
    log(f"purchases: {run.results['purchases']}")
    cluster.stop(events)
    cluster.stop(shop)


# ---------------------------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(cpus()),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def table(results: dict[str, Any]) -> str:
    m, rsa_ = results["machine"], results["rsa"]
    rows = [
        "| Measure | Result | Yardstick (same run) | Ratio | Target |",
        "| --- | --- | --- | --- | --- |",
        f"| RSA-2048 sign, one core | {rsa_['signs_per_s']:,.0f}/s ({rsa_['sign_ms']:.3f} ms) | | | |",
        f"| RSA-2048 verify, one core | {rsa_['verifies_per_s']:,.0f}/s ({rsa_['verify_ms']:.3f} ms) | | | |",
    ]
    fanout = results.get("fanout")
    if fanout:
        one = None
        for r in fanout["runs"]:
            signs = r.get("signs_per_s_adjacent") or rsa_["signs_per_s"]
            ratio = r["deliveries_per_s"] / (signs * r["workers"])
            r["ratio"] = round(ratio, 3)
            if r["label"].startswith("1 worker"):
                one = r
            scaling = ""
            if r["workers"] == 2 and one:
                r["scaling"] = round(r["deliveries_per_s"] / one["deliveries_per_s"], 2)
                scaling = f"; x{r['scaling']} vs 1 process ({verdict(r['scaling'] >= TARGETS['scaling'])})"
            cpu_ratio = r.get("cpu_ratio")
            rows.append(
                f"| Fan-out, {r['label']} ({fanout['followers']:,} followers → {r['expected']:,} inboxes) "
                f"| {r['deliveries_per_s']:,.0f} deliveries/s ({r['deliveries']:,}/{r['expected']:,} recorded); "
                f"{r['worker_cpu_ms_per_delivery']:.2f} ms CPU per delivery; other load {r['cpu']['other_cores']:.1f} "
                f"cores | {signs:,.0f} signs/s x {r['workers']}; sign {r['sign_cpu_ms_adjacent']:.2f} ms CPU "
                f"| {ratio:.2f} (CPU: {cpu_ratio:.2f}) "
                f"| ≥ 0.7: {verdict(min(ratio, cpu_ratio or 0) >= TARGETS['fanout_ratio'])}{scaling} |"
            )
    inbox = results.get("inbox")
    if inbox:
        b, p = inbox["bare"], inbox["peer"]
        rows.append(
            f"| Inbox ingest, signed Create, {inbox['concurrency']} clients (blog) | {p['rate']:,.0f} accepted/s, "
            f"p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms; every 202 stored: {p['every_202_stored']}; "
            f"{p['server_cpu_ms_per_request']:.2f} ms server CPU per request; other load "
            f"{p['cpu']['other_cores']:.1f} cores "
            f"| bare Starlette 202: {b['rate']:,.0f}/s, p50 {b['p50_ms']:.1f} ms, p99 {b['p99_ms']:.1f} ms; "
            f"{b['server_cpu_ms_per_request']:.2f} ms CPU per request "
            f"| {inbox['ratio']:.2f} (CPU: {inbox['cpu_ratio']:.2f}) "
            f"| ≥ 0.5: {verdict(min(inbox['ratio'], inbox['cpu_ratio']) >= TARGETS['inbox_ratio'])} |"
        )
        c = inbox["loadgen_ceiling"]
        rows.append(
            f"| Load generator ceiling (vs raw sink) | {c['rate']:,.0f} req/s | its CPU share during the peer run: "
            f"{p['cpu_share']:.0%} | | not the limit: {verdict(c['rate'] > 1.5 * b['rate'])} |"
        )
    purchases = results.get("purchases")
    if purchases:
        pu = purchases
        rows.append(
            f"| Purchases, {pu['buyers']} concurrent buyers (buy → Offer → Accept → confirmed) "
            f"| {pu['purchases_per_s']:,.1f}/s, p50 {pu['p50_ms']:,.0f} ms, p99 {pu['p99_ms']:,.0f} ms as the buyer "
            f"saw it (confirmed in the store: p50 {pu['server_p50_ms']:,.0f} ms, p99 {pu['server_p99_ms']:,.0f} ms); "
            f"{pu['client_gave_up']} buyers stopped waiting after 60 s "
            f"| sold {pu['sold']} = orders {pu['orders']} = confirmed {pu['purchases_confirmed']} = bought "
            f"{pu['bought']} | | sold = orders: {verdict(pu['consistent'])} |"
        )
    col = results.get("collections")
    if col:
        rows.append(
            f"| Collection of {col['items']:,}: page 1,000 vs first page | {col['page1000_p50_ms']:.2f} ms "
            f"(p99 {col['page1000_p99_ms']:.2f}) | first page {col['first_p50_ms']:.2f} ms "
            f"(p99 {col['first_p99_ms']:.2f}) | {col['ratio']:.2f} | near 1: {verdict(col['ratio'] <= 1.5)} |"
        )
    mem = results.get("memory")
    if mem:
        after_workers = ", ".join(f"{v:.0f}" for v in mem.get("events_worker_after_fanout_mib", []))
        rows.append(
            f"| Resident memory, idle | blog {mem.get('blog_idle_mib', 0):.0f} MiB, events "
            f"{mem.get('events_idle_mib', 0):.0f} MiB, shop {mem.get('shop_idle_mib', 0):.0f} MiB | | | |"
        )
        rows.append(
            f"| Resident memory after a fan-out to {results['sizes']['followers']:,} followers | events "
            f"{mem.get('events_after_fanout_mib', 0):.0f} MiB, blog {mem.get('blog_after_fanout_mib', 0):.0f} MiB "
            f"(worker processes {after_workers} MiB); shop after purchases "
            f"{mem.get('shop_after_purchases_mib', 0):.0f} MiB | | | |"
        )
    header = (
        f"Machine: {m['nproc']} x {m['cpu_model']} ({m['cpus_usable']} usable), Python {m['python']}, "
        f"PostgreSQL on loopback; {results['mode']} run of {results['elapsed_s']:.0f} s. Ratios: wall-clock rate over "
        "the yardstick measured next to it, and in brackets the same from CPU time (robust to other load on the "
        "machine, which is shown per row); a target is met when both reach it."
    )
    return header + "\n\n" + "\n".join(rows)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    sizes = QUICK if args.quick else FULL
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = RESULTS / f"logs-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(args.database_server, logs, args.code.resolve())
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "code": str(args.code),
        "started": stamp,
        "machine": machine(),
        "sizes": sizes.__dict__,
        "targets": TARGETS,
    }
    started = time.perf_counter()
    try:
        log("measuring raw RSA-2048 on one core…")
        results["rsa"] = raw_rsa(sizes.sign_seconds)
        log(f"raw RSA: {results['rsa']}")
        sink_ports = free_ports(sizes.hosts)
        actors_file = logs / "actors.json"
        docs, keys = make_actors(sink_ports[0], 4)
        actors_file.write_text(json.dumps(docs))
        ports = ",".join(map(str, sink_ports))
        sink_command = [sys.executable, str(REPO / "bench" / "sink.py"), "--ports", ports, "--actors", str(actors_file)]
        sink = cluster.start("sink", sink_command, cluster.env())
        await wait_tcp(sink, sink_ports[-1])
        run = Run(cluster, sizes, sink_ports, sink, keys, results)
        phases = {
            "fanout": phase_fanout,
            "inbox": phase_inbox,
            "collections": phase_collections,
            "blog-fanout": phase_blog_fanout,
            "purchases": phase_purchases,
        }
        for name, phase in phases.items():
            if args.only and name not in args.only:
                continue
            log(f"phase {name}…")
            await phase(run)
    finally:
        cluster.stop_all()
        if not args.keep_databases:
            await cluster.drop_databases()
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts (about 1-2 minutes)")
    parser.add_argument(
        "--database-server",
        default=os.environ.get("BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without a database; one database per peer is created and dropped",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=["fanout", "inbox", "collections", "blog-fanout", "purchases"],
        help="run one phase",
    )
    parser.add_argument("--keep-databases", action="store_true")
    parser.add_argument("--code", type=Path, default=REPO, help="measure the peers of another checkout (before/after)")
    parser.add_argument("--profile", action="store_true", help="py-spy the measured processes (logs dir)")
    args = parser.parse_args()
    Profiler.enabled = args.profile
    results = asyncio.run(main_async(args))
    text = table(results)
    results["table"] = text
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{results['started']}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(results, indent=2))
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    print(text)
    print(f"\nFigures: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
