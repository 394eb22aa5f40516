"""A closed-loop HTTP/1.1 load generator: C keep-alive connections each send the next pre-built request as soon
as the previous answer is in. Requests are raw bytes prepared beforehand (signed once), so the generator only
writes bytes and finds the end of each response: with uvloop it does tens of thousands of requests a second on
one core, far above what it measures. It reports its own CPU use so a run can show it was not the limit.

    python bench/loadgen.py --port P --requests FILE.pickle [--concurrency 32] [--warmup 500] [--time-limit 60]

FILE holds a pickled list of complete requests (bytes). The first `--warmup` are sent and not counted.
Prints one JSON object: count, statuses, elapsed, rate, p50/p90/p99 (ms), cpu_seconds, cpu_share.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import resource
import time
from collections import Counter
from pathlib import Path

# bench/ is the script's own folder, first on sys.path
from loop import run_fast
from stats import percentile


class Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = self.buffer[:end].lower()
        at = head.find(b"\r\ncontent-length:")
        length = 0
        if at >= 0:
            stop = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : stop if stop > 0 else len(head)].strip())
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])
        self.buffer = self.buffer[end + 4 + length :]
        waiter, self.waiter = self.waiter, None
        waiter.set_result(status)

    async def request(self, raw: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


async def run(
    host: str, port: int, requests: list[bytes], concurrency: int, warmup: int, time_limit: float
) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    position = 0
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0

    async def connect() -> Connection:
        _, protocol = await loop.create_connection(Connection, host, port)
        return protocol

    async def client(limit: int, measured: bool, deadline: float) -> None:
        nonlocal position, errors
        connection = await connect()
        while position < limit and time.monotonic() < deadline:
            raw = requests[position]
            position += 1
            started = time.perf_counter()
            try:
                status = await connection.request(raw)
            except ConnectionError:
                errors += 1
                connection = await connect()
                continue
            if measured:
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
            if connection.lost:
                connection = await connect()
        assert connection.transport is not None
        connection.transport.close()

    if warmup:
        await asyncio.gather(*(client(warmup, False, time.monotonic() + time_limit) for _ in range(concurrency)))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    deadline = time.monotonic() + time_limit
    await asyncio.gather(*(client(len(requests), True, deadline) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)

    def pct(p: float) -> float:
        return round(percentile(latencies, p) * 1000, 3)

    count = len(latencies)
    return {
        "count": count,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors,
        "elapsed": round(elapsed, 3),
        "rate": round(count / elapsed, 1) if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "cpu_seconds": round(cpu, 3),
        "cpu_share": round(cpu / elapsed, 3) if elapsed else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    requests: list[bytes] = pickle.loads(args.requests.read_bytes())
    coro = run(args.host, args.port, requests, args.concurrency, args.warmup, args.time_limit)
    print(json.dumps(run_fast(coro)))


if __name__ == "__main__":
    main()
