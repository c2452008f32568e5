"""The Animator interface: one layer (or a group of layers) in, transparent clips out.

Both motion engines (the procedural presets and the DMDL diffusion model) implement this,
so the editor, the command line and the exporters never care which one made a clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from engine.poster import Box, Layer, PosterError


@dataclass
class MotionRequest:
    """Everything an engine needs to animate one layer.

    `box` is the motion box in poster pixels: the region the moving layer may occupy. It
    always contains the layer's static box, so frame 0 can show the layer exactly in place.
    `params` are engine-specific (for presets: amplitude, cycles, easing, pivot, direction,
    phase, loop); engines validate them and ignore nothing silently.
    """

    layer: Layer
    box: Box
    prompt: str = ""
    preset: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    frames: int = 49
    fps: int = 24
    seed: int = 0
    start_offset: int = 0  # frames to hold the static layer before the motion starts

    def __post_init__(self) -> None:
        self.box = Box.from_any(self.box)
        if not self.box.contains(self.layer.box):
            raise PosterError(
                f"The motion box of '{self.layer.name}' {self.box.as_tuple()} must contain the "
                f"layer itself {self.layer.box.as_tuple()}: make the box larger."
            )
        if self.frames < 1:
            raise PosterError("An animation needs at least one frame.")
        if self.fps < 1:
            raise PosterError("Frames per second must be at least 1.")
        if self.start_offset < 0:
            raise PosterError("A start offset cannot be negative.")


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


@runtime_checkable
class Animator(Protocol):
    """A motion engine."""

    name: str

    def available(self) -> tuple[bool, str]:
        """Whether the engine can run here, and if not, a sentence saying why."""
        ...

    def animate(self, request: MotionRequest) -> LayerClip:
        """Animate one layer."""
        ...

    def animate_group(self, requests: Sequence[MotionRequest], prompt: str) -> list[LayerClip]:
        """Animate several layers under one shared prompt, coherently."""
        ...


def place_static(layer: Layer, box: Box) -> np.ndarray:
    """The static layer drawn into an empty (box.h, box.w, 4) canvas: every clip's frame 0."""
    if not box.contains(layer.box):
        raise PosterError(f"The motion box of '{layer.name}' must contain the layer.")
    out = np.zeros((box.h, box.w, 4), dtype=np.uint8)
    dx, dy = layer.box.x - box.x, layer.box.y - box.y
    out[dy : dy + layer.box.h, dx : dx + layer.box.w] = layer.pixels
    return out
