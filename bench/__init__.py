"""Benchmarks near the machine's limits; `python bench/run.py` is the entry point (see its docstring)."""
