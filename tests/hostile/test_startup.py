"""A peer started with a bad setting ends with one clear line naming the setting and a non-zero exit, and a
peer that others can reach never runs with the SSRF guard off."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from peer.preflight import is_loopback, redacted
from peer.settings import KINDS
from tests.support.processes import REPO, free_port

GOOD_TOKEN = "a-long-enough-admin-token"


def start(args: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "peer.cli", *args],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_short_admin_token_is_one_line_naming_the_setting(command: str, tmp_path: Path) -> None:
    result = start([command, "--kind", "blog", "--data-dir", str(tmp_path), "--admin-token", "short"])
    assert_one_clear_line(result, "ROSE_ASH_ADMIN_TOKEN", "at least 8")


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_unreachable_database_is_one_line_naming_the_setting(command: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://rose:secret-password@127.0.0.1:{port}/nowhere"
    result = start([command, "--kind", "events", "--admin-token", GOOD_TOKEN, "--database-url", url])
    assert_one_clear_line(result, "DATABASE_URL", f"127.0.0.1:{port}")
    assert "secret-password" not in result.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_ca_bundle_that_cannot_be_read_is_one_line_naming_the_setting(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    args = [command, "--kind", "events", "--data-dir", str(tmp_path), "--admin-token", GOOD_TOKEN]
    result = start(args, env={"SSL_CERT_FILE": str(missing)})
    assert_one_clear_line(result, "SSL_CERT_FILE", str(missing), "not a file")
    (tmp_path / "empty.pem").write_text("no certificate here\n")
    result = start(args, env={"SSL_CERT_FILE": str(tmp_path / "empty.pem")})
    assert_one_clear_line(result, "SSL_CERT_FILE", "holds no usable certificate")


def test_a_database_url_of_an_unknown_kind_is_one_line(tmp_path: Path) -> None:
    result = start(["serve", "--kind", "shop", "--admin-token", GOOD_TOKEN, "--database-url", "nosuchdb://x/y"])
    assert_one_clear_line(result, "DATABASE_URL")


def test_a_bad_number_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    result = start(
        ["serve", "--kind", "blog", "--data-dir", str(tmp_path), "--admin-token", GOOD_TOKEN],
        env={"ROSE_ASH_RETRY_BASE": "soon"},
    )
    assert_one_clear_line(result, "ROSE_ASH_RETRY_BASE")


@pytest.mark.parametrize(("value", "says"), [("soon", "number of minutes"), ("0", "positive"), ("20000", "a week")])
def test_a_bad_waiting_list_offer_time_is_one_line_naming_the_setting(value: str, says: str, tmp_path: Path) -> None:
    result = start(
        ["serve", "--kind", "events", "--data-dir", str(tmp_path), "--admin-token", GOOD_TOKEN],
        env={"ROSE_ASH_WAITLIST_OFFER_MINUTES": value},
    )
    assert_one_clear_line(result, "ROSE_ASH_WAITLIST_OFFER_MINUTES", says)


def test_a_missing_kind_is_one_line(tmp_path: Path) -> None:
    result = start(["serve", "--data-dir", str(tmp_path), "--admin-token", GOOD_TOKEN])
    assert_one_clear_line(result, "ROSE_ASH_KIND")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_the_ssrf_guard_cannot_be_switched_off_on_a_reachable_address(host: str, tmp_path: Path) -> None:
    for args, env in (
        (["--allow-private"], {}),
        ([], {"ROSE_ASH_ALLOW_PRIVATE": "1"}),
    ):
        result = start(
            ["serve", "--kind", "blog", "--host", host, "--data-dir", str(tmp_path), "--admin-token", GOOD_TOKEN, *args],
            env=env,
        )
        assert_one_clear_line(result, "SSRF", host)


def test_up_on_a_reachable_address_keeps_the_guard_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`rose-ash up --host 0.0.0.0` starts its peers without --allow-private, letting only their own host through."""
    from peer import cli

    seen: list[tuple[list[str], dict[str, str]]] = []

    class Started:
        """Stands for a peer process that ends at once: what matters is how `up` would start it."""

        returncode = 0

        def __init__(self, command: list[str], env: dict[str, str]) -> None:
            seen.append((command, env))

        def poll(self) -> int:
            return 0

        def wait(self, timeout: float) -> int:
            return 0

    monkeypatch.setattr(cli.subprocess, "Popen", Started)
    monkeypatch.setattr(cli.signal, "signal", lambda *_: None)
    monkeypatch.setenv("ROSE_ASH_ADMIN_TOKEN", GOOD_TOKEN)
    for host in ("0.0.0.0", "127.0.0.1"):
        cli.up(argparse.Namespace(host=host, base_port=18001, data_dir=str(tmp_path)))
    reachable, local = seen[: len(KINDS)], seen[len(KINDS) :]
    assert len(reachable) == len(local) == len(KINDS)
    assert all("--allow-private" not in command for command, _ in reachable)
    assert all(env["ROSE_ASH_ALLOWED_HOSTS"] == "0.0.0.0" for _, env in reachable)
    assert all("--allow-private" in command for command, _ in local)


def test_loopback_and_redaction() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("example.org")
    assert redacted("postgresql://u:pw@h:5/db") == "postgresql://u:***@h:5/db"
    assert redacted("sqlite:///data/blog.db") == "sqlite:///data/blog.db"
