"""The builder's stages as plain functions on small JSON-able rows, so that the same code
runs in a plain loop or as Ray Data stages (`pipeline`). Big arrays never travel in rows:
clips are written to the build's staging folder (shared storage on a cluster) and rows
carry their paths, which also makes a killed build resumable clip by clip.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.poster import Box, Poster, PosterError
from engine.data.build.filtering import ImageEncoder, Thresholds, alignment, judge
from engine.data.build.selection import SelectionFailed, select
from engine.data.build.sources import SourcePoster, load_source
from engine.data.build.synthesis import group_clips, object_clip, text_clip
from engine.planning.llm import LLMSettings


#: The variables stage II's engines read (engine.motion.i2v, engine.motion.dmdl_engine).
ENGINE_VARIABLES = ("I2V_MODEL", "I2V_DEVICE", "I2V_OFFLOAD", "I2V_MATTING_MODEL",
                    "DMDL_CHECKPOINT", "DMDL_DEVICE", "DMDL_OFFLOAD")


def engine_environment() -> tuple[tuple[str, str], ...]:
    return tuple((key, os.environ[key]) for key in ENGINE_VARIABLES if os.environ.get(key))


@dataclass(frozen=True)
class BuildConfig:
    """Everything a stage needs; picklable, so Ray can ship it to workers."""

    out: str
    frames: int = 49
    seed: int = 0
    engine: str = "i2v"
    engine_params: tuple[tuple[str, Any], ...] = ()
    llm: LLMSettings = field(default_factory=LLMSettings)
    attempts: int = 2
    encoder: str | None = None  # local CLIP/SigLIP folder for the consistency filter
    align: bool = False  # ask the stage-I LLM to rate each clip against its prompt (stage III)
    thresholds: Thresholds = field(default_factory=Thresholds)
    #: The engines' variables (I2V_MODEL, …) as the driver has them, set again in each
    #: worker: a Ray worker does not inherit the shell that started the build.
    engine_env: tuple[tuple[str, str], ...] = field(default_factory=lambda: engine_environment())

    @property
    def staging(self) -> Path:
        return Path(self.out) / ".staging"


def source_row(source: SourcePoster) -> dict[str, Any]:
    return {"name": source.name, "path": str(source.path), "kind": source.kind, "sha256": source.sha256,
            "license": source.license, "caption": source.caption}


def row_source(row: dict[str, Any]) -> SourcePoster:
    return SourcePoster(row["name"], Path(row["path"]), row["kind"], row["sha256"], row["license"], row["caption"])


@lru_cache(maxsize=4)
def _poster(path: str, kind: str, name: str, sha256: str) -> Poster:
    """One load per poster per worker (synthesis jobs of a poster share it)."""
    return load_source(SourcePoster(name, Path(path), kind, sha256, "", ""))


def poster_of(row: dict[str, Any]) -> Poster:
    return _poster(row["path"], row["kind"], row["name"], row["sha256"])


def job_seed(config: BuildConfig, poster: str, key: str) -> int:
    digest = hashlib.sha1(f"{config.seed}/{poster}/{key}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


# ----------------------------------------------------------------------------- stage I
def select_stage(row: dict[str, Any], config: BuildConfig) -> dict[str, Any]:
    """Stage I on one poster: the row gains `jobs` (one per clip or group) and `selection`."""
    try:
        poster = poster_of(row)
        selection = select(poster, config.llm, config.attempts)
    except SelectionFailed as error:
        return {**row, "size": None, "jobs": [], "selection": error.record, "failed": str(error)}
    except PosterError as error:
        return {**row, "size": None, "jobs": [], "selection": {}, "failed": str(error)}
    jobs = [{"kind": "object", "layers": [i], "prompt": p} for i, p in sorted(selection.objects.items())]
    jobs += [{"kind": "text", "layers": [i], "prompt": e} for i, e in sorted(selection.texts.items())]
    jobs += [{"kind": "group", "layers": m, "prompt": p} for m, p in selection.groups]
    return {**row, "size": [poster.width, poster.height], "jobs": jobs, "selection": selection.record, "failed": None}


def job_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Stage I's output fanned out: one row per synthesis job."""
    return [{**{k: row[k] for k in ("name", "path", "kind", "sha256")}, "job": job} for job in row["jobs"]]


# ----------------------------------------------------------------------------- stage II
class Synthesizer:
    """Stage II worker: holds its engines (a Ray actor keeps them loaded between jobs)."""

    def __init__(self, config: BuildConfig) -> None:
        from engine.motion.registry import get_engine  # noqa: PLC0415

        os.environ.update(dict(config.engine_env))
        self.config = config
        self.engine = get_engine(config.engine)
        self.presets = get_engine("presets")

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        job, config = row["job"], self.config
        key = f"{job['kind']}-{'-'.join(map(str, job['layers']))}"
        folder = config.staging / row["name"]
        done = folder / f"{key}.json"
        if done.exists():  # a resumed build: this job's clips are already staged
            return json.loads(done.read_text())
        seed = job_seed(config, row["name"], key)
        params = dict(config.engine_params)
        try:
            poster = poster_of(row)
            if job["kind"] == "text":
                made = [text_clip(self.presets, poster, job["layers"][0], job["prompt"], config.frames, seed)]
            elif job["kind"] == "group":
                made = group_clips(self.engine, poster, job["layers"], job["prompt"], config.frames, seed, params)
            else:
                made = [object_clip(self.engine, poster, job["layers"][0], job["prompt"], config.frames, seed, params)]
        except PosterError as error:
            out = [{"name": row["name"], "layer_id": job["layers"][0], "job": job, "clip": None, "failed": str(error)}]
        else:
            folder.mkdir(parents=True, exist_ok=True)
            out = []
            for clip in made:
                path = folder / f"{key}-layer{clip.layer_id}.npz"
                np.savez_compressed(path, frames=clip.frames)
                out.append({"name": row["name"], "layer_id": clip.layer_id, "job": job, "clip": str(path),
                            "prompt": clip.prompt, "box": list(clip.box.as_tuple()), "meta": clip.meta, "failed": None})
        folder.mkdir(parents=True, exist_ok=True)
        partial = done.with_suffix(".part")
        partial.write_text(json.dumps(out))
        partial.replace(done)
        return out


# ----------------------------------------------------------------------------- stage III
class Filter:
    """Stage III worker: holds the image encoder."""

    def __init__(self, config: BuildConfig) -> None:
        self.config = config
        self.encoder = ImageEncoder(config.encoder) if config.encoder else None

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        if row["failed"]:
            return {**row, "accepted": False, "scores": {}, "reasons": [row["failed"]]}
        with np.load(row["clip"]) as stored:
            frames = stored["frames"]
        score, why = alignment(frames, row["prompt"], self.config.llm) if self.config.align else (None, "")
        verdict = judge(frames, self.config.thresholds, self.encoder, score)
        if why:
            verdict.scores["alignment_note"] = why
        return {**row, "accepted": verdict.accepted, "scores": verdict.scores, "reasons": verdict.reasons}


def thresholds_dict(thresholds: Thresholds) -> dict[str, Any]:
    return asdict(thresholds)


def box_of(row: dict[str, Any]) -> Box:
    return Box.from_any(row["box"])
