"""Benchmarks of Forge against reference implementations; see bench/README.md.

A regular package (not a namespace one) so that `from bench import ...` always finds this
directory, even if some installed distribution also ships a top-level `bench`.
"""
