"""`rose-ash up | serve | worker | import-ghost`."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from net.tls import NoCaBundle, client_context
from peer.preflight import StartupError, check_database, is_loopback
from peer.settings import KINDS, Settings

DEFAULT_TOKEN_FILE = "admin-token"


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=KINDS, default=os.environ.get("ROSE_ASH_KIND"))
    parser.add_argument("--host", default=os.environ.get("ROSE_ASH_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ROSE_ASH_PORT", "8000")))
    parser.add_argument("--base-url", help="public base URL (env ROSE_ASH_BASE_URL)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (env DATABASE_URL); default a SQLite file")
    parser.add_argument("--peer", action="append", default=[], help="NAME=URL of another peer (repeat)")
    parser.add_argument("--trust", action="append", default=[], help="base or actor URL to trust at once")
    parser.add_argument("--admin-token", help="admin token (env ROSE_ASH_ADMIN_TOKEN)")
    parser.add_argument("--data-dir", default=os.environ.get("ROSE_ASH_DATA_DIR", "data"))
    parser.add_argument("--allow-private", action="store_true", help="dev mode: fetch private addresses")
    parser.add_argument("--no-worker", action="store_true", help="run no delivery worker in this process")
    parser.add_argument("--access-log", action="store_true")


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings the flags and the environment give; StartupError, in one sentence, when they don't add up."""
    env = dict(os.environ)
    env["ROSE_ASH_DATA_DIR"] = args.data_dir
    if args.peer:
        env["ROSE_ASH_PEERS"] = ",".join(args.peer)
    if args.trust:
        env["ROSE_ASH_TRUSTED"] = ",".join(args.trust)
    if args.allow_private:
        env["ROSE_ASH_ALLOW_PRIVATE"] = "1"
    if getattr(args, "no_worker", False):
        env["ROSE_ASH_INPROCESS_WORKER"] = "0"
    env.setdefault("ROSE_ASH_BASE_URL", f"http://{args.host}:{args.port}")
    try:
        settings = Settings.from_env(
            env, kind=args.kind, base_url=args.base_url, database_url=args.database_url, admin_token=args.admin_token
        )
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    try:
        client_context(env)  # SSL_CERT_FILE: a bundle that cannot be read ends the start, not every https request
    except NoCaBundle as exc:
        raise StartupError(str(exc)) from None
    if settings.allow_private and not is_loopback(args.host):
        raise StartupError(
            f"--allow-private (ROSE_ASH_ALLOW_PRIVATE) turns the SSRF guard off, so it needs a loopback --host, "
            f"not {args.host}; name the peers' hosts in ROSE_ASH_ALLOWED_HOSTS instead"
        )
    return settings


def checked_settings(args: argparse.Namespace) -> Settings:
    """Settings whose database answers: what `serve` and `worker` start with."""
    settings = settings_from(args)
    asyncio.run(check_database(settings.database_url))
    return settings


def serve(args: argparse.Namespace) -> None:
    from peer.app import create_app
    from peer.quiet_server import run
    from peer.slow_clients import BodyDeadline, ClientLimits, guarded_protocol

    settings = checked_settings(args)
    limits = ClientLimits(settings.header_seconds, settings.body_seconds, settings.max_connections_per_client)
    run(
        BodyDeadline(create_app(settings), settings.body_seconds),
        http=guarded_protocol(limits),
        host=args.host,
        port=args.port,
        access_log=args.access_log,
        log_level="info",
        timeout_graceful_shutdown=5,
        # uvicorn's 5 s closes idle connections so soon that a client pressing a button after reading the page,
        # or a peer delivering a few seconds apart, races the close (a reset POST); 30 s, as other servers do
        timeout_keep_alive=30,
    )


def worker(args: argparse.Namespace) -> None:
    from peer.standalone_worker import run_worker

    settings = checked_settings(args)
    try:
        import uvloop  # the event loop `serve` gets from uvicorn, cheaper per request than asyncio's
    except ImportError:
        asyncio.run(run_worker(settings))
    else:
        uvloop.run(run_worker(settings))


async def _import(settings: Settings, raw: bytes, old_site: str) -> list[str]:
    from actors.blog.ghost_import import import_ghost
    from peer.services import build_services

    runtime = build_services(settings)
    try:
        await runtime.start()
        return (await import_ghost(runtime.services, raw, old_site)).lines()
    finally:
        await runtime.aclose()


def import_ghost_file(args: argparse.Namespace) -> int:
    """`rose-ash import-ghost FILE`: the export imported into the blog's store, its report printed."""
    from activities.errors import ActivityError

    args.kind = args.kind or "blog"
    if args.kind != "blog":
        raise StartupError("a Ghost export is imported into the blog: use --kind blog")
    if not (args.base_url or os.environ.get("ROSE_ASH_BASE_URL")):
        raise StartupError(
            "give the blog's public base URL (--base-url or ROSE_ASH_BASE_URL): the imported posts' addresses are made from it"
        )
    settings = checked_settings(args)
    try:
        raw = Path(args.file).read_bytes()
    except OSError as exc:
        raise StartupError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        lines = asyncio.run(_import(settings, raw, args.ghost_url or settings.ghost_url))
    except ActivityError as exc:
        print(f"rose-ash import-ghost: nothing was imported. {exc.reason}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def admin_token(data_dir: Path) -> str:
    path = data_dir / DEFAULT_TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(18)
    path.write_text(token + "\n")
    path.chmod(0o600)
    return token


def client_secrets(data_dir: Path) -> dict[str, str]:
    """Each peer's client secret at the account service, made on first `up` and kept in data/oidc-<kind>-secret."""
    found: dict[str, str] = {}
    for kind in KINDS:
        if kind == "account":
            continue
        path = data_dir / f"oidc-{kind}-secret"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32) + "\n")
            path.chmod(0o600)
        found[kind] = path.read_text().strip()
    return found


def up(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    token = os.environ.get("ROSE_ASH_ADMIN_TOKEN") or admin_token(data_dir)
    clients = client_secrets(data_dir)
    urls = {kind: f"http://{args.host}:{args.base_port + i}" for i, kind in enumerate(KINDS)}
    procs: list[subprocess.Popen[bytes]] = []
    for i, kind in enumerate(KINDS):
        others = [f"{k}={u}" for k, u in urls.items() if k != kind]
        command = [
            sys.executable,
            "-m",
            "peer.cli",
            "serve",
            "--kind",
            kind,
            "--host",
            args.host,
            "--port",
            str(args.base_port + i),
            "--base-url",
            urls[kind],
            "--data-dir",
            str(data_dir),
            "--admin-token",
            token,
        ]
        # The SSRF guard stays on for peers other machines can reach: only their own host is let through.
        command += ["--allow-private"] if is_loopback(args.host) else []
        for other in others:
            command += ["--peer", other]
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env.pop("ROSE_ASH_OIDC_SECRET", None)
        env.pop("ROSE_ASH_OIDC_CLIENTS", None)
        if kind == "account":
            env["ROSE_ASH_OIDC_CLIENTS"] = ",".join(f"{name}={secret}" for name, secret in clients.items())
        else:
            env["ROSE_ASH_OIDC_SECRET"] = clients[kind]
        if not is_loopback(args.host):
            env["ROSE_ASH_ALLOWED_HOSTS"] = args.host
        procs.append(subprocess.Popen(command, env=env))
    print("\nRose Ash is starting:")
    for kind, url in urls.items():
        print(f"  {kind:<7} {url}/")
    print(f"  members sign in at {urls['account']}/signin, and so on every peer (client secrets in {data_dir}/oidc-*)")
    print(f"  admin token: {token}   (log in at any peer's /login; kept in {data_dir / DEFAULT_TOKEN_FILE})")
    if not os.environ.get("ROSE_ASH_SMTP_URL"):
        print(f"  email: none leaves (no ROSE_ASH_SMTP_URL); read it at {urls['blog']}/admin/mail and the others'")
    print("  Ctrl-C stops them all.\n", flush=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(p.poll() is None for p in procs):
        time.sleep(0.2)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
    failed = [p.returncode for p in procs if p.returncode not in (0, -signal.SIGTERM, None)]
    return 0 if stopping or not failed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rose-ash", description="Rose Ash: blog, events and shop peers")
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="run blog, events and shop locally on SQLite")
    up_parser.add_argument("--host", default="127.0.0.1")
    up_parser.add_argument("--base-port", type=int, default=8001)
    up_parser.add_argument("--data-dir", default="data")
    serve_parser = commands.add_parser("serve", help="run one peer")
    _serve_args(serve_parser)
    worker_parser = commands.add_parser("worker", help="run delivery workers only (scale out on PostgreSQL)")
    _serve_args(worker_parser)
    import_parser = commands.add_parser("import-ghost", help="import a Ghost JSON export into the blog")
    import_parser.add_argument("file", help="the .json file Ghost's Export button gives")
    import_parser.add_argument("--ghost-url", default="", help="the Ghost site's address (env ROSE_ASH_GHOST_URL)")
    _serve_args(import_parser)
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return up(args)
        if args.command == "import-ghost":
            return import_ghost_file(args)
        if args.command == "serve":
            serve(args)
        else:
            worker(args)
    except StartupError as exc:
        print(f"rose-ash {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
