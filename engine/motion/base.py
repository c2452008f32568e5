"""The Animator interface: one layer (or a group of layers) in, transparent clips out.

Both motion engines (the procedural presets and the DMDL diffusion model) implement this,
so the editor, the command line and the exporters never care which one made a clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from engine.core.clip import LayerClip, place_static
from engine.core.poster import Box, Layer, PosterError


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
