"""The TDL (Transparent Dynamic Layer) dataset on disk (paper §3): write, index, read.

One directory per poster, one sub-directory per animated layer, so the layers of a poster
stay together for group-action training (a shared prompt) and the multi-layer transformer:

    root/tdl.json                          {"format": "tdl", "version": 1}
    root/<poster>/poster.json              canvas size, group prompt, layer directories
    root/<poster>/<layer>/sample.json      prompt, motion box, static box, frame count, fps, …
    root/<poster>/<layer>/static.png       the static layer, RGBA, its own box
    root/<poster>/<layer>/frames/00000.png straight-alpha RGBA frames in motion-box space

PNG frames keep samples inspectable with any image viewer and lossless (alpha included);
the JSON side-cars let the index know every clip's shape without decoding an image.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from PIL import Image

from engine.core.poster import Box, PosterError

FORMAT_VERSION = 1
#: Optional at the root: {"val": [poster directory names], "train": [...]} (see `split_indices`).
SPLITS_FILE = "splits.json"


@dataclass
class TDLSample:
    """One transparent dynamic layer: its clip, where it moves, what it was, why it moves."""

    poster: str
    layer_id: int
    name: str
    prompt: str
    motion_box: Box
    static_box: Box
    static: np.ndarray  # (static_box.h, static_box.w, 4) uint8
    frames: np.ndarray  # (T, motion_box.h, motion_box.w, 4) uint8
    kind: str = "pixel"
    fps: int = 24
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. preset and parameters

    def __post_init__(self) -> None:
        self.motion_box, self.static_box = Box.from_any(self.motion_box), Box.from_any(self.static_box)
        if self.frames.dtype != np.uint8 or self.frames.ndim != 4 or self.frames.shape[3] != 4:
            raise PosterError(f"TDL sample '{self.name}' frames must be RGBA uint8 (T, h, w, 4).")
        if self.frames.shape[1:3] != (self.motion_box.h, self.motion_box.w):
            raise PosterError(
                f"TDL sample '{self.name}' frames are {self.frames.shape[2]}×{self.frames.shape[1]} but its "
                f"motion box is {self.motion_box.w}×{self.motion_box.h}."
            )
        if self.static.shape != (self.static_box.h, self.static_box.w, 4) or self.static.dtype != np.uint8:
            raise PosterError(f"TDL sample '{self.name}' static layer must be RGBA uint8 of its box size.")


@dataclass(frozen=True)
class SampleRef:
    """Where a sample lives and its clip shape, known without reading any image."""

    path: Path
    poster: str
    frames: int
    motion_box: Box

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.frames, self.motion_box.h, self.motion_box.w)


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return name or "item"


def _write_png(path: Path, rgba: np.ndarray) -> None:
    Image.fromarray(rgba, "RGBA").save(path, compress_level=1)


def _read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA")).copy()


def init_root(root: str | Path) -> Path:
    """Make `root` a TDL dataset folder (idempotent)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "tdl.json").write_text(json.dumps({"format": "tdl", "version": FORMAT_VERSION}))
    return root


def write_poster(
    root: str | Path,
    poster: str,
    width: int,
    height: int,
    samples: Sequence[TDLSample],
    group_prompt: str | None = None,
    extra: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the animated layers of one poster (overwriting that poster's directory).

    `extra` goes into poster.json beside the fixed fields (the builder's provenance:
    source path, licence and hash; caption; every group prompt).
    """
    root = init_root(root)
    poster_dir = root / _safe_name(poster)
    poster_dir.mkdir(exist_ok=True)
    layer_dirs = []
    for sample in samples:
        layer_dir = poster_dir / f"layer-{sample.layer_id:04d}-{_safe_name(sample.name)}"
        frames_dir = layer_dir / "frames"
        frames_dir.mkdir(parents=True, exist_ok=True)
        for stale in frames_dir.glob("*.png"):
            stale.unlink()
        for index, frame in enumerate(sample.frames):
            _write_png(frames_dir / f"{index:05d}.png", frame)
        _write_png(layer_dir / "static.png", sample.static)
        record = {
            "layer_id": sample.layer_id,
            "name": sample.name,
            "kind": sample.kind,
            "prompt": sample.prompt,
            "motion_box": list(sample.motion_box.as_tuple()),
            "static_box": list(sample.static_box.as_tuple()),
            "frames": int(sample.frames.shape[0]),
            "fps": sample.fps,
            "meta": sample.meta,
        }
        (layer_dir / "sample.json").write_text(json.dumps(record, indent=1))
        layer_dirs.append(layer_dir)
    poster_record = {
        "name": poster,
        "width": width,
        "height": height,
        "group_prompt": group_prompt,
        "layers": [path.name for path in layer_dirs],
        **(extra or {}),
    }
    (poster_dir / "poster.json").write_text(json.dumps(poster_record, indent=1))
    return layer_dirs


def write_splits(root: str | Path, splits: dict[str, list[str]]) -> Path:
    """Record which posters belong to which split (whole posters, so no layer leaks across)."""
    path = Path(root) / SPLITS_FILE
    path.write_text(json.dumps({name: sorted(posters) for name, posters in splits.items()}, indent=1))
    return path


def read_sample(layer_dir: str | Path, poster: str | None = None) -> TDLSample:
    """Read one layer directory back."""
    layer_dir = Path(layer_dir)
    record = json.loads((layer_dir / "sample.json").read_text())
    frame_paths = sorted((layer_dir / "frames").glob("*.png"))
    if len(frame_paths) != record["frames"]:
        raise PosterError(
            f"TDL sample {layer_dir} should have {record['frames']} frames but has {len(frame_paths)} on disk; "
            "re-generate it."
        )
    return TDLSample(
        poster=poster or layer_dir.parent.name,
        layer_id=record["layer_id"],
        name=record["name"],
        prompt=record["prompt"],
        motion_box=Box.from_any(record["motion_box"]),
        static_box=Box.from_any(record["static_box"]),
        static=_read_png(layer_dir / "static.png"),
        frames=np.stack([_read_png(path) for path in frame_paths]),
        kind=record.get("kind", "pixel"),
        fps=record.get("fps", 24),
        meta=record.get("meta", {}),
    )


class TDLDataset:
    """An index over a TDL root: samples in a stable order, posters and their layers.

    Opening reads only the JSON files; `load(i)` reads one sample's images.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not (self.root / "tdl.json").exists():
            raise PosterError(
                f"{self.root} is not a TDL dataset (no tdl.json): generate one with "
                "`python -m engine.data.synthetic --out DIR`."
            )
        self.refs: list[SampleRef] = []
        self.posters: dict[str, dict[str, Any]] = {}
        for poster_json in sorted(self.root.glob("*/poster.json")):
            record = json.loads(poster_json.read_text())
            self.posters[poster_json.parent.name] = record
            for layer_name in record["layers"]:
                layer_dir = poster_json.parent / layer_name
                sample = json.loads((layer_dir / "sample.json").read_text())
                self.refs.append(
                    SampleRef(layer_dir, poster_json.parent.name, sample["frames"], Box.from_any(sample["motion_box"]))
                )
        if not self.refs:
            raise PosterError(f"The TDL dataset at {self.root} holds no samples.")

    def __len__(self) -> int:
        return len(self.refs)

    def load(self, index: int) -> TDLSample:
        ref = self.refs[index]
        return read_sample(ref.path, ref.poster)

    def __iter__(self) -> Iterator[TDLSample]:
        return (self.load(index) for index in range(len(self)))

    def poster_groups(self) -> dict[str, list[int]]:
        """Sample indices grouped by poster, for multi-layer and group-action training."""
        groups: dict[str, list[int]] = {}
        for index, ref in enumerate(self.refs):
            groups.setdefault(ref.poster, []).append(index)
        return groups

    def split_indices(self, name: str) -> list[int]:
        """Sample indices of split `name` ("all" for every sample).

        Splits are whole posters, read from splits.json at the root. Without that file,
        "val" is the last tenth of the posters in name order (at least one) and "train"
        the rest: deterministic, so every engine and every run sees the same samples.
        """
        groups = self.poster_groups()
        if name == "all":
            return list(range(len(self)))
        path = self.root / SPLITS_FILE
        if path.exists():
            splits = json.loads(path.read_text())
            if name not in splits:
                raise PosterError(f"{path} has no '{name}' split; it has: {', '.join(sorted(splits)) or 'none'}.")
            posters = [p for p in splits[name] if p in groups]
        elif name in ("val", "train"):
            ordered = sorted(groups)
            held = max(1, round(len(ordered) / 10))
            posters = ordered[-held:] if name == "val" else ordered[:-held]
        else:
            raise PosterError(f"Unknown split '{name}': use val, train or all (or write {SPLITS_FILE}).")
        indices = sorted(i for poster in posters for i in groups[poster])
        if not indices:
            raise PosterError(f"The '{name}' split of {self.root} holds no samples.")
        return indices
