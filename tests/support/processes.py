"""Real peer processes: `python -m peer.cli serve|worker …` on loopback, each on its own database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "test-admin-token-0123456789"
FAST_ENV = {
    "ROSE_ASH_RETRY_BASE": "0.5",  # retries within a test's patience
    "ROSE_ASH_LEASE_SECONDS": "10",  # a killed worker's leases lapse soon (a POST may take half of it)
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(FAST_ENV)
    env.update({"DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", "NO_PROXY": "*"})
    env.update(extra or {})
    return env


class PeerProcess:
    """One `rose-ash serve` (or `rose-ash worker`) process. Its output goes to `log_path`."""

    def __init__(
        self,
        kind: str,
        *,
        database_url: str,
        log_path: Path,
        port: int | None = None,
        peers: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        command: str = "serve",
        base_url: str | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.kind = kind
        self.database_url = database_url
        self.log_path = log_path
        self.port = port or free_port()
        self.peers = peers or {}
        self.env = env or {}
        self.command = command
        self.base_url = base_url or f"http://127.0.0.1:{self.port}"
        self.extra_args = extra_args or []
        self.admin_token = ADMIN_TOKEN
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def actor_id(self) -> str:
        return f"{self.base_url}/actor"

    @property
    def inbox(self) -> str:
        return f"{self.actor_id}/inbox"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def argv(self) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "peer.cli",
            self.command,
            "--kind",
            self.kind,
            "--port",
            str(self.port),
            "--base-url",
            self.base_url,
            "--admin-token",
            self.admin_token,
            "--data-dir",
            str(self.log_path.parent / f"data-{self.kind}-{self.port}"),
            "--allow-private",
            *self.extra_args,
        ]
        for name, url in self.peers.items():
            args += ["--peer", f"{name}={url}"]
        return args

    def start(self, timeout: float = 30.0) -> PeerProcess:
        self.launch()
        if self.command == "serve":
            self.wait_ready(timeout)
        return self

    def launch(self) -> PeerProcess:
        """Start the process without waiting for it (start several, then `wait_ready` each)."""
        assert not self.running, "already running"
        with self.log_path.open("ab") as log:
            log.write(f"\n===== {' '.join(self.argv()[2:])}\n".encode())
            self.process = subprocess.Popen(
                self.argv(),
                cwd=REPO,
                env=child_env(self.database_url, self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.kind} peer exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.base_url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"{self.kind} peer did not become healthy in {timeout}s:\n{self.log_tail()}")

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 15.0) -> int | None:
        """Send `sig` and wait for the process to end; its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def stop(self) -> None:
        self.kill(signal.SIGTERM, timeout=10.0)

    def restart(self, timeout: float = 30.0) -> PeerProcess:
        self.stop()
        self.process = None
        return self.start(timeout)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])
