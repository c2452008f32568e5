"""An animated layer: what every motion engine returns and every renderer and exporter reads.

It lives in core, beside Poster, because the compositor, the exporters and the project
file all read clips without caring which engine (presets, i2v, dmdl) made them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.core.poster import Box, Layer, PosterError


@dataclass
class LayerClip:
    """An animated layer: straight-alpha RGBA frames (T, box.h, box.w, 4) uint8 in box space.

    Frame 0 equals the static layer placed in its box. `messages` carries notes for the
    designer (e.g. "unknown prompt, used float").
    """

    layer_id: int
    box: Box
    frames: np.ndarray
    engine: str = "presets"
    preset: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        f = self.frames
        if f.dtype != np.uint8 or f.ndim != 4 or f.shape[3] != 4:
            raise PosterError("A layer clip must hold RGBA uint8 frames.")
        if f.shape[1:3] != (self.box.h, self.box.w):
            raise PosterError(
                f"Clip frames are {f.shape[2]}×{f.shape[1]} but the motion box is "
                f"{self.box.w}×{self.box.h}."
            )

    @property
    def frame_count(self) -> int:
        return int(self.frames.shape[0])

    def frame(self, index: int) -> np.ndarray:
        """Frame `index`, looping the clip when the timeline is longer than it."""
        return self.frames[index % self.frame_count]


def place_static(layer: Layer, box: Box) -> np.ndarray:
    """The static layer drawn into an empty (box.h, box.w, 4) canvas: every clip's frame 0."""
    if not box.contains(layer.box):
        raise PosterError(f"The motion box of '{layer.name}' must contain the layer.")
    out = np.zeros((box.h, box.w, 4), dtype=np.uint8)
    dx, dy = layer.box.x - box.x, layer.box.y - box.y
    out[dy : dy + layer.box.h, dx : dx + layer.box.w] = layer.pixels
    return out
