"""Benchmark scripts (quality and performance); run from the repository root, see benchmarks/README.md."""
