"""Benchmarks: epoch throughput beside the notebook's loop, saved runs compared, runs at once."""
