"""`rose-ash serve` ticks once a second, not ten times: the Date header still moves on every second, and a
shutdown signal still ends the peer cleanly."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx

from tests.support.processes import PeerProcess


def test_the_date_header_moves_and_a_signal_stops_the_peer(
    peer_process: Callable[..., PeerProcess],
) -> None:
    blog = peer_process("blog")
    dates = []
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for _ in range(2):
            dates.append(parsedate_to_datetime(client.get(f"{blog.url}/healthz").headers["date"]))
            time.sleep(2.1)
    assert (dates[1] - dates[0]).total_seconds() >= 2

    blog.kill(signal.SIGTERM, timeout=10.0)
    assert blog.process is not None and blog.process.returncode is not None
    assert "Application shutdown complete" in blog.log_text(), blog.log_tail()
