"""The TDL dataset builder (paper §3, Figure 2): layered posters in, transparent dynamic layers out.

`python -m engine.data.build SOURCE… --out TDL_DIR` runs four steps on every poster:
`sources` (PSD folders through our importer, PrismLayers-style folders; provenance kept),
stage I `selection` (a vision LLM picks layers, classifies text vs object, writes motion
and group prompts), stage II `synthesis` (object layers and groups through the `i2v`
engine over gray and matted back; text layers through the presets' closed-set text
effects), stage III `filtering` (temporal dynamics, semantic consistency, optional VLM
alignment; scores kept, rejections logged). `pipeline` runs the stages as a plain loop or
as Ray Data stages (local Ray, or a cluster with RAY_ADDRESS) and writes the TDL format
with a manifest and a train/validation split by source poster.
"""
