"""Checks against the running compose stack (scripts/test-deploy runs them; nothing here starts it).

    ROSE_ASH_DEPLOY_COMPOSE="docker compose -p rose-ash-ci -f docker-compose.yml -f deploy/docker-compose.ci.yml" \
    ROSE_ASH_ADMIN_TOKEN=... python -m tests.deploy.stack_checks

The peers' public URLs are BLOG_BASE_URL, EVENTS_BASE_URL and SHOP_BASE_URL (deploy/ci.env: https://blog.test
...), served by the TLS proxy on the compose network. From the host every request to those names connects to
the proxy's port published on loopback, and TLS verifies the certificate and the name against the run's CA
(ROSE_ASH_CI_CA_FILE) as any client out there would: the checks use the URLs the peers hand out, as they are."""

from __future__ import annotations

import json
import os
import re
import shlex
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpcore
import httpx

from activities.order import product_key
from tests.support.admin import Admin
from tests.support.events import event_activity

T = TypeVar("T")
AS2 = "application/activity+json"
COMPOSE = shlex.split(os.environ.get("ROSE_ASH_DEPLOY_COMPOSE", "docker compose"))
TOKEN = os.environ["ROSE_ASH_ADMIN_TOKEN"]
METRICS_TOKEN = os.environ.get("ROSE_ASH_METRICS_TOKEN", "")
PEERS = ("blog", "events", "shop")
BASE = {peer: os.environ.get(f"{peer.upper()}_BASE_URL", f"http://{peer}:8000") for peer in PEERS}
PORTS = {"blog": "18001", "events": "18002", "shop": "18003"}
PUBLISHED = {
    BASE[peer]: f"http://127.0.0.1:{os.environ.get(f'ROSE_ASH_CI_{peer.upper()}_PORT', PORTS[peer])}" for peer in PEERS
}
CA_FILE = os.environ.get("ROSE_ASH_CI_CA_FILE", "")
HTTPS_PORT = int(os.environ.get("ROSE_ASH_CI_HTTPS_PORT", "18443"))
FEDIFY = f"http://127.0.0.1:{os.environ.get('ROSE_ASH_CI_FEDIFY_PORT', '18010')}"
FOLLOWERS = f"http://127.0.0.1:{os.environ.get('ROSE_ASH_CI_FOLLOWERS_PORT', '18009')}"
FOLLOWER_COUNT = 20
WORKERS = {"blog-worker": 2, "events-worker": 2, "shop-worker": 2, "account-worker": 2}


class ToProxy(httpcore.NetworkBackend):
    """Connections to the peers' public names go to the proxy's port on loopback (the host cannot resolve
    them); the TLS handshake above still names the host, and verifies the certificate for it."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self.hosts = {httpx.URL(url).host for url in BASE.values() if url.startswith("https://")}

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if host in self.hosts and port == 443:
            host, port = "127.0.0.1", HTTPS_PORT
        return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("no unix sockets here")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def through_proxy(cafile: str | None = None) -> httpx.HTTPTransport:
    """A transport to the peers' https URLs through the proxy, verifying against `cafile` (the run's CA)."""
    context = ssl.create_default_context(cafile=cafile or CA_FILE or None)
    transport = httpx.HTTPTransport(verify=context)
    transport._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=ToProxy())
    return transport


def client() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=30.0, transport=through_proxy())


http = client()


def step(what: str) -> None:
    print(f"-- {what}", flush=True)


def local(url: str) -> str:
    """The URL to reach a peer's `url` by from the host: itself behind the proxy, else the published port."""
    for public, published in PUBLISHED.items():
        if url.startswith(public):
            return url if public.startswith("https://") else published + url[len(public) :]
    raise AssertionError(f"{url} is not a URL of one of the peers")


def wait_until(check: Callable[[], T], what: str, timeout: float = 60.0, every: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


def compose(*args: str) -> str:
    done = subprocess.run([*COMPOSE, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed: {done.stderr}"
    return done.stdout


def sql(database: str, query: str) -> list[str]:
    out = compose("exec", "-T", "postgres", "psql", "-U", "rose", "-d", database, "-Atc", query)
    return [line for line in out.splitlines() if line]


def containers() -> list[dict[str, Any]]:
    return [json.loads(line) for line in compose("ps", "-a", "--format", "json").splitlines() if line.strip()]


def inspect(name: str) -> dict[str, Any]:
    docker = COMPOSE[: COMPOSE.index("compose")]
    done = subprocess.run([*docker, "inspect", name], capture_output=True, text=True, check=True)
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found[0]


# ------------------------------------------------------------------ the stack itself


def check_healthy(workers: dict[str, int]) -> None:
    running = containers()
    services = Counter(c["Service"] for c in running)
    expected = Counter(
        {
            "postgres": 1,
            "account": 1,
            "blog": 1,
            "events": 1,
            "shop": 1,
            "proxy": 1,
            "followers": 1,
            "fedify": 1,
            **workers,
        }
    )
    assert services == expected, f"services {dict(services)}, expected {dict(expected)}"
    unhealthy = [(c["Name"], c["State"], c.get("Health")) for c in running if c.get("Health") != "healthy"]
    assert not unhealthy, f"not healthy: {unhealthy}"
    for c in running:
        details = inspect(c["Name"])
        assert details["RestartCount"] == 0, f"{c['Name']} restarted {details['RestartCount']} times"
        if c["Service"].endswith("-worker"):
            test = (details["Config"].get("Healthcheck") or {}).get("Test") or []
            assert "peer.heartbeat" in test, f"{c['Name']} has no heartbeat health check: {test}"
        if c["Service"] in PEERS:
            env = details["Config"]["Env"]
            assert "ROSE_ASH_INPROCESS_WORKER=0" in env, f"{c['Name']} delivers in the web process"
    print(f"   {len(running)} containers healthy, none restarted", flush=True)


def check_migrations() -> None:
    """Each database at the head revision, and each of its tables created once: the peer's web process and
    its workers all migrate at start, under an advisory lock, and only the first may create anything."""
    from alembic.script import ScriptDirectory

    from store.migrate import alembic_config

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    log = compose("logs", "--no-color", "--no-log-prefix", "postgres")
    for peer in PEERS:
        versions = sql(peer, "SELECT version_num FROM alembic_version")
        assert set(versions) == heads and len(versions) == 1, f"{peer}: alembic_version {versions}, heads {heads}"
        created = Counter(re.findall(rf"db={peer} LOG: +(?:statement|execute [^:]*):\s+CREATE TABLE (\w+)", log))
        tables = set(sql(peer, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        assert set(created) == tables, f"{peer}: tables {sorted(tables)}, created {sorted(created)}"
        twice = {t: n for t, n in created.items() if n != 1}
        assert not twice, f"{peer}: tables created more than once: {twice}"
    print(f"   each database at {sorted(heads)}, each of its {len(tables)} tables created once", flush=True)


# ------------------------------------------------------------------ the story through the published ports


def c2s(peer: str, activity: dict[str, Any]) -> str:
    answer = http.post(local(f"{BASE[peer]}/actor/outbox"), json=activity, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 201, f"C2S {activity['type']} to {peer}: {answer.status_code} {answer.text[:300]}"
    return str(answer.json()["object"])  # the Location header names the activity; the body names its object too


def items(collection: str) -> list[str]:
    page = http.get(local(collection) + "?page=true", headers={"accept": AS2})
    assert page.status_code == 200, page.text[:300]
    return [i if isinstance(i, str) else i["id"] for i in page.json().get("orderedItems", [])]


def total(collection: str) -> int:
    doc = http.get(local(collection), headers={"accept": AS2})
    assert doc.status_code == 200, doc.text[:300]
    return int(doc.json()["totalItems"])


def start_purchase(event: str) -> str:
    """Buy a ticket on the event's page as a visitor; the ticket's status page (the purchase is pending)."""
    with client() as visitor:
        page = visitor.get(local(event), headers={"accept": "text/html"})
        assert page.status_code == 200, page.text[:300]
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        fields = {"csrf": csrf, "name": "Ada", "email": "ada@example.org", "quantity": "1"}
        bought = visitor.post(local(event) + "/buy", data=fields)
        assert bought.status_code == 303, bought.text[:300]
        return str(httpx.URL(local(event)).join(bought.headers["location"]))


def settle(ticket: str, timeout: float = 60.0) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        try:
            answer = http.get(f"{ticket}/status")
        except httpx.HTTPError:
            return None  # the events peer restarting
        if answer.status_code != 200:
            return None
        state: dict[str, Any] = answer.json()["fields"]
        return state if state["state"] not in ("pending", "held") else None

    return wait_until(settled, f"the purchase at {ticket} to settle", timeout)


def held(ticket: str, timeout: float = 60.0) -> dict[str, Any]:
    def answered() -> dict[str, Any] | None:
        try:
            answer = http.get(f"{ticket}/status")
        except httpx.HTTPError:
            return None
        state: dict[str, Any] = answer.json()["fields"] if answer.status_code == 200 else {}
        return state if state.get("state") not in (None, "pending") else None

    return wait_until(answered, f"the purchase at {ticket} to be answered", timeout)


def mark_paid(order_number: str) -> None:
    """The shop's staff take the payment (the `manual` provider): logged in with the admin token, as a browser."""
    staff = Admin(local(BASE["shop"]), TOKEN, transport=through_proxy()).login()
    try:
        answer = staff.client.post(f"/orders/{order_number}/paid", data={"csrf": staff.csrf("/orders")})
        assert answer.status_code == 303, f"marking order {order_number} paid: {answer.status_code} {answer.text[:300]}"
    finally:
        staff.close()


def pay_and_settle(ticket: str) -> dict[str, Any]:
    """A priced ticket is held while the buyer pays; it is confirmed once the shop's staff mark the order paid."""
    state = held(ticket)
    if state["state"] == "held":
        mark_paid(state["orderNumber"])
    return settle(ticket)


def buy(event: str) -> dict[str, Any]:
    return pay_and_settle(start_purchase(event))


def check_sold(event: str, expected: int) -> None:
    sold, tickets = total(f"{event}/sold"), total(f"{BASE['shop']}/products/{product_key(event)}/tickets")
    assert sold == tickets == expected, f"sold {sold}, the shop's tickets {tickets}, expected {expected}"


def check_story() -> str:
    post = c2s("blog", {"type": "Create", "object": {"type": "Article", "name": "Deployed", "content": "Hello."}})
    calendar = f"{BASE['events']}/calendars/main"
    c2s("blog", {"type": "Add", "object": post, "target": calendar})
    wait_until(lambda: post in items(f"{calendar}/allocated"), "the post to be allocated to the calendar")
    featured = {"context": calendar, "attachment": [{"type": "Link", "rel": "featured", "href": post}]}
    event = c2s("events", event_activity(name="Deploy Night", capacity=50, price="12.00", **featured))
    purchase = buy(event)
    assert purchase["state"] == "confirmed", purchase
    check_sold(event, 1)
    print(
        f"   post allocated, event {event} scheduled, a ticket paid at the shop confirmed; sold 1 == the shop's tickets"
    )
    return event


# ------------------------------------------------------------------ behind TLS


def check_webfinger_over_https() -> None:
    """WebFinger through the proxy, its certificate verified for the name against the run's CA; a client
    without that CA (certifi's public roots only) refuses the same certificate."""
    import certifi

    host = httpx.URL(BASE["events"]).host
    url = f"{BASE['events']}/.well-known/webfinger?resource=acct:events@{host}"
    answer = http.get(url)
    assert answer.status_code == 200, f"WebFinger over https: {answer.status_code} {answer.text[:300]}"
    links = [link["href"] for link in answer.json()["links"] if link.get("rel") == "self"]
    assert links == [f"{BASE['events']}/actor"], f"WebFinger names {links}"
    with httpx.Client(trust_env=False, timeout=10.0, transport=through_proxy(certifi.where())) as stranger:
        try:
            stranger.get(url)
        except httpx.ConnectError as exc:
            assert "CERTIFICATE_VERIFY_FAILED" in str(exc), exc
        else:
            raise AssertionError("a client without the local CA accepted the proxy's certificate")
    print(f"   acct:events@{host} names {links[0]}, the certificate verified (and refused without the CA)")


def fedify(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = http.request(method, f"{FEDIFY}/control/{path}", json=body)
    assert answer.status_code == 200, f"Fedify {path}: {answer.status_code} {answer.text[:300]}"
    return answer.json()


def check_fedify_follower() -> None:
    """The independent Fedify follower, in its container, trusting the run's CA: it follows events@events.test
    with Fedify's own WebFinger look-up (https only, as Mastodon) and receives the next event's Create."""
    handle = f"events@{httpx.URL(BASE['events']).host}"
    followed = fedify("POST", "follow", {"handle": handle, "webfinger": "fedify"})
    assert followed.get("ok"), f"Fedify could not follow {handle}: {followed}"
    assert followed["actor"] == f"{BASE['events']}/actor", followed

    def accepted() -> bool:
        return any(f["id"] == followed["follow_id"] and f["state"] == "accepted" for f in fedify("GET", "following"))

    wait_until(accepted, f"the events peer to accept Fedify's Follow {followed['follow_id']}", timeout=60)
    event = c2s("events", event_activity(name="Over TLS", capacity=5))

    def arrived() -> list[dict[str, Any]]:
        return [r for r in fedify("GET", "inbox") if r["type"] == "Create" and r["object_id"] == event]

    got = wait_until(arrived, f"the Create of {event} at the Fedify follower", timeout=120)
    time.sleep(2.0)  # a doubled delivery would arrive now
    got = arrived()
    assert len(got) == 1, f"Fedify received the Create {len(got)} times"
    assert (got[0]["object"] or {}).get("type") == "Event", f"Fedify read the object as {got[0]['object']}"
    errors = fedify("GET", "errors")
    assert not errors, f"Fedify's inbox listener failed: {errors}"
    print(f"   Fedify followed {handle} by WebFinger over https, and received the Create of {event}")


# ------------------------------------------------------------------ fan-out by the worker containers


def received() -> list[dict[str, Any]]:
    answer = http.get(f"{FOLLOWERS}/received")
    assert answer.status_code == 200, answer.text[:300]
    found: list[dict[str, Any]] = answer.json()
    return found


def check_fanout(events: list[str], what: str) -> None:
    """Each follower got each event's Create exactly once, and the events peer recorded each delivery as made.
    An attempt may have failed before it reached the follower (a timeout on a loaded machine) and been
    retried: that is no second delivery, which the followers' own count would show."""
    wanted = set(events)

    def deliveries() -> Counter[tuple[str, str]]:
        return Counter((r["inbox"], r["object"]) for r in received() if r["type"] == "Create" and r["object"] in wanted)

    expected = FOLLOWER_COUNT * len(events)
    got = wait_until(lambda: (d := deliveries()) and sum(d.values()) >= expected and d, what, timeout=120)
    time.sleep(2.0)  # a doubled delivery would arrive now
    got = deliveries()
    assert len(got) == expected and set(got.values()) == {1}, (
        f"{what}: {len(got)} of {expected}, {Counter(got.values())}"
    )
    creates = {r["id"] for r in received() if r["type"] == "Create" and r["object"] in wanted}
    assert len(creates) == len(events), f"{what}: {len(creates)} Create activities for {len(events)} events"
    listed = ",".join("'" + a.replace("'", "''") + "'" for a in sorted(creates))
    where = f"d.activity_id IN ({listed}) AND d.inbox LIKE 'http://followers:9000/%'"
    rows = sql("events", f"SELECT d.state, count(*), sum(d.attempts - 1) FROM deliveries d WHERE {where} GROUP BY 1")
    assert len(rows) == 1 and rows[0].startswith(f"delivered|{expected}|"), f"{what}: deliveries {rows}"
    retried = rows[0].rsplit("|", 1)[1]
    failed = sql(
        "events",
        "SELECT coalesce(a.status::text, replace(a.error, chr(10), ' ')) FROM deliveries d "
        f"JOIN delivery_attempts a ON a.delivery_id = d.id WHERE {where} AND (a.status IS NULL OR a.status >= 300)",
    )
    why = "; ".join(sorted(set(failed)))[:300] or "no attempt kept"
    note = f" ({retried} attempts failed and were retried: {why})" if retried != "0" else ""
    print(f"   {what}: {expected} deliveries, each made once{note}", flush=True)


def metrics(peer: str, token: str) -> dict[str, float]:
    answer = http.get(f"{BASE[peer]}/metrics", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200, f"{peer}'s metrics: {answer.status_code} {answer.text[:300]}"
    values = {}
    for line in answer.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[re.sub(r'kind="[^"]*",?', "", name).replace("{}", "")] = float(value)
    return values


def check_metrics() -> None:
    """GET /metrics through the proxy: closed without a token, open to the scraper's token; the queue the four
    workers emptied, and the events actor's 21 followers (the farm's 20 and Fedify)."""
    closed = http.get(f"{BASE['events']}/metrics")
    assert closed.status_code == 401, f"metrics without a token: {closed.status_code}"
    assert METRICS_TOKEN, "scripts/test-deploy sets ROSE_ASH_METRICS_TOKEN"

    def drained() -> dict[str, float] | None:
        now = metrics("events", METRICS_TOKEN)
        return now if now['rose_ash_deliveries{state="pending"}'] == 0 else None

    events = wait_until(drained, "the events peer's queue to be empty", timeout=60)
    assert events["rose_ash_database_up"] == 1 and events["rose_ash_followers"] == FOLLOWER_COUNT + 1, events
    assert events["rose_ash_delivery_lag_seconds"] == 0 and events["rose_ash_fanouts_pending"] == 0, events
    for peer in ("blog", "shop"):
        assert metrics(peer, METRICS_TOKEN)["rose_ash_database_up"] == 1
    delivered = int(events['rose_ash_deliveries{state="delivered"}'])
    print(f"   401 without a token; events: {delivered} delivered, none pending, {FOLLOWER_COUNT + 1} followers")


def all_healthy(within: float = 60.0) -> None:
    def healthy() -> bool:
        return all(c.get("Health") == "healthy" for c in containers())

    wait_until(healthy, f"every service healthy again within {within:g}s", within, every=1.0)


def check_restarts(event: str, sold: int) -> int:
    """PostgreSQL, then the events peer, restarted in the middle of a fan-out and of a purchase."""
    for service in ("postgres", "events", "shop"):
        scheduled = [c2s("events", event_activity(name=f"Restart {service} {n}", capacity=10)) for n in range(3)]
        ticket = start_purchase(event)
        compose("restart", "--timeout", "10", service)
        all_healthy()
        check_fanout(scheduled, f"fan-out across a restart of {service}")
        state = pay_and_settle(ticket)
        assert state["state"] == "confirmed", f"a purchase across a restart of {service}: {state}"
        sold += 1
        check_sold(event, sold)
        print(f"   a purchase across a restart of {service}: confirmed, sold {sold} == the shop's tickets", flush=True)
    return sold


def check_backup_restore(event: str, sold: int) -> int:
    """deploy/README.md's backup and restore of one peer's database: pg_dump, drop, pg_restore, start again."""
    docker = [*COMPOSE, "exec", "-T", "postgres"]
    dump = subprocess.run([*docker, "pg_dump", "-U", "rose", "-Fc", "events"], capture_output=True, check=True).stdout
    assert dump.startswith(b"PGDMP"), "pg_dump wrote no custom-format archive"
    compose("stop", "events", "events-worker")
    sql("postgres", "DROP DATABASE events")
    sql("postgres", "CREATE DATABASE events OWNER rose")
    restore = [*docker, "pg_restore", "-U", "rose", "-d", "events", "--exit-on-error"]
    subprocess.run(restore, input=dump, capture_output=True, check=True)
    compose("up", "-d", "--no-build", "--pull", "never", "--wait", "--scale", "events-worker=4")
    check_sold(event, sold)
    assert buy(event)["state"] == "confirmed", "a purchase after the restore was not confirmed"
    check_sold(event, sold + 1)
    print(f"   events restored from a {len(dump)} byte dump: sold {sold} kept, the next purchase made it {sold + 1}")
    return sold + 1


def main() -> int:
    step("every service healthy, workers with a health check of their own, none restarted")
    check_healthy(WORKERS)
    step("migrations ran once")
    check_migrations()
    step("the story through the published ports")
    event = check_story()
    step("behind TLS: WebFinger over https through the proxy, the certificate verified")
    check_webfinger_over_https()
    step("an independent Fedify follower follows over https and receives the Create(Event)")
    check_fedify_follower()
    step(f"the event's Create fanned out to {FOLLOWER_COUNT} followers by the worker containers")
    check_fanout([event], "fan-out with 2 events workers")
    step("events workers scaled to 4")
    compose("up", "-d", "--no-build", "--pull", "never", "--wait", "--scale", "events-worker=4")
    check_healthy({**WORKERS, "events-worker": 4})
    scheduled = [c2s("events", event_activity(name=f"Scaled {n}", capacity=10)) for n in range(5)]
    check_fanout(scheduled, "fan-out with 4 events workers")
    step("the metrics endpoint, behind its token")
    check_metrics()
    step("a backup of the events database, restored")
    sold = check_backup_restore(event, 1)
    step("restarts of PostgreSQL and of the peers lose nothing")
    check_restarts(event, sold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
