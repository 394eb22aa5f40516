"""A loopback HTTP server that answers every request one byte every `interval` seconds, for ever: the
slow key server of an attacker who wants to hold the fetches of the peer that asks it."""

from __future__ import annotations

import contextlib
import socket
import threading

ANSWER = b'HTTP/1.1 200 OK\r\ncontent-type: application/activity+json\r\ncontent-length: 100000\r\n\r\n{"id": "'


class TrickleServer:
    def __init__(self, interval: float = 3.0) -> None:
        self.interval = interval
        self.connections = 0  # accepted so far
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with contextlib.closing(conn):
            try:
                conn.recv(65536)  # the request: its content does not matter
                for byte in ANSWER * 1000:
                    if self._stop.wait(self.interval):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._socket.close()
        self._thread.join(timeout=5)
