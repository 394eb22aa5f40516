"""Percentiles, shared by the harness and the load generator (which runs as a bare script, without the repo's
packages on its path, so this module imports nothing of them)."""

from __future__ import annotations


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0
