"""Generators of realistic source trees for the benchmarks."""
