"""A tiny real HTTP server on loopback for the tests: it serves JSON documents (a remote actor and its key)
and records every request (an inbox sink), answering with a configurable status, or hanging.

It runs `http.server.ThreadingHTTPServer` in a thread, so it works from sync and async tests alike and
the peers under test reach it over real TCP."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Recorded:
    """One request as the server saw it. `answered_at` is set once the reply has been written."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    received_at: float
    client_port: int = 0
    status: int | None = None
    answered_at: float | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def activity_id(self) -> str | None:
        try:
            doc = self.json()
        except ValueError:
            return None
        return doc.get("id") if isinstance(doc, dict) else None


@dataclass(frozen=True)
class Reply:
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


HANG = Reply(status=-1)  # hold the request open until `release()` (or the hang limit)

Responder = Callable[[Recorded], Reply]


class FakeServer:
    """`serve_json(path, doc)` for GETs; every request is kept in `requests`; POSTs are answered by
    `responder` (202 by default). `hang()` holds POSTs open; `release()` lets them go."""

    def __init__(
        self, *, hang_limit: float = 60.0, bind: str = "127.0.0.1", port: int = 0, netloc: str = "", scheme: str = "http"
    ) -> None:
        """`bind`/`port`: where it listens; `netloc`: the host:port its URLs name (default 127.0.0.1:<port>),
        for a server others reach by another name (a container on a compose network); `scheme`: https for one
        reached through a TLS terminator (tests/support/tls.py)."""
        self._netloc = netloc
        self._scheme = scheme
        self.documents: dict[str, Reply] = {}
        self.requests: list[Recorded] = []
        self.responder: Responder = lambda _r: Reply(202)
        # Asked first for every request, GETs included: a Reply to answer with instead, or None to go on.
        self.gate: Callable[[Recorded], Reply | None] = lambda _r: None
        self.hang_limit = hang_limit
        self.delay = 0.0  # seconds before answering a POST (a slow inbox)
        self._cond = threading.Condition()
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                record = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parts.query,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    received_at=time.time(),
                    client_port=int(self.client_address[1]),
                )
                with server._cond:
                    server.requests.append(record)
                    server._cond.notify_all()
                gated = server.gate(record)
                if gated is not None:
                    reply = gated
                elif self.command in ("GET", "HEAD"):
                    reply = server.documents.get(parts.path, Reply(404, {"content-type": "application/json"}, b"{}"))
                else:
                    reply = server.responder(record)
                    if server.delay:
                        time.sleep(server.delay)
                if reply is HANG or reply.status < 0:
                    server._release.wait(server.hang_limit)
                    reply = Reply(202)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    chunked = reply.headers.get("transfer-encoding") == "chunked"
                    if not chunked:
                        self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    if self.command != "HEAD" and chunked:  # no length announced: the reader must count
                        for start in range(0, len(reply.body), 4096):
                            piece = reply.body[start : start + 4096]
                            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                    elif self.command != "HEAD":
                        self.wfile.write(reply.body)
                    self.wfile.flush()
                except OSError:
                    return  # the client went away (a killed peer): nothing was answered
                with server._cond:
                    record.status, record.answered_at = reply.status, time.time()
                    server._cond.notify_all()

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # connection resets from killed peers are expected

        self._server = Server((bind, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # addresses
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def netloc(self) -> str:
        return self._netloc or f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self._scheme}://{self.netloc}"

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    # what it serves
    def serve_json(self, path: str, doc: Any, media_type: str = "application/activity+json") -> None:
        self.documents[path] = Reply(200, {"content-type": media_type}, json.dumps(doc).encode())

    def serve(self, path: str, reply: Reply) -> None:
        self.documents[path] = reply

    def reply_with(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        reply = Reply(status, headers or {}, body)
        self.responder = lambda _r: reply

    def reply_sequence(self, replies: Iterable[Reply | int]) -> None:
        """Answer POSTs with these replies in turn; the last one repeats."""
        queue = [r if isinstance(r, Reply) else Reply(r) for r in replies]
        lock = threading.Lock()

        def responder(_r: Recorded) -> Reply:
            with lock:
                return queue.pop(0) if len(queue) > 1 else queue[0]

        self.responder = responder

    def hang(self) -> None:
        self._release.clear()
        self.responder = lambda _r: HANG

    def release(self) -> None:
        self._release.set()

    # what it saw
    def posts(self, path: str | None = None) -> list[Recorded]:
        with self._cond:
            return [r for r in self.requests if r.method == "POST" and (path is None or r.path == path)]

    def gets(self, path: str | None = None) -> list[Recorded]:
        with self._cond:
            return [r for r in self.requests if r.method == "GET" and (path is None or r.path == path)]

    def activity_counts(self, path: str | None = None) -> Counter[str | None]:
        """How many POSTs carried each activity id (a receiver dedupes on it)."""
        return Counter(r.activity_id for r in self.posts(path))

    def wait_for(self, predicate: Callable[[FakeServer], bool], timeout: float = 15.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what or 'a condition'} on {self.base_url}")
                self._cond.wait(min(left, 0.2))

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
