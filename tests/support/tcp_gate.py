"""A TCP forwarder in front of a server (here: PostgreSQL) that a test can cut and restore, to do to a peer what
a restart of that server does: every open connection closed, new ones refused, then the server back on the
same port."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from typing import Any

from sqlalchemy.engine import make_url


class TcpGate:
    @classmethod
    def before_database(cls, database_url: str) -> tuple[TcpGate, str]:
        """A gate in front of the database's server, and the URL that reaches the database through it."""
        url = make_url(database_url)
        gate = cls(url.host or "127.0.0.1", url.port or 5432)
        return gate, url.set(host="127.0.0.1", port=gate.port).render_as_string(hide_password=False)

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.restore()

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def restore(self) -> None:
        """Listen again: new connections reach the server."""
        self._run(self._listen())

    def cut(self) -> None:
        """Close every forwarded connection and stop listening: connecting is refused until `restore()`."""
        self._run(self._cut())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # no new connections; the open ones are closed below (wait_closed waits for them)
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._writers.add(client_writer)  # before connecting onwards, so a cut meanwhile closes it too
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        if client_writer not in self._writers:  # cut while connecting
            server_writer.close()
            return
        self._writers.add(server_writer)
        await asyncio.gather(
            _pipe(client_reader, server_writer), _pipe(server_reader, client_writer), return_exceptions=True
        )
        for writer in (client_writer, server_writer):
            self._writers.discard(writer)
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        writer.close()
