"""Pixels to and from the generation scale (engine.dmdl.scale says where; this moves the pixels).

One rule for both sides of the model: the trainer draws each TDL clip into its generated
box exactly as the dmdl engine draws a static layer before generating, and the engine
resizes generated frames back to the motion box with the same resampling. A layer keeps
its proportions (one scale for the whole call or training sample), and the snap to the
token lattice only adds transparent margin.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine.dmdl.scale import ScaledBox


def resize_rgba(image: np.ndarray, width: int, height: int, region: tuple[float, float, float, float]) -> np.ndarray:
    """(H, W, 4) uint8 RGBA: `region` (left, top, right, bottom, in pixels, may be fractional)
    resized to (height, width, 4); PIL resamples RGBA premultiplied, so no colour bleeds
    from transparent pixels. A whole-pixel region of the same size is cut, not resampled."""
    left, top, right, bottom = region
    if (right - left, bottom - top) == (width, height) and all(float(v).is_integer() for v in region):
        x, y = int(left), int(top)
        return image[y : y + height, x : x + width].copy()
    resized = Image.fromarray(image, "RGBA").resize((width, height), Image.Resampling.BICUBIC, box=region)
    return np.array(resized)  # writable: torch refuses read-only arrays


def frames_to_generated(frames: np.ndarray, scaled: ScaledBox) -> np.ndarray:
    """(T, poster.h, poster.w, 4) frames of the motion box -> (T, generated.h, generated.w, 4):
    the clip at the generation scale, transparent round it where the box was snapped out."""
    p, source, g = scaled.poster, scaled.source, scaled.generated
    if frames.ndim != 4 or frames.shape[1:] != (p.h, p.w, 4):
        raise ValueError(f"Frames {frames.shape} do not fill the motion box {p.w}×{p.h} (expected (T, H, W, 4)).")
    canvas = np.zeros((frames.shape[0], source.h, source.w, 4), np.uint8)
    canvas[:, p.y - source.y : p.bottom - source.y, p.x - source.x : p.right - source.x] = frames
    return np.stack([resize_rgba(frame, g.w, g.h, scaled.source_region()) for frame in canvas])


def frames_to_box(frames: np.ndarray, scaled: ScaledBox) -> np.ndarray:
    """Generated (T, h, w, 4) frames -> (T, box.h, box.w, 4): the motion box's part of each,
    at poster scale."""
    p = scaled.poster
    return np.stack([resize_rgba(frame, p.w, p.h, scaled.poster_region()) for frame in frames])


__all__ = ["frames_to_box", "frames_to_generated", "resize_rgba"]
