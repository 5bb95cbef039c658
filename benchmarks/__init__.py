"""Benchmarks: speed, memory and accuracy (see README.md here)."""
