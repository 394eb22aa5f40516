"""Offline checks of the Docker deployment (docker-compose.yml, Dockerfile).

No Docker engine runs where these tests run, so nothing is built or started.
Instead:

* docker-compose.yml is validated against the official Compose Specification
  JSON schema, which the PyPI package ``check-jsonschema`` vendors
  (``--builtin-schema vendor.compose-spec``): no download at test time.
  Deliberately broken copies must fail the same validation, which shows the
  check is real and not a no-op.
* Compose's ``${VAR:-default}`` interpolation is re-implemented here (the
  subset the spec defines), so the environment each container gets can be
  checked with the defaults and with public https base URLs.
* Our own invariants: the three peers plus postgres, health checks, volumes,
  depends_on postgres healthy, one database per peer, ROSE_ASH_PEERS naming
  the other peers, workers sharing their peer's database and identity.
"""

from __future__ import annotations

import copy
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import check_jsonschema  # noqa: F401  (dev dependency; fail loudly if absent)
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

PEERS = ("account", "blog", "events", "shop")
CLIENTS = ("blog", "events", "shop")  # the account service's OpenID Connect clients
HOST_PORTS = {"blog": 8001, "events": 8002, "shop": 8003, "account": 8004}
CONTAINER_PORT = 8000
ADMIN_TOKEN = "test-admin-token"
CLIENT_SECRETS = {f"ROSE_ASH_OIDC_{kind.upper()}_SECRET": f"{kind}-client-secret-{'x' * 32}" for kind in CLIENTS}
REQUIRED = {"ROSE_ASH_ADMIN_TOKEN": ADMIN_TOKEN, **CLIENT_SECRETS}
PUBLIC_URLS = {
    "ACCOUNT_BASE_URL": "https://account.example.org",
    "BLOG_BASE_URL": "https://blog.example.org",
    "EVENTS_BASE_URL": "https://events.example.org",
    "SHOP_BASE_URL": "https://shop.example.org",
}


# --------------------------------------------------------------------------
# helpers


def _load(path: Path = COMPOSE_FILE) -> dict:
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)  # resolves anchors and << merge keys
    assert isinstance(doc, dict), f"{path} is not a YAML mapping"
    return doc


@pytest.fixture(scope="module")
def compose() -> dict:
    return _load()


def _schema_check(path: Path) -> subprocess.CompletedProcess:
    """Validate a compose file against the vendored compose-spec schema."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


_VAR = r"[A-Za-z_][A-Za-z0-9_]*"
_BRACED = re.compile(r"\$\{(" + _VAR + r")(?:(:?[-?+])([^}]*))?\}")
_BARE = re.compile(r"\$(" + _VAR + r")")


class MissingVariable(Exception):
    pass


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose-spec interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d},
    ${VAR:?err}, ${VAR?err}, ${VAR:+alt}, ${VAR+alt}. Malformed use raises."""
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        if value.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        m = _BRACED.match(value, i)
        if m:
            name, op, arg = m.group(1), m.group(2), m.group(3)
            present = name in env
            nonempty = bool(env.get(name))
            if op is None:
                out.append(env.get(name, ""))
            elif op in (":-", "-"):
                use_default = not nonempty if op == ":-" else not present
                out.append(arg if use_default else env[name])
            elif op in (":?", "?"):
                missing = not nonempty if op == ":?" else not present
                if missing:
                    raise MissingVariable(f"{name}: {arg}")
                out.append(env[name])
            else:  # ":+" / "+"
                use_alt = nonempty if op == ":+" else present
                out.append(arg if use_alt else "")
            i = m.end()
            continue
        m = _BARE.match(value, i)
        if m:
            out.append(env.get(m.group(1), ""))
            i = m.end()
            continue
        raise ValueError(f"invalid interpolation at offset {i} in {value!r}")
    return "".join(out)


def resolve(node, env: dict[str, str]):
    """Interpolate every string (mapping values and list items) in a document."""
    if isinstance(node, dict):
        return {k: resolve(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, env) for v in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {k: v for k, v in pairs}
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command(service: dict) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def peer_map(value: str) -> dict[str, str]:
    """Parse ROSE_ASH_PEERS: "blog=http://blog:8000,shop=http://shop:8000"."""
    result: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, url = item.partition("=")
        assert sep, f"ROSE_ASH_PEERS item {item!r} is not name=url"
        assert name not in result, f"ROSE_ASH_PEERS names {name!r} twice"
        result[name.strip()] = url.strip()
    return result


def csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def mounts(service: dict) -> dict[str, str]:
    """Map container target -> source for a service's volumes."""
    result: dict[str, str] = {}
    for vol in service.get("volumes") or []:
        if isinstance(vol, dict):
            result[vol["target"]] = str(vol.get("source", ""))
        else:
            parts = str(vol).split(":")
            if len(parts) == 1:
                result[parts[0]] = ""
            else:
                result[parts[1]] = parts[0]
    return result


def depends_healthy(service: dict, name: str) -> bool:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return False  # the short form cannot wait for health
    dep = deps.get(name) or {}
    return dep.get("condition") == "service_healthy"


def workers_of(services: dict, kind: str) -> dict[str, dict]:
    found = {}
    for name, svc in services.items():
        argv = command(svc)
        if argv[:2] == ["rose-ash", "worker"] and option(argv, "--kind") == kind:
            found[name] = svc
    return found


def resolved_services(env: dict[str, str]) -> dict[str, dict]:
    return resolve(_load(), env)["services"]


# --------------------------------------------------------------------------
# schema validation (offline, vendored compose-spec schema)


def test_compose_file_matches_compose_spec_schema():
    result = _schema_check(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_round_tripped_copy_still_validates(tmp_path, compose):
    # Control for the broken-document tests below: the harness that writes
    # the mutated copies does not by itself make a valid document invalid.
    copy_path = tmp_path / "docker-compose.yml"
    copy_path.write_text(yaml.safe_dump(compose, sort_keys=False), encoding="utf-8")
    result = _schema_check(copy_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _misspell_healthcheck(doc):
    doc["services"]["blog"]["healthchek"] = doc["services"]["blog"].pop("healthcheck")


def _bad_condition(doc):
    doc["services"]["events"]["depends_on"]["postgres"]["condition"] = "service_healty"


def _replicas_as_list(doc):
    worker = next(iter(workers_of(doc["services"], "events").values()))
    worker["deploy"]["replicas"] = [2]


def _unknown_top_level_key(doc):
    doc["volumez"] = doc.pop("volumes")


def _healthcheck_test_as_mapping(doc):
    doc["services"]["shop"]["healthcheck"]["test"] = {"cmd": "true"}


def _ports_as_mapping(doc):
    doc["services"]["shop"]["ports"] = {"8003": 8000}


def _unknown_deploy_key(doc):
    worker = next(iter(workers_of(doc["services"], "blog").values()))
    worker["deploy"]["replica"] = worker["deploy"].pop("replicas")


@pytest.mark.parametrize(
    "breakage, offending",
    [
        (_misspell_healthcheck, "healthchek"),
        (_bad_condition, "depends_on"),
        (_replicas_as_list, "replicas"),
        (_unknown_top_level_key, "volumez"),
        (_healthcheck_test_as_mapping, "healthcheck"),
        (_ports_as_mapping, "ports"),
        (_unknown_deploy_key, "replica"),
    ],
    ids=lambda p: getattr(p, "__name__", str(p)).lstrip("_"),
)
def test_broken_compose_documents_fail_validation(tmp_path, compose, breakage, offending):
    doc = copy.deepcopy(compose)
    breakage(doc)
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = _schema_check(broken)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"broken document was accepted:\n{output}"
    assert "Schema validation errors" in output, output
    assert offending in output, output


def test_docker_compose_config_if_available():
    """Extra check with the real Compose v2 parser, where one is installed.

    `docker compose config` needs no engine, but the Compose v2 plugin is not
    installed on the project's machines (Debian only ships Compose v1, which
    predates the top-level `name:` key), so this is usually skipped."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("docker compose (v2 plugin) not installed")
    env = {"PATH": "/usr/bin:/bin", **REQUIRED}
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------
# interpolation


def test_every_dollar_is_valid_interpolation(compose):
    resolve(compose, REQUIRED)


def test_admin_token_is_required(compose):
    with pytest.raises(MissingVariable, match="ROSE_ASH_ADMIN_TOKEN"):
        resolve(compose, CLIENT_SECRETS)
    for kind in PEERS:
        raw = environment(compose["services"][kind])["ROSE_ASH_ADMIN_TOKEN"]
        assert raw.startswith("${ROSE_ASH_ADMIN_TOKEN:?"), raw


@pytest.mark.parametrize("kind", CLIENTS)
def test_client_secrets_are_required_and_shared_with_the_account(compose, kind):
    variable = f"ROSE_ASH_OIDC_{kind.upper()}_SECRET"
    with pytest.raises(MissingVariable, match=variable):
        resolve(compose, {k: v for k, v in REQUIRED.items() if k != variable})
    services = resolved_services(REQUIRED)
    assert environment(services[kind])["ROSE_ASH_OIDC_SECRET"] == CLIENT_SECRETS[variable]
    clients = peer_map(environment(services["account"])["ROSE_ASH_OIDC_CLIENTS"])
    assert clients == {k: CLIENT_SECRETS[f"ROSE_ASH_OIDC_{k.upper()}_SECRET"] for k in CLIENTS}


def test_interpolation_helper_matches_compose_semantics():
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d}|${EMPTY:-d}|${UNSET:-d}", env) == "x|d|d"
    assert interpolate("${SET-d}|${EMPTY-d}|${UNSET-d}", env) == "x||d"
    assert interpolate("$$SET $SET ${SET}", env) == "$SET x x"
    assert interpolate("${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}", env) == "alt||alt"
    with pytest.raises(MissingVariable):
        interpolate("${EMPTY:?needed}", env)
    with pytest.raises(ValueError):
        interpolate("price: $5", env)


# --------------------------------------------------------------------------
# our own invariants


def test_services_exist(compose):
    services = compose["services"]
    for name in ("postgres", *PEERS):
        assert name in services, f"service {name!r} missing"


def test_postgres_service(compose):
    pg = compose["services"]["postgres"]
    assert interpolate(str(pg["image"]), REQUIRED).startswith("postgres:16"), pg["image"]
    test = pg["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    vols = mounts(pg)
    assert "/var/lib/postgresql/data" in vols
    assert vols["/var/lib/postgresql/data"] in compose["volumes"], "pgdata not a named volume"
    init = [src for target, src in vols.items() if target.startswith("/docker-entrypoint-initdb.d/")]
    assert init, "no init script mounted into /docker-entrypoint-initdb.d"
    created = set()
    for src in init:
        path = (ROOT / src).resolve()
        assert path.is_file(), f"init script {src} does not exist"
        created |= set(re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)\"?", path.read_text(), flags=re.I))
    assert set(PEERS) <= created, f"init script creates {created}"
    assert "ports" not in pg, "PostgreSQL should not be published to the host"


@pytest.mark.parametrize("kind", PEERS)
def test_peer_service(compose, kind):
    services = compose["services"]
    svc = services[kind]
    build = svc.get("build")
    context = build if isinstance(build, str) else (build or {}).get("context")
    assert context in (".", "./"), f"{kind} is not built from the repo root"

    argv = command(svc)
    assert argv[:2] == ["rose-ash", "serve"], argv
    assert option(argv, "--kind") == kind, argv
    assert option(argv, "--port") == str(CONTAINER_PORT), argv
    assert option(argv, "--host") == "0.0.0.0", "must listen on all interfaces in a container"

    hc = svc.get("healthcheck")
    assert hc and not hc.get("disable"), f"{kind} has no health check"
    test = hc["test"] if isinstance(hc["test"], str) else " ".join(hc["test"])
    assert f"http://127.0.0.1:{CONTAINER_PORT}/healthz" in test, test
    assert "python" in test and "urllib" in test, test
    assert "curl" not in test and "wget" not in test, "python:3.11-slim has neither"

    vols = mounts(svc)
    assert "/data" in vols, f"{kind} has no /data volume"
    assert vols["/data"] in compose["volumes"], f"{kind} /data is not a named volume"

    assert depends_healthy(svc, "postgres"), f"{kind} must wait for postgres healthy"


def test_peers_have_distinct_data_volumes(compose):
    sources = [mounts(compose["services"][k])["/data"] for k in PEERS]
    assert len(set(sources)) == len(PEERS), sources


@pytest.mark.parametrize("kind", PEERS)
def test_peer_environment_defaults(kind):
    services = resolved_services(REQUIRED)
    pg_env = environment(services["postgres"])
    env = environment(services[kind])

    assert env["ROSE_ASH_KIND"] == kind
    assert env["ROSE_ASH_BASE_URL"] == f"http://{kind}:{CONTAINER_PORT}"
    assert env["ROSE_ASH_ADMIN_TOKEN"] == ADMIN_TOKEN

    db = urlsplit(env["DATABASE_URL"])
    assert db.scheme == "postgresql+asyncpg", db.scheme
    assert db.hostname == "postgres" and db.port == 5432, env["DATABASE_URL"]
    assert db.path == f"/{kind}", f"{kind} must use its own database"
    assert db.username == pg_env["POSTGRES_USER"]
    assert db.password == pg_env["POSTGRES_PASSWORD"]

    others = {k: f"http://{k}:{CONTAINER_PORT}" for k in PEERS if k != kind}
    assert peer_map(env["ROSE_ASH_PEERS"]) == others

    assert set(csv(env["ROSE_ASH_TRUSTED"])) == {f"http://{k}:{CONTAINER_PORT}" for k in PEERS}
    assert set(PEERS) <= set(csv(env["ROSE_ASH_ALLOWED_HOSTS"]))

    host_ip, published, target = services[kind]["ports"][0].rsplit(":", 2)
    assert (int(published), int(target)) == (HOST_PORTS[kind], CONTAINER_PORT)
    assert host_ip == "0.0.0.0"


def test_public_base_urls_propagate_consistently():
    """With public https URLs set, every peer's ROSE_ASH_PEERS and
    ROSE_ASH_TRUSTED follow the other peers' ROSE_ASH_BASE_URL."""
    services = resolved_services({**REQUIRED, "ROSE_ASH_PUBLISH_ADDR": "127.0.0.1", **PUBLIC_URLS})
    base = {k: environment(services[k])["ROSE_ASH_BASE_URL"] for k in PEERS}
    assert base == {k: PUBLIC_URLS[f"{k.upper()}_BASE_URL"] for k in PEERS}
    for kind in PEERS:
        env = environment(services[kind])
        assert peer_map(env["ROSE_ASH_PEERS"]) == {k: base[k] for k in PEERS if k != kind}
        assert set(csv(env["ROSE_ASH_TRUSTED"])) == set(base.values())
        assert services[kind]["ports"][0].startswith("127.0.0.1:")
        for name, worker in workers_of(services, kind).items():
            assert environment(worker)["ROSE_ASH_BASE_URL"] == base[kind], name


def test_peer_databases_are_distinct():
    services = resolved_services(REQUIRED)
    urls = [environment(services[k])["DATABASE_URL"] for k in PEERS]
    assert len(set(urls)) == len(PEERS), urls


@pytest.mark.parametrize("kind", PEERS)
def test_delivery_workers(compose, kind):
    services = resolve(compose, REQUIRED)["services"]
    peer = services[kind]
    peer_env = environment(peer)
    workers = workers_of(services, kind)
    assert len(workers) == 1, f"expected one worker service for {kind}: {sorted(workers)}"
    name, worker = next(iter(workers.items()))
    env = environment(worker)

    for key in ("DATABASE_URL", "ROSE_ASH_KIND", "ROSE_ASH_BASE_URL", "ROSE_ASH_ALLOWED_HOSTS"):
        assert env.get(key) == peer_env.get(key), f"{name}: {key} differs from {kind}"
    assert int(worker["deploy"]["replicas"]) >= 2, f"{name} should run several replicas"
    assert "ports" not in worker and "container_name" not in worker, (
        f"{name}: replicas cannot share published ports or a container name"
    )
    assert worker.get("image") == peer.get("image"), f"{name} must run {kind}'s image"
    assert depends_healthy(worker, "postgres"), f"{name} must wait for postgres healthy"
    assert depends_healthy(worker, kind), f"{name} must wait for {kind} (its schema)"
    # With dedicated workers the web process must not deliver as well.
    assert peer_env.get("ROSE_ASH_INPROCESS_WORKER") == "0", kind


def test_no_unexpected_services(compose):
    services = compose["services"]
    expected = {"postgres", *PEERS}
    for kind in PEERS:
        expected |= set(workers_of(services, kind))
    assert set(services) == expected, set(services) ^ expected


# --------------------------------------------------------------------------
# Dockerfile


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile():
    instructions = _dockerfile_instructions()
    froms = [rest for kw, rest in instructions if kw == "FROM"]
    args = dict(rest.partition("=")[::2] for kw, rest in instructions if kw == "ARG")
    assert froms and froms[0].split()[0] == "${BASE_IMAGE}", froms
    assert args.get("BASE_IMAGE") == "python:3.11-slim", "the default base must be the official python image"
    runs = " ".join(rest for kw, rest in instructions if kw == "RUN")
    assert re.search(r"pip install -c constraints\.txt \.(\s|$)", runs), "the image installs the pinned releases"
    cmd = [rest for kw, rest in instructions if kw == "CMD"]
    assert cmd and "rose-ash" in cmd[-1] and "serve" in cmd[-1], cmd
    envs = " ".join(rest for kw, rest in instructions if kw == "ENV")
    assert re.search(r"(^|\s)ROSE_ASH_DATA_DIR=/data(\s|$)", envs), "data dir must be the /data volume"
    assert not any(kw == "HEALTHCHECK" for kw, _ in instructions), (
        "an image HEALTHCHECK would mark the worker containers unhealthy"
    )


def test_workers_have_a_heartbeat_health_check(compose):
    for kind in PEERS:
        for name, worker in workers_of(compose["services"], kind).items():
            test = worker["healthcheck"]["test"]
            assert test[:1] == ["CMD"] and "peer.heartbeat" in test, f"{name}: {test}"
            assert environment(worker)["ROSE_ASH_HEARTBEAT_FILE"].startswith("/"), name


def test_dockerignore_keeps_context_clean():
    entries = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".git", ".env", "tests"):
        assert entry in entries, f".dockerignore should exclude {entry}"
    for needed in ("pyproject.toml", "README.md", "*.md", "*.toml"):
        assert needed not in entries, f".dockerignore must not exclude {needed}"
