"""Drive an independent Fedify ActivityPub peer from the Python tests.

The peer (``tests/interop/fedify_peer/server.mjs``) runs under Node 22 with
``@fedify/fedify`` 2.3.6, both installed by ``scripts/install-fedify.sh``.  It
serves one actor (``alice`` by default) on plain http on loopback, and a JSON
control API under ``/control/`` that this module wraps::

    with FedifyPeer() as peer:          # or peer = FedifyPeer(); peer.start()
        peer.follow(handle="events@127.0.0.1:8002")
        peer.send(to=actor_url, activity={...}, spec="draft-cavage-http-signatures-12")
        peer.wait_for_inbox(activity_type="Create")

Every activity that reaches the peer's inbox and passes Fedify's signature
verification shows up in :meth:`FedifyPeer.inbox`; every POST to an inbox
path (verified or not, with Fedify's HTTP status) is in
:meth:`FedifyPeer.deliveries`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
PEER_DIR = Path(__file__).resolve().parent / "fedify_peer"
SERVER_SCRIPT = PEER_DIR / "server.mjs"
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-fedify.sh"

Spec = Literal["rfc9421", "draft-cavage-http-signatures-12"]
SendSpec = Literal["rfc9421", "draft-cavage-http-signatures-12", "none"]
FollowPolicy = Literal["accept", "reject", "ignore"]

RFC9421: Spec = "rfc9421"
DRAFT_CAVAGE: Spec = "draft-cavage-http-signatures-12"

Json = dict[str, Any]

_READY_MARKER = "FEDIFY_PEER_READY"


class FedifyNotInstalledError(RuntimeError):
    """Node 22 or the Fedify peer's npm dependencies are missing."""


class FedifyPeerError(RuntimeError):
    """The peer failed to start, died, or its control API answered an error."""


def node_binary() -> Path:
    """Path of the Node 22 binary installed by scripts/install-fedify.sh.

    Raises FedifyNotInstalledError (with the install command) when Node 22 or
    the pinned @fedify/fedify is not installed.
    """
    try:
        result = subprocess.run(
            ["bash", str(INSTALL_SCRIPT), "--check"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FedifyNotInstalledError(f"cannot run {INSTALL_SCRIPT} --check: {exc}") from exc
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        raise FedifyNotInstalledError(
            "The Fedify interop peer is not installed (needs Node 22 and "
            "@fedify/fedify 2.3.6 from npm). Run: bash scripts/install-fedify.sh"
        )
    return Path(lines[-1])


def is_installed() -> bool:
    try:
        node_binary()
    except FedifyNotInstalledError:
        return False
    return True


class FedifyPeer:
    """A Fedify ActivityPub peer running as a Node subprocess on loopback."""

    def __init__(
        self,
        *,
        actor: str = "alice",
        host: str = "127.0.0.1",
        first_knock: Spec = RFC9421,
        log_level: str = "warning",
        request_timeout: float = 30.0,
    ) -> None:
        self.actor = actor
        self.host = host
        self.first_knock: Spec = first_knock
        self.log_level = log_level
        self.request_timeout = request_timeout
        self.port: int | None = None
        self._info: Json | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._logdir: tempfile.TemporaryDirectory[str] | None = None
        self._client: httpx.Client | None = None
        self._last_logs = ""

    # ------------------------------------------------------------ lifecycle --

    def start(self, port: int = 0, timeout: float = 30.0) -> FedifyPeer:
        """Start the peer on ``port`` (0 = any free port) and wait until it answers."""
        if self._proc is not None:
            raise FedifyPeerError("peer already started")
        node = node_binary()
        self._logdir = tempfile.TemporaryDirectory(prefix="fedify-peer-")
        stdout_path = Path(self._logdir.name) / "stdout.log"
        stderr_path = Path(self._logdir.name) / "stderr.log"
        env = {
            **os.environ,
            "FEDIFY_LOG": self.log_level,
            "NODE_NO_WARNINGS": "1",
        }
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            self._proc = subprocess.Popen(
                [
                    str(node),
                    str(SERVER_SCRIPT),
                    "--port",
                    str(port),
                    "--host",
                    self.host,
                    "--actor",
                    self.actor,
                    "--first-knock",
                    self.first_knock,
                ],
                cwd=PEER_DIR,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=True,
            )
        try:
            self._wait_ready(stdout_path, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, stdout_path: Path, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        origin: str | None = None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise FedifyPeerError(f"fedify peer exited with {self._proc.returncode}:\n{self.logs()}")
            if origin is None:
                for line in stdout_path.read_text(errors="replace").splitlines():
                    if line.startswith(_READY_MARKER):
                        origin = line.split()[1]
                        break
            if origin is not None:
                if self._client is None:
                    self._client = httpx.Client(
                        base_url=origin,
                        timeout=self.request_timeout,
                        trust_env=False,
                    )
                try:
                    response = self._client.get("/control/info")
                    if response.status_code == 200:
                        self._info = response.json()
                        self.port = int(httpx.URL(origin).port or 80)
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        raise FedifyPeerError(f"fedify peer not ready after {timeout}s:\n{self.logs()}")

    def stop(self) -> None:
        """Stop the peer process (only the process this object started)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._logdir is not None:
            self._last_logs = self._read_logs()
            self._logdir.cleanup()
            self._logdir = None

    def __enter__(self) -> FedifyPeer:
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _read_logs(self) -> str:
        if self._logdir is None:
            return self._last_logs
        parts = []
        for name in ("stdout.log", "stderr.log"):
            path = Path(self._logdir.name) / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    @property
    def log_paths(self) -> list[Path]:
        """The peer's stdout and stderr log files (while it runs)."""
        if self._logdir is None:
            return []
        return [Path(self._logdir.name) / name for name in ("stdout.log", "stderr.log")]

    def logs(self) -> str:
        """The peer's stdout and stderr so far (Fedify logs go to stderr)."""
        return self._read_logs()

    # ---------------------------------------------------------- identities --

    @property
    def info(self) -> Json:
        if self._info is None:
            raise FedifyPeerError("peer not started")
        return self._info

    @property
    def origin(self) -> str:
        return str(self.info["origin"])

    @property
    def actor_id(self) -> str:
        return str(self.info["actor_id"])

    @property
    def handle(self) -> str:
        """``alice@127.0.0.1:PORT`` (WebFinger acct: without the scheme)."""
        return str(self.info["handle"])

    @property
    def inbox_url(self) -> str:
        return str(self.info["inbox"])

    @property
    def shared_inbox_url(self) -> str:
        return str(self.info["shared_inbox"])

    @property
    def key_id(self) -> str:
        return str(self.info["key_id"])

    # --------------------------------------------------------- control API --

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            raise FedifyPeerError("peer not started")
        return self._client

    def _get(self, path: str) -> Any:
        response = self.client.get(path)
        if response.status_code != 200:
            raise FedifyPeerError(f"GET {path} -> {response.status_code}: {response.text}")
        return response.json()

    def _post(self, path: str, body: Json) -> Json:
        response = self.client.post(path, json=body)
        if response.status_code != 200:
            raise FedifyPeerError(f"POST {path} -> {response.status_code}: {response.text}")
        data: Json = response.json()
        return data

    def inbox(self) -> list[Json]:
        """Verified activities received, oldest first.

        Each: seq, received_at, id, type, actor, object_id, object (Fedify's
        parsed view: type, id, name, content, startTime, endTime, location
        {type,id,name}, deleted, ...), object_error, embedded_object,
        inbox_path, recipient, signature_spec, json_ld, received (raw body),
        dropped (terms of the raw body a JSON-LD processor drops), reply (our
        Accept/Reject for a Follow), follow_id (for Accept/Reject).
        """
        result: list[Json] = self._get("/control/inbox")
        return result

    def deliveries(self) -> list[Json]:
        """Every POST to an inbox path: id, type, actor, path, signature_spec,
        headers (the signature-related request headers), status (Fedify's
        response), unverified_reason, and body when Fedify refused it."""
        result: list[Json] = self._get("/control/deliveries")
        return result

    def errors(self) -> list[Json]:
        """Exceptions raised inside the peer's inbox listeners."""
        result: list[Json] = self._get("/control/errors")
        return result

    def requests(self) -> list[Json]:
        """Every signed GET/HEAD the peer served (outside /control), with Fedify's verdict:
        method, path, url, signature_spec, headers, verified, key_id, key_owner, reason."""
        result: list[Json] = self._get("/control/requests")
        return result

    def parse(self, document: Json, base_url: str | None = None, *, as_object: bool = False) -> Json:
        """Parse ``document`` with Fedify's vocabulary (as lookup() does for a fetched one):
        {ok, type, id, ..., dropped, json_ld} or {ok: False, error}."""
        body: Json = {"document": document, "as_object": as_object}
        if base_url is not None:
            body["base_url"] = base_url
        return self._post("/control/parse", body)

    def publish(self, path: str, document: Json) -> str:
        """Serve ``document`` at ``origin + path`` (unsigned GETs get it as AS2 JSON); returns the URL."""
        return str(self._post("/control/publish", {"path": path, "document": document})["url"])

    def followers(self) -> list[str]:
        """Actor ids that follow this peer's actor (Follows it accepted)."""
        result: list[str] = self._get("/control/followers")
        return result

    def following(self) -> list[Json]:
        """Follows this peer sent: id, object, inbox, state
        (pending|accepted|rejected|send-failed), reply_id."""
        result: list[Json] = self._get("/control/following")
        return result

    def follow(self, handle: str | None = None, actor: str | None = None) -> Json:
        """Follow a remote actor by handle (``user@host:port``, WebFinger over
        http) or actor URL.  Returns {ok, follow_id, actor, inbox, webfinger}
        or {ok: False, stage: "lookup"|"send", error}."""
        if (handle is None) == (actor is None):
            raise ValueError("give exactly one of handle= or actor=")
        body: Json = {"handle": handle} if handle is not None else {"actor": actor}
        return self._post("/control/follow", body)

    def lookup(
        self,
        url: str | None = None,
        *,
        signed: bool = True,
        spec: Spec | None = None,
        handle: str | None = None,
        as_object: bool = False,
    ) -> Json:
        """Fetch ``url`` (or the actor of ``handle``) and parse it with Fedify.

        signed=True uses alice's authenticated document loader (Fedify's
        double knock, first spec = first_knock); with ``spec`` it is a single
        signed GET with exactly that spec.  signed=False is an unsigned fetch.
        as_object=True parses a type Fedify has no class for (schema:Order)
        as a plain Object: as:Object is added to the document's types.
        Returns {ok: True, type, id, name, content, startTime, ..., items
        (collection item ids), dropped (terms a JSON-LD processor drops),
        json_ld, raw} or {ok: False, error, status}.
        """
        body: Json = {"signed": signed}
        if url is not None:
            body["url"] = url
        if handle is not None:
            body["handle"] = handle
        if spec is not None:
            body["spec"] = spec
        if as_object:
            body["as_object"] = True
        return self._post("/control/lookup", body)

    def send(
        self,
        to: str | None,
        activity: Json,
        spec: SendSpec = RFC9421,
        *,
        inbox: str | None = None,
        shared_inbox: bool = False,
        fill_defaults: bool = True,
        tamper_body: bool = False,
        signed_at: str | None = None,
        key_id: str | None = None,
    ) -> Json:
        """Sign ``activity`` as alice with exactly ``spec`` and POST it to the
        inbox of actor ``to`` (or to ``inbox`` directly).  No double-knock
        fallback.  Returns {ok, status, body, inbox, to, spec, activity,
        request_headers}.

        fill_defaults adds @context, actor (alice) and an id when missing.
        spec="none" sends unsigned; tamper_body changes the body after signing;
        signed_at (ISO instant) back-dates the signature; key_id overrides the
        keyId put in the signature.
        """
        body: Json = {
            "activity": activity,
            "spec": spec,
            "fill_defaults": fill_defaults,
            "tamper_body": tamper_body,
            "shared_inbox": shared_inbox,
        }
        if to is not None:
            body["to"] = to
        if inbox is not None:
            body["inbox"] = inbox
        if to is None and inbox is None:
            raise ValueError("give to= (actor URL) or inbox=")
        if signed_at is not None:
            body["signed_at"] = signed_at
        if key_id is not None:
            body["key_id"] = key_id
        return self._post("/control/send", body)

    def interact(self, kind: str, obj: str, to: str, content: str | None = None) -> Json:
        """alice replies to (`kind="reply"`, with `content`), likes or announces `obj`, undoes a like or
        announce she sent (`obj` its id), or edits (`"update"`, with `content`) or deletes (`"delete"`) a reply she
        sent (`obj` its Note's id), as a Fedify app does: Fedify's vocabulary builds the activity and its
        sender signs and delivers it to the actor `to`. Returns {ok, id, object_id (the reply's Note), activity}."""
        body: Json = {"kind": kind, "object": obj, "to": to}
        if content is not None:
            body["content"] = content
        return self._post("/control/interact", body)

    def set_follow_policy(self, policy: FollowPolicy) -> None:
        """How incoming Follows are answered: accept (default), reject, ignore."""
        self._post("/control/follow-policy", {"policy": policy})

    def reset(self) -> None:
        """Forget inbox records, followers, follows, and Fedify's KV (key
        cache, remembered signature specs)."""
        self._post("/control/reset", {})

    # -------------------------------------------------------------- waiting --

    def wait_for_inbox(
        self,
        predicate: Callable[[Json], bool] | None = None,
        *,
        activity_type: str | None = None,
        actor: str | None = None,
        timeout: float = 10.0,
        interval: float = 0.1,
    ) -> Json:
        """Poll the inbox until an activity matches; return the newest match."""

        def matches(record: Json) -> bool:
            if activity_type is not None and record.get("type") != activity_type:
                return False
            if actor is not None and record.get("actor") != actor:
                return False
            return predicate is None or predicate(record)

        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.inbox() if matches(r)]
            if found:
                return found[-1]
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"no matching activity (type={activity_type}, actor={actor}) in fedify "
                    f"inbox after {timeout}s; deliveries={self.deliveries()}"
                )
            time.sleep(interval)

    def wait_for_follow(self, follow_id: str, state: str = "accepted", *, timeout: float = 10.0) -> Json:
        """Poll until our Follow ``follow_id`` reaches ``state``."""
        deadline = time.monotonic() + timeout
        while True:
            current = next((f for f in self.following() if f["id"] == follow_id), None)
            if current is not None and current["state"] == state:
                return current
            if time.monotonic() >= deadline:
                raise TimeoutError(f"follow {follow_id} not {state!r} after {timeout}s: {current}")
            time.sleep(0.1)


@contextmanager
def running_fedify_peer(port: int = 0, *, first_knock: Spec = RFC9421, actor: str = "alice") -> Iterator[FedifyPeer]:
    """Context manager: a started FedifyPeer, stopped on exit."""
    peer = FedifyPeer(actor=actor, first_knock=first_knock)
    peer.start(port)
    try:
        yield peer
    finally:
        peer.stop()
