"""Promptify benchmarks: `python -m bench.run` (see bench/RESULTS.md). Not collected by pytest."""
