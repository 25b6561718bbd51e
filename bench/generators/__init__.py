"""Deterministic generators of provider billing data, shared by the benchmarks and the tests."""
