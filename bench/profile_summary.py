"""Summarise a py-spy `--format raw` profile (collapsed stacks): top functions by self and by total samples.

.venv/bin/python bench/profile_summary.py bench/results/logs-…/profile-….txt [--top 30] [--filter TEXT]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--filter", action="append", default=[], help="only stacks containing this text (any of)")
    args = parser.parse_args()
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in args.path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit() or (args.filter and not any(f in stack for f in args.filter)):
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    print(f"{samples} samples")
    for title, counter in (("self", own), ("total", total)):
        print(f"\n-- by {title}")
        for frame, n in counter.most_common(args.top):
            print(f"{n / samples:6.1%}  {frame[:150]}")


if __name__ == "__main__":
    main()
