"""Helpers shared by the tests and the benchmarks: paths, tiny models, factories, decoders."""
