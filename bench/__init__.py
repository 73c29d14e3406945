"""Benchmarks, run by hand (``docs/benchmarks.md``); never timed assertions in tests."""
