"""Benchmarks: `python -m benchmarks [rfm|run|models ...] [--quick]`."""
