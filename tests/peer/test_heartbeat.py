"""`rose-ash worker`'s heartbeat, the container health check of a worker: a real worker process keeps the file
fresh while it runs, `python -m peer.heartbeat` passes then and fails once the worker is gone."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from peer.heartbeat import fresh
from tests.support.admin import eventually
from tests.support.processes import REPO, PeerProcess


def health(path: Path, max_age: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peer.heartbeat", max_age],
        cwd=REPO,
        env={"ROSE_ASH_HEARTBEAT_FILE": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_running_worker_is_healthy_and_a_stopped_one_is_not(
    peer_process: Callable[..., PeerProcess], tmp_path: Path
) -> None:
    beat = tmp_path / "worker.alive"
    assert health(beat, "30").returncode == 1  # no worker has beaten yet
    worker = peer_process("events", command="worker", env={"ROSE_ASH_HEARTBEAT_FILE": str(beat)})
    eventually(lambda: fresh(beat, 10.0), timeout=30, what="the worker's first heartbeat")
    first = beat.stat().st_mtime
    eventually(lambda: beat.stat().st_mtime > first, timeout=15, what="a second heartbeat")
    assert health(beat, "30").returncode == 0

    worker.kill(signal.SIGTERM)
    time.sleep(2.5)
    failed = health(beat, "2")
    assert failed.returncode == 1
    assert "older than 2 seconds" in failed.stderr


def test_a_worker_without_a_heartbeat_file_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "peer.heartbeat"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "ROSE_ASH_HEARTBEAT_FILE is not set" in done.stderr
