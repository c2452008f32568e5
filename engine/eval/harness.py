"""The evaluation loop: every engine on the same validation samples, scored, tabulated.

`evaluate` generates (or reads from the cache) each engine's clips for a setting, scores
them against the validation clips over gray, and returns rows for the per-sample CSV and
one summary per engine; `engine.eval.report` turns those into the paper-shaped tables and
contact sheets. Settings are the paper's: "layer" (Table 1, each layer alone), "joint"
(Table 1, a poster's layers in one call, each its own prompt), "poster" (Table 1, the
generated layer pasted into its poster, others static, compared as whole posters) and
"group" (Table 2, a poster's layers under its group prompt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image
from tqdm import tqdm

from engine.core.poster import PosterError
from engine.data.tdl import TDLDataset, TDLSample
from engine.eval.fvd import I3DFeatures, frechet_distance
from engine.eval.generate import ClipCache, EngineSpec, generate
from engine.eval.lpips import LPIPS
from engine.dmdl.metrics import over_gray
from engine.eval.metrics import ClipScore, mean_finite, score_clip

SETTINGS = ("layer", "joint", "poster", "group")
#: The poster setting compares whole posters, scaled so the longest side is at most this.
POSTER_SIDE = 512


@dataclass
class SampleRow:
    """One validation sample scored for one engine in one setting (a CSV row)."""

    engine: str
    setting: str
    poster: str
    layer_id: int
    name: str
    prompt: str
    score: ClipScore
    generated: bool

    def as_dict(self) -> dict[str, object]:
        return {"engine": self.engine, "setting": self.setting, "poster": self.poster,
                "layer_id": self.layer_id, "name": self.name, "prompt": self.prompt,
                "psnr": self.score.psnr, "ssim": self.score.ssim,
                "lpips": "" if self.score.lpips is None else self.score.lpips,
                "generated_now": self.generated}


@dataclass
class Summary:
    """One table row: an engine's means over the split, and FVD over its clip set."""

    engine: str
    setting: str
    samples: int
    metrics: dict[str, float | None]
    worst: list[tuple[SampleRow, np.ndarray, np.ndarray]] = field(default_factory=list)


@dataclass
class Evaluation:
    rows: list[SampleRow]
    summaries: list[Summary]


def _batches(dataset: TDLDataset, indices: list[int], setting: str) -> Iterator[tuple[list[TDLSample], str | None]]:
    """What one engine call covers in `setting`: a sample, or a poster's samples."""
    if setting in ("layer", "poster"):
        for index in indices:
            yield [dataset.load(index)], None
        return
    wanted = set(indices)
    for poster, members in dataset.poster_groups().items():
        chosen = [i for i in members if i in wanted]
        if not chosen:
            continue
        group_prompt = dataset.posters[poster].get("group_prompt")
        if setting == "group" and not group_prompt:
            continue
        yield [dataset.load(i) for i in chosen], group_prompt


def _mode(setting: str) -> str:
    return "layer" if setting == "poster" else setting


def _poster_frames(dataset: TDLDataset, sample: TDLSample, frames: np.ndarray) -> np.ndarray:
    """The sample's poster with `frames` in place of the sample and every other layer static,
    over gray, scaled so its longest side is at most POSTER_SIDE: (T, H, W, 4) uint8 opaque.

    Layers are painted in layer-id order (ids follow the PSD's paint order).
    """
    record = dataset.posters[sample.poster]
    width, height = int(record["width"]), int(record["height"])
    scale = min(1.0, POSTER_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    members = sorted((dataset.load(i) for i in dataset.poster_groups()[sample.poster]), key=lambda s: s.layer_id)
    below = np.full((height, width, 3), 127.5, dtype=np.float32)
    above = [m for m in members if m.layer_id > sample.layer_id]
    for member in members:
        if member.layer_id < sample.layer_id:
            _over(below, member.static, (member.static_box.x, member.static_box.y))
    out = []
    for frame in frames:
        canvas = below.copy()
        _over(canvas, frame, (sample.motion_box.x, sample.motion_box.y))
        for member in above:
            _over(canvas, member.static, (member.static_box.x, member.static_box.y))
        image = Image.fromarray(np.round(canvas).astype(np.uint8)).resize(size, Image.Resampling.BOX)
        rgb = np.asarray(image)
        out.append(np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2))
    return np.stack(out)


def _over(canvas: np.ndarray, rgba: np.ndarray, at: tuple[int, int]) -> None:
    """Paint straight-alpha `rgba` over the float RGB canvas at (x, y), clipped to it."""
    x, y = at
    h, w = canvas.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + rgba.shape[1], w), min(y + rgba.shape[0], h)
    if x1 <= x0 or y1 <= y0:
        return
    part = rgba[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
    alpha = part[..., 3:4] / 255.0
    region = canvas[y0:y1, x0:x1]
    region *= 1.0 - alpha
    region += part[..., :3] * alpha


def evaluate(
    dataset: TDLDataset,
    specs: list[EngineSpec],
    setting: str,
    indices: list[int],
    cache: ClipCache,
    seed: int = 0,
    lpips: LPIPS | None = None,
    i3d: I3DFeatures | None = None,
    worst: int = 3,
    show_progress: bool = True,
) -> Evaluation:
    """Score every engine in `specs` on the samples `indices` in `setting`."""
    if setting not in SETTINGS:
        raise PosterError(f"Unknown setting '{setting}': use one of {', '.join(SETTINGS)}.")
    rows: list[SampleRow] = []
    summaries: list[Summary] = []
    for spec in specs:
        batches = list(_batches(dataset, indices, setting))
        if not batches:
            raise PosterError(
                f"The split has no samples for the '{setting}' setting"
                + (" (no poster has a group prompt)." if setting == "group" else ".")
            )
        engine_rows: list[tuple[SampleRow, np.ndarray, np.ndarray]] = []
        gen_features, ref_features = [], []
        bar = tqdm(batches, desc=f"{spec.label} · {setting}", unit="call", disable=not show_progress)
        for batch, group_prompt in bar:
            clips, made = generate(spec, _mode(setting), batch, seed, cache, group_prompt)
            for sample, frames in zip(batch, clips):
                reference = sample.frames
                if setting == "poster":
                    frames = _poster_frames(dataset, sample, frames)
                    reference = _poster_frames(dataset, sample, sample.frames)
                row = SampleRow(spec.label, setting, sample.poster, sample.layer_id, sample.name, sample.prompt,
                                score_clip(frames, reference, lpips), generated=made > 0)
                engine_rows.append((row, frames, reference))
                if i3d is not None:
                    gen_features.append(i3d(over_gray(frames).permute(0, 3, 1, 2)[None]))
                    ref_features.append(i3d(over_gray(reference).permute(0, 3, 1, 2)[None]))
        fvd = None
        if i3d is not None and len(gen_features) >= 2:
            fvd = frechet_distance(np.concatenate(gen_features), np.concatenate(ref_features))
        scores = [r.score for r, _, _ in engine_rows]
        metrics: dict[str, float | None] = {
            "FVD": fvd,
            "PSNR": mean_finite([s.psnr for s in scores]),
            "SSIM": float(np.mean([s.ssim for s in scores])),
            "LPIPS": None if lpips is None else float(np.mean([s.lpips for s in scores])),
        }
        ranked = sorted(engine_rows, key=lambda item: item[0].score.psnr)
        summaries.append(Summary(spec.label, setting, len(engine_rows), metrics, ranked[:worst]))
        rows.extend(r for r, _, _ in engine_rows)
    return Evaluation(rows, summaries)


def load_metric_networks(lpips_path: str | Path | None, i3d_path: str | Path | None) -> tuple[LPIPS | None, I3DFeatures | None]:
    """The feature networks from local files; a metric whose file is not given is left out (said in the table)."""
    lpips = LPIPS.from_file(lpips_path) if lpips_path else None
    i3d = I3DFeatures(i3d_path) if i3d_path else None
    return lpips, i3d
