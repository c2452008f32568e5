"""Run the stages over every source poster and write the TDL dataset.

Two executors run the same stage functions (engine.data.build.stages):
- `loop`: one process, one stage after the other; what a laptop or a test needs.
- `ray` (default): each stage a Ray Data stage: stage I as CPU tasks, stage II as
  `flat_map` actors that keep their I2V pipeline loaded (one GPU each when the cluster has
  GPUs), stage III as actors holding the image encoder. `ray.init()` starts a local Ray on
  this machine, or joins the cluster named by RAY_ADDRESS, unchanged. No scheduler of ours.

Rows are JSON strings (Arrow-safe whatever the nesting); clips travel as files in the
build's staging folder, which must be shared storage on a cluster.

A build is resumable and idempotent: a poster whose directory is complete is skipped, a
synthesis job already staged is read back instead of regenerated, and a poster directory
appears only once all of its samples are written (staged, then renamed into place).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from tqdm import tqdm

from engine.core.poster import Box, PosterError
from engine.data.build.sources import SourcePoster
from engine.data.build.stages import BuildConfig, Filter, Synthesizer, job_rows, select_stage, source_row, poster_of
from engine.data.tdl import TDLSample, init_root, write_poster, write_splits

MANIFEST = "build.json"
EXECUTORS = ("ray", "loop")


def _loop(todo: list[dict[str, Any]], config: BuildConfig, timing: dict[str, float]) -> tuple[list, list]:
    started = time.perf_counter()
    selected = [select_stage(row, config) for row in tqdm(todo, desc="stage I · select", unit="poster")]
    timing["select"] = time.perf_counter() - started
    jobs = [job for row in selected for job in job_rows(row)]
    started = time.perf_counter()
    synthesize = Synthesizer(config) if jobs else None
    clips = [clip for job in tqdm(jobs, desc="stage II · synthesize", unit="job") for clip in synthesize(job)]
    timing["synthesize"] = time.perf_counter() - started
    started = time.perf_counter()
    judge = Filter(config) if clips else None
    judged = [judge(clip) for clip in tqdm(clips, desc="stage III · filter", unit="clip")]
    timing["filter"] = time.perf_counter() - started
    return selected, judged


class _JsonRows:
    """Wraps a row function for Ray Data: rows are {"row": json}, results likewise."""

    def __init__(self, fn: Callable[[dict], Any], many: bool) -> None:
        self.fn, self.many = fn, many

    def __call__(self, row: dict[str, str]) -> Any:
        result = self.fn(json.loads(row["row"]))
        if self.many:
            return [{"row": json.dumps(r)} for r in result]
        return {"row": json.dumps(result)}


class _SynthesizeActor(_JsonRows):
    def __init__(self, config: BuildConfig) -> None:
        super().__init__(Synthesizer(config), many=True)


class _FilterActor(_JsonRows):
    def __init__(self, config: BuildConfig) -> None:
        super().__init__(Filter(config), many=False)


def _ray(todo: list[dict[str, Any]], config: BuildConfig, timing: dict[str, float], gpus: float) -> tuple[list, list]:
    import ray  # noqa: PLC0415 (heavy; the loop executor never needs it)

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS") or "local"  # "local": a new Ray, never a stray one
        # a local Ray's workers import this checkout; a cluster's workers must have it installed
        local = {"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[3])}} if address == "local" else None
        ray.init(address=address, include_dashboard=False, log_to_driver=False, runtime_env=local)
    started = time.perf_counter()

    def unpack(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
        return [json.loads(r["row"]) for r in rows]

    source = ray.data.from_items([{"row": json.dumps(r)} for r in todo])
    selected = unpack(source.map(_JsonRows(lambda r: select_stage(r, config), many=False)).take_all())
    timing["select"] = time.perf_counter() - started
    jobs = [job for row in selected for job in job_rows(row)]
    if not jobs:
        return selected, []
    started = time.perf_counter()
    workers = max(1, min(len(jobs), int(ray.cluster_resources().get("GPU", 0)) or 1))
    clips = ray.data.from_items([{"row": json.dumps(j)} for j in jobs]).flat_map(
        _SynthesizeActor, fn_constructor_kwargs={"config": config}, concurrency=workers, num_gpus=gpus)
    judged = unpack(clips.map(_FilterActor, fn_constructor_kwargs={"config": config}, concurrency=1).take_all())
    timing["synthesize+filter"] = time.perf_counter() - started
    return selected, judged


def _write_poster(config: BuildConfig, row: dict[str, Any], clips: list[dict[str, Any]]) -> int:
    """Write one poster's accepted samples atomically; returns how many."""
    poster = poster_of(row)
    samples = []
    for clip in sorted(clips, key=lambda c: c["layer_id"]):  # the same order whichever executor finished first
        with np.load(clip["clip"]) as stored:
            frames = stored["frames"]
        layer = poster.layer(clip["layer_id"])
        samples.append(TDLSample(
            poster=row["name"], layer_id=layer.id, name=layer.name, prompt=clip["prompt"],
            motion_box=Box.from_any(clip["box"]), static_box=layer.box, static=layer.pixels, frames=frames,
            kind=layer.kind.value, meta={**clip["meta"], "job": clip["job"]["kind"], "scores": clip["scores"],
                                         "stage1": row["selection"]},
        ))
    group_prompts = sorted({c["job"]["prompt"] for c in clips if c["job"]["kind"] == "group"})
    scratch = Path(config.out) / ".staging" / f"write-{row['name']}"
    shutil.rmtree(scratch, ignore_errors=True)
    write_poster(scratch, row["name"], row["size"][0], row["size"][1], samples,
                 group_prompt=group_prompts[0] if len(group_prompts) == 1 else None,
                 extra={"provenance": {k: row[k] for k in ("path", "kind", "sha256", "license")},
                        "caption": row["caption"], "group_prompts": group_prompts})
    final = Path(config.out) / row["name"]
    shutil.rmtree(final, ignore_errors=True)
    (scratch / row["name"]).replace(final)
    shutil.rmtree(scratch, ignore_errors=True)
    return len(samples)


def build(sources: Sequence[SourcePoster], config: BuildConfig, executor: str = "ray", gpus: float = 0,
          val_fraction: float = 0.1) -> dict[str, Any]:
    """Build (or resume building) the TDL folder `config.out`; returns the manifest."""
    if executor not in EXECUTORS:
        raise PosterError(f"Unknown executor '{executor}': use {' or '.join(EXECUTORS)}.")
    out = init_root(config.out)
    manifest_path = out / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"posters": {}, "rejected": []}
    finished = {name for name, info in manifest["posters"].items()
                if info.get("status") in ("written", "failed", "empty") and (info["status"] != "written" or (out / name / "poster.json").exists())}
    todo = [source_row(s) for s in sources if s.name not in finished]
    timing: dict[str, float] = {}
    selected, judged = (_loop if executor == "loop" else lambda t, c, tm: _ray(t, c, tm, gpus))(todo, config, timing)
    by_poster: dict[str, list[dict[str, Any]]] = {}
    for clip in judged:
        by_poster.setdefault(clip["name"], []).append(clip)
    for row in selected:
        clips = by_poster.get(row["name"], [])
        accepted = [c for c in clips if c["accepted"]]
        for clip in clips:
            if not clip["accepted"]:
                manifest["rejected"].append({"poster": row["name"], "layer_id": clip["layer_id"], "job": clip["job"]["kind"],
                                             "scores": clip.get("scores", {}), "reasons": clip["reasons"]})
        if row["failed"]:
            status, written = "failed", 0
        elif not accepted:
            status, written = "empty", 0
        else:
            written, status = _write_poster(config, row, accepted), "written"
        manifest["posters"][row["name"]] = {
            "status": status, "reason": row["failed"], "sha256": row["sha256"], "license": row["license"],
            "selected": len(row["jobs"]), "clips": len(clips), "written": written,
        }
    posters = manifest["posters"]
    counts = Counter()
    for info in posters.values():
        counts["posters"] += 1
        counts[f"posters {info['status']}"] += 1
        counts["stage I jobs"] += info["selected"]
        counts["stage II clips"] += info["clips"]
        counts["stage III accepted"] += info["written"]
    manifest["counts"] = dict(counts)
    manifest["timing_s"] = timing
    manifest["executor"] = executor
    manifest_path.write_text(json.dumps(manifest, indent=1))
    written = sorted(name for name, info in posters.items() if info["status"] == "written")
    if written:
        write_splits(out, split_by_source(written, {n: posters[n]["sha256"] for n in written}, val_fraction))
    return manifest


def split_by_source(names: list[str], hashes: dict[str, str], val_fraction: float) -> dict[str, list[str]]:
    """Whole posters to train or validation, by their source hash: stable as the dataset grows,
    and the same source file can never land in both."""
    val = [n for n in names if int(hashes[n][:8], 16) / 0xFFFFFFFF < val_fraction]
    if not val and len(names) > 1 and val_fraction > 0:
        val = [min(names, key=lambda n: hashes[n])]
    return {"val": val, "train": [n for n in names if n not in val]}
