"""The pixel and timing work around an image-to-video call, free of any model library.

A motion box goes into the model's canvas scaled proportionally and centred, the rest
padded with the same 50 % gray the layer is laid over (the model sees one gray world and
has room to move into); the video comes back cropped to that region and scaled to the
box, so nothing the model drew in the padding reaches the poster. Time is handled here
too: a model moves at its own frame rate, so its frames are picked to keep the motion's
speed at the poster's rate, and a clip that should loop gets a seamless tail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from engine.core.poster import PosterError
from engine.motion.matting import GRAY, over_gray

#: What the `loop` parameter may ask of a generated clip; the first plays once and holds.
LOOP_CHOICES = ("none", "crossfade", "pingpong")
#: The longest cross-fade, in frames; shorter clips fade over a quarter of their length.
MAX_FADE = 12


@dataclass(frozen=True)
class Fit:
    """Where the motion box lies in the model's canvas: the region (x, y, w, h) it was scaled to."""

    canvas_w: int
    canvas_h: int
    x: int
    y: int
    w: int
    h: int

    @classmethod
    def of(cls, box_w: int, box_h: int, canvas_w: int, canvas_h: int) -> "Fit":
        """The box scaled as large as the canvas allows, keeping its proportions, centred."""
        scale = min(canvas_w / box_w, canvas_h / box_h)
        w = min(canvas_w, max(1, round(box_w * scale)))
        h = min(canvas_h, max(1, round(box_h * scale)))
        return cls(canvas_w, canvas_h, (canvas_w - w) // 2, (canvas_h - h) // 2, w, h)


def to_canvas(static: np.ndarray, fit: Fit) -> Image.Image:
    """The static layer in its box (H, W, 4 uint8) as the model's first frame: scaled into
    `fit`, laid over gray, the padding gray too (RGB)."""
    gray = round(GRAY * 255)
    canvas = np.full((fit.canvas_h, fit.canvas_w, 3), gray, dtype=np.uint8)
    layer = Image.fromarray(over_gray(static), "RGB").resize((fit.w, fit.h), Image.Resampling.LANCZOS)
    canvas[fit.y : fit.y + fit.h, fit.x : fit.x + fit.w] = np.asarray(layer)
    return Image.fromarray(canvas, "RGB")


def from_canvas(frame: np.ndarray, fit: Fit, box_w: int, box_h: int) -> np.ndarray:
    """One generated frame (canvas H, W, 3; float in [0, 1] or uint8) -> (box_h, box_w, 3) uint8,
    the padding cropped away."""
    if frame.shape[:2] != (fit.canvas_h, fit.canvas_w):
        raise PosterError(
            f"The model returned {frame.shape[1]}×{frame.shape[0]} frames for a {fit.canvas_w}×{fit.canvas_h} "
            "canvas: this model folder does not behave like its pipeline class."
        )
    if frame.dtype != np.uint8:
        frame = np.clip(np.asarray(frame, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    region = Image.fromarray(np.ascontiguousarray(frame[fit.y : fit.y + fit.h, fit.x : fit.x + fit.w, :3]), "RGB")
    return np.asarray(region.resize((box_w, box_h), Image.Resampling.LANCZOS))


def frames_to_generate(motion_frames: int, poster_fps: int, model_fps: int) -> int:
    """How many model frames cover `motion_frames` poster frames at the model's own speed."""
    if motion_frames <= 1:
        return 1
    return math.ceil((motion_frames - 1) * model_fps / poster_fps) + 1


def retime(generated: int, motion_frames: int, poster_fps: int, model_fps: int) -> list[int]:
    """For each poster frame, the model frame shown: the nearest one in time, the last one
    held once the model's video runs out (a clip plays once unless asked to loop)."""
    return [min(generated - 1, round(k * model_fps / poster_fps)) for k in range(motion_frames)]


def pingpong_length(frames: int) -> int:
    """How many forward frames a ping-pong clip of `frames` frames needs (it plays them back too)."""
    return max(1, frames // 2 + 1)


def pingpong(forward: Sequence[np.ndarray], frames: int) -> list[np.ndarray]:
    """Forward then backward, `frames` long, ending one step before frame 0 so it loops seamlessly."""
    if len(forward) < 2 or frames <= 2:
        return list(forward)[:frames] + [forward[-1]] * max(0, frames - len(forward))
    cycle = list(forward) + list(forward[-2:0:-1])
    return [cycle[i % len(cycle)] for i in range(frames)]


def crossfade(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The last frames fade into frame 0 (on premultiplied colour), so the clip loops without a jump."""
    count = len(frames)
    fade = min(MAX_FADE, count // 4)
    out = list(frames)
    if fade < 1:
        return out
    first = _premultiplied(frames[0])
    for j in range(fade):
        index = count - fade + j
        weight = (j + 1) / (fade + 1)
        mixed = (1.0 - weight) * _premultiplied(frames[index]) + weight * first
        out[index] = _straight(mixed)
    return out


def _premultiplied(frame: np.ndarray) -> np.ndarray:
    rgba = frame.astype(np.float32) / 255.0
    rgba[..., :3] *= rgba[..., 3:4]
    return rgba


def _straight(rgba: np.ndarray) -> np.ndarray:
    alpha = rgba[..., 3:4]
    colour = np.where(alpha > 0, rgba[..., :3] / np.maximum(alpha, 1e-6), 0.0)
    out = np.concatenate([np.clip(colour, 0, 1), np.clip(alpha, 0, 1)], axis=-1)
    return (out * 255.0 + 0.5).astype(np.uint8)


__all__ = [
    "Fit", "LOOP_CHOICES", "MAX_FADE", "crossfade", "frames_to_generate", "from_canvas", "pingpong",
    "pingpong_length", "retime", "to_canvas",
]
