"""What a measurement reads besides its own clock: the RSA yardstick, the CPU the run's processes used, py-spy
profiles (`--profile`)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench.harness import Cluster


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


class Profiler:
    """`--profile`: py-spy samples the given processes while a measurement runs (flame-graph text, collapsed)."""

    enabled = False

    def __init__(self, cluster: Cluster, name: str, pids: list[int]) -> None:
        self.cluster, self.name, self.pids = cluster, name, pids
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Profiler:
        if not self.enabled:
            return self
        spy = os.environ.get("BENCH_PY_SPY") or shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
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
        each = [(self._pid_ticks(pid) - self.ticks.get(pid, 0)) / self.hz for pid in self.focus]
        return {
            "focus_cpu_s": round(sum(each), 3),
            "focus_each_cpu_s": [round(seconds, 3) for seconds in each],  # in the order of `focus`
            "machine_cores": round(machine, 2),
            "bench_cores": round(ours, 2),
            "other_cores": round(max(0.0, machine - ours), 2),
        }
