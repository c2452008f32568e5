"""Measurement scripts: run from the repository root as `python -m benchmarks.<name>`;
results, with the command and the machine, go to docs/benchmarks.md."""
