"""Evaluation harness: the paper's Tables 1 and 2 for any engine on any TDL split.

`python -m engine.eval` is the front door. `generate` runs every engine on the same
validation conditions (cached, resumable), `metrics`/`lpips`/`fvd` score clips over gray
with feature networks read from local files, `harness` loops the paper's settings and
`report` writes the tables, the per-sample CSV and contact sheets of the worst samples.
"""
