"""Benchmarks: `make bench` (or `python -m benchmarks [name ...]`) prints figures and ratios."""
