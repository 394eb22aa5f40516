"""activityrelay (tests/relay/.venv, made by scripts/install-relay.sh) as a real process on loopback: its own
config and SQLite database in a folder of the test's, plain HTTP on 127.0.0.1, reached over https through a
TLS terminator at `https://<domain>` (it names itself https://<domain>/actor and fetches its followers over
https only, so the domain is a loopback address with a certificate from the test's CA)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.processes import REPO, free_port

VENV = REPO / "tests" / "relay" / ".venv"
BINARY = VENV / "bin" / "activityrelay"
INSTALLER = REPO / "scripts" / "install-relay.sh"


def installed() -> bool:
    return subprocess.run(["bash", str(INSTALLER), "--check"], capture_output=True).returncode == 0


class RelayProcess:
    def __init__(self, folder: Path, domain: str, ca_file: Path) -> None:
        self.folder, self.domain, self.port = folder, domain, free_port()
        self.config = folder / "relay.yaml"
        self.log_path = folder / "relay.log"
        self.env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self.env.update({"SSL_CERT_FILE": str(ca_file), "NO_PROXY": "*", "PYTHONUNBUFFERED": "1"})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def actor(self) -> str:
        return f"https://{self.domain}/actor"

    @property
    def inbox(self) -> str:
        return f"https://{self.domain}/inbox"

    def _cli(self, *args: str, answer: str = "") -> None:
        with self.log_path.open("ab") as log:
            subprocess.run(
                [str(BINARY), "-c", str(self.config), *args],
                input=answer.encode(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.folder,
                timeout=60,
                check=False,
            )

    def start(self, timeout: float = 30.0) -> RelayProcess:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f"listen: 127.0.0.1\nport: {self.port}\ndomain: {self.domain}\nworkers: 1\n"
            "db_type: sqlite\nca_type: database\nsq_path: relay.sqlite3\n"
        )
        self._cli("setup", "--skip-questions", answer="n\n")  # makes the key and the tables; "n": do not run yet
        self._cli("config", "set", "log-level", "verbose")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BINARY), "-c", str(self.config), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.folder,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"activityrelay exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    if client.get(f"http://127.0.0.1:{self.port}/actor").status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"activityrelay did not answer in {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its push workers are its children, in its session
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""
