"""Loopback inbox sinks and remote actors for the benchmarks: one process, many ports (one "host" each).

- `POST <anything>` → 202, counted (first and last arrival kept);
- `GET /users/<name>` → the actor document of that name from `--actors` (a JSON file {name: doc});
- `GET /_stats` → {"posts": n, "first": t, "last": t}; `POST /_reset` zeroes the counters.

Raw asyncio on uvloop, so that the sinks cost a few per cent of a core and never set the pace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from pathlib import Path

STATS = {"posts": 0, "first": 0.0, "last": 0.0}
ACTORS: dict[str, bytes] = {}


def _response(status: int, body: bytes = b"", media: bytes = b"application/json") -> bytes:
    reason = {200: b"OK", 202: b"Accepted", 404: b"Not Found"}.get(status, b"OK")
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n" % (status, reason, media, len(body)) + body
    )


ACCEPTED = _response(202)
NOT_FOUND = _response(404, b'{"error":"not found"}')


class Sink(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop > 0 else len(lower)].strip())
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            method, _, rest = head.partition(b" ")
            path = rest.split(b" ", 1)[0]
            assert self.transport is not None
            self.transport.write(self.answer(method, path))

    def answer(self, method: bytes, path: bytes) -> bytes:
        if method == b"POST":
            if path == b"/_reset":
                STATS.update(posts=0, first=0.0, last=0.0)
                return _response(200, b"{}")
            now = time.time()
            if not STATS["posts"]:
                STATS["first"] = now
            STATS["posts"] += 1
            STATS["last"] = now
            return ACCEPTED
        if path == b"/_stats":
            return _response(200, json.dumps(STATS).encode())
        if path.startswith(b"/users/"):
            doc = ACTORS.get(path[len(b"/users/") :].decode())
            if doc is not None:
                return _response(200, doc, b"application/activity+json")
        return NOT_FOUND


async def main(ports: list[int]) -> None:
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(Sink, "127.0.0.1", port, backlog=1024) for port in ports]
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", required=True, help="comma-separated ports")
    parser.add_argument("--actors", type=Path)
    args = parser.parse_args()
    if args.actors:
        ACTORS.update({name: json.dumps(doc).encode() for name, doc in json.loads(args.actors.read_text()).items()})
    try:
        import uvloop
    except ImportError:
        asyncio.run(main([int(p) for p in args.ports.split(",")]))
    else:
        uvloop.run(main([int(p) for p in args.ports.split(",")]))
