"""Rose Ash benchmarks near the machine's limits (issues 6 and 16): the idle peer, fan-out, inbox ingest, purchases,
collections, memory.

    .venv/bin/python bench/run.py            # full run: about 3 minutes on 2 idle cores, up to 8 on a busy machine
    .venv/bin/python bench/run.py --quick    # smaller counts: about 2 minutes
    .venv/bin/python bench/run.py --only inbox --profile    # one phase, with py-spy profiles in the logs folder
    .venv/bin/python bench/run.py --code /tmp/old-checkout  # the same measurements of another checkout's peers
    .venv/bin/python bench/run.py --only idle --idle-seconds 300  # the idle peers over the target's 5 minutes

Starts real `rose-ash serve` / `rose-ash worker` processes on loopback, each on a fresh PostgreSQL database
(BENCH_DATABASE_SERVER, default postgresql://postgres@127.0.0.1:5432; dropped at the end), with loopback sinks
(bench/sink.py) as remote inboxes and remote actors, and bench/loadgen.py as the load generator. Prints a markdown
table with each target met or missed and writes every figure to bench/results/<timestamp>.json, with the
measured commit (commit the file a README figure comes from; latest.json and the logs folders are not kept).
Ratios are taken against yardsticks measured in the same run, so a noisy machine cancels out.

This file is the command line and the order of a run. bench/harness.py starts the processes and makes the
databases, bench/measure.py holds the RSA yardstick, the CPU meter and the profiler, bench/seeding.py what is put
in front of the peers, bench/phases/ one module per benchmark, bench/report.py the table and the JSON. With
`--code`, only the peers run the other checkout's code; everything this process imports comes from this one.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the repository's packages (and bench's own) from this checkout
    sys.path.insert(0, str(REPO))

from bench.harness import RESULTS, Cluster, database_server, free_ports, log, sink_command, wait_tcp  # noqa: E402
from bench.measure import Profiler, raw_rsa  # noqa: E402
from bench.phases import PHASES  # noqa: E402
from bench.phases.common import FULL, QUICK, Run  # noqa: E402
from bench.report import TARGETS, machine, table, write_results  # noqa: E402
from bench.seeding import make_actors  # noqa: E402


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    sizes = QUICK if args.quick else FULL
    if args.idle_seconds:
        sizes = dataclasses.replace(sizes, idle_seconds=args.idle_seconds)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = RESULTS / f"logs-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(args.database_server, logs, args.code.resolve())
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "code": str(args.code),
        "commit": commit_of(args.code),
        "started": stamp,
        "machine": machine(),
        "sizes": sizes.__dict__,
        "targets": TARGETS,
    }
    started = time.perf_counter()
    try:
        log("measuring raw RSA-2048 on one core…")
        results["rsa"] = raw_rsa(sizes.sign_seconds)
        log(f"raw RSA: {results['rsa']}")
        sink_ports = free_ports(sizes.hosts)
        actors_file = logs / "actors.json"
        docs, keys = make_actors(sink_ports[0], 4)
        actors_file.write_text(json.dumps(docs))
        sink = cluster.start("sink", sink_command(sink_ports, actors_file), cluster.env())
        await wait_tcp(sink, sink_ports[-1])
        run = Run(cluster, sizes, sink_ports, sink, keys, results)
        for name, phase in PHASES.items():
            if args.only and name not in args.only:
                continue
            log(f"phase {name}…")
            await phase(run)
    finally:
        cluster.stop_all()
        if not args.keep_databases:
            await cluster.drop_databases()
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    return results


def commit_of(checkout: Path) -> str:
    """The measured checkout's commit, marked "+changes" when its tracked files differ from it."""
    git = ["git", "-C", str(checkout)]
    try:
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty.stdout.strip() else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts (about 1-2 minutes)")
    parser.add_argument(
        "--database-server",
        default=database_server(),
        help="PostgreSQL server URL without a database; one database per peer is created and dropped",
    )
    parser.add_argument("--only", action="append", choices=list(PHASES), help="run one phase")
    parser.add_argument("--keep-databases", action="store_true")
    parser.add_argument(
        "--idle-seconds", type=float, help="how long the idle peers' CPU is measured (60 s; 20 s --quick; target: 300)"
    )
    parser.add_argument("--code", type=Path, default=REPO, help="measure the peers of another checkout (before/after)")
    parser.add_argument("--profile", action="store_true", help="py-spy the measured processes (logs dir)")
    args = parser.parse_args()
    Profiler.enabled = args.profile
    results = asyncio.run(main_async(args))
    text = table(results)
    results["table"] = text
    out = write_results(results, args.quick)
    print(text)
    print(f"\nFigures: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
