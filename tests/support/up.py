"""`rose-ash up` as a newcomer runs it: one command, every peer a process of its own on consecutive ports of
loopback, on SQLite in a data folder of the test's."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from peer.settings import KINDS


def free_base_port(count: int = len(KINDS)) -> int:
    """A port P with P … P+count-1 all free."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base > 65000:
            continue
        try:
            for offset in range(count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports")


@contextlib.contextmanager
def rose_ash_up(tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Each kind's base URL once all answer /healthz, and "token": the admin token `up` printed; on the way out
    `up` is stopped with Ctrl-C and must end cleanly."""
    base = free_base_port()
    log_path = tmp_path / "up.log"
    child_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | (env or {})
    command = [sys.executable, "-m", "peer.cli", "up", "--base-port", str(base), "--data-dir", str(tmp_path / "data")]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=child_env)
        urls = {kind: f"http://127.0.0.1:{base + i}" for i, kind in enumerate(KINDS)}
        try:
            deadline = time.monotonic() + 60  # four processes starting at once on a loaded machine
            for url in urls.values():
                while True:
                    try:
                        if httpx.get(f"{url}/healthz", timeout=1, trust_env=False).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("the peers did not start:\n" + log_path.read_text())
                    time.sleep(0.2)
            urls["token"] = (tmp_path / "data" / "admin-token").read_text().strip()
            yield urls
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert proc.returncode == 0, "rose-ash up did not stop cleanly on Ctrl-C:\n" + log_path.read_text()[-2000:]
