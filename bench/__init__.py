"""The benchmark harness behind BENCHMARKS.md (`make bench`; see bench/run.py)."""
