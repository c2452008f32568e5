"""Generate the validation split with one engine, the same way for every engine, cached.

Every engine gets the same static layers, prompts, motion boxes, frame counts and seeds
(derived from the seed and the sample's place, never from the engine), so a table row
differs only by the engine. A generated clip is stored compressed under the cache folder,
keyed by engine, its parameters, the seed and the sample; a second run reads it back
instead of generating (resumable after an interruption, and the metrics can change
without regenerating).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from engine.core.poster import Box, Layer, LayerKind, PosterError
from engine.data.tdl import TDLSample
from engine.motion.base import MotionRequest
from engine.motion.registry import get_engine

#: How a sample is generated: alone, with the other layers of its poster (each its own
#: prompt), or with them under the poster's group prompt. The poster setting reuses "layer".
GENERATION_MODES = ("layer", "joint", "group")


@dataclass(frozen=True)
class EngineSpec:
    """An engine by registry name, with its own parameters (JSON values)."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()
    #: A model folder of its own (an ablation row's checkpoint) instead of the engine's
    #: configured one, and the row name to show for it ("4D-RoPE").
    checkpoint: str | None = None
    variant: str | None = None

    @property
    def label(self) -> str:
        if self.variant:
            return self.variant
        extra = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.name} ({extra})" if extra else self.name

    @property
    def key(self) -> str:
        blob = json.dumps([self.name, list(self.params), self.checkpoint], sort_keys=True, default=str)
        return f"{self.name}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


#: Engines built for one checkpoint folder, kept so every batch of a run reuses the loaded model.
_CHECKPOINT_ENGINES: dict[tuple[str, str], Any] = {}


def engine_for(spec: EngineSpec):
    """The registry's engine, or (for a spec with its own checkpoint) a dmdl engine on that folder."""
    if spec.checkpoint is None:
        return get_engine(spec.name)
    if spec.name != "dmdl":
        raise PosterError(f"Only the dmdl engine takes a checkpoint per row, not '{spec.name}'.")
    key = (spec.name, str(spec.checkpoint))
    if key not in _CHECKPOINT_ENGINES:
        from engine.motion.dmdl_engine import DMDLAnimator  # noqa: PLC0415 (torch-heavy, only when asked)

        _CHECKPOINT_ENGINES.clear()  # one ablation row's model in memory at a time
        _CHECKPOINT_ENGINES[key] = DMDLAnimator(checkpoint=str(spec.checkpoint))
    return _CHECKPOINT_ENGINES[key]


def sample_seed(seed: int, sample: TDLSample) -> int:
    """A per-sample seed that depends on the run's seed and the sample only."""
    digest = hashlib.sha1(f"{seed}/{sample.poster}/{sample.layer_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def request_for(sample: TDLSample, spec: EngineSpec, seed: int) -> MotionRequest:
    """The engine request that reproduces `sample`'s conditions."""
    try:
        kind = LayerKind(sample.kind)
    except ValueError:
        kind = LayerKind.PIXEL
    layer = Layer(id=sample.layer_id, name=sample.name, pixels=sample.static, box=sample.static_box, kind=kind)
    return MotionRequest(
        layer=layer, box=sample.motion_box, prompt=sample.prompt, params=dict(spec.params),
        frames=int(sample.frames.shape[0]), fps=sample.fps, seed=sample_seed(seed, sample),
    )


class ClipCache:
    """Generated clips on disk: one compressed .npz per (engine, mode, seed, sample)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, spec: EngineSpec, mode: str, seed: int, sample: TDLSample) -> Path:
        return self.root / spec.key / f"{mode}-seed{seed}" / sample.poster / f"layer-{sample.layer_id:04d}.npz"

    def get(self, spec: EngineSpec, mode: str, seed: int, sample: TDLSample) -> np.ndarray | None:
        path = self.path(spec, mode, seed, sample)
        if not path.exists():
            return None
        with np.load(path) as stored:
            frames = stored["frames"]
        return frames if frames.shape == sample.frames.shape else None

    def put(self, spec: EngineSpec, mode: str, seed: int, sample: TDLSample, frames: np.ndarray) -> None:
        path = self.path(spec, mode, seed, sample)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part.npz")
        np.savez_compressed(partial, frames=frames)
        partial.replace(path)  # a run killed mid-write leaves no half clip behind


def generate(
    spec: EngineSpec,
    mode: str,
    batch: Sequence[TDLSample],
    seed: int,
    cache: ClipCache,
    group_prompt: str | None = None,
) -> tuple[list[np.ndarray], int]:
    """Clips for `batch` (one sample, or one poster's samples for joint/group), and how many were generated.

    Samples already cached are read back; the rest go to the engine in one call (so joint
    and group modes see every layer of the poster together).
    """
    if mode not in GENERATION_MODES:
        raise PosterError(f"Unknown generation mode '{mode}': use one of {', '.join(GENERATION_MODES)}.")
    found = [cache.get(spec, mode, seed, sample) for sample in batch]
    if all(frames is not None for frames in found):
        return found, 0  # type: ignore[return-value]
    engine = engine_for(spec)
    ok, why = engine.available()
    if not ok:
        raise PosterError(f"The '{spec.name}' engine cannot run here: {why}")
    requests = [request_for(sample, spec, seed) for sample in batch]
    clips = engine.animate(requests, group_prompt=group_prompt if mode == "group" else None)
    out = []
    for sample, clip in zip(batch, clips):
        frames = np.stack([paste(clip.frame(i), clip.box, sample.motion_box)
                           for i in range(sample.frames.shape[0])])
        cache.put(spec, mode, seed, sample, frames)
        out.append(frames)
    return out, len(batch)


def paste(frame: np.ndarray, frame_box: Box, box: Box) -> np.ndarray:
    """`frame` (drawn in `frame_box`) as seen through `box`: what lies outside is cut off."""
    if frame_box == box:
        return frame
    out = np.zeros((box.h, box.w, 4), dtype=np.uint8)
    shared = frame_box.intersection(box)
    if shared.w > 0 and shared.h > 0:
        out[shared.y - box.y : shared.y - box.y + shared.h, shared.x - box.x : shared.x - box.x + shared.w] = \
            frame[shared.y - frame_box.y : shared.y - frame_box.y + shared.h,
                  shared.x - frame_box.x : shared.x - frame_box.x + shared.w]
    return out
