"""What one designer is editing: the poster, per-layer motion settings, clips, selection.

The editor keeps its own small state object rather than Gradio components holding the
truth, so every handler works on plain Python data that tests build directly, and the
whole thing can be autosaved and restored after a page reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.core.clip import LayerClip
from engine.core.poster import Box, Layer, Poster

DEFAULT_ENGINE = "presets"
AUTO_PRESET = "auto"


@dataclass
class LayerMotion:
    """The designer's motion settings for one layer.

    `preset` is AUTO_PRESET while the preset should follow the prompt; `params` always
    holds the parameters the next Animate will use, so what the sliders show is what runs.
    `group` names a set of layers animated together under one shared prompt.
    """

    engine: str = DEFAULT_ENGINE
    prompt: str = ""
    preset: str = AUTO_PRESET
    params: dict[str, Any] = field(default_factory=dict)
    box: Box | None = None  # None: the layer's own box until the designer or planner sets one
    seed: int = 0
    start_offset: int = 0  # frames
    group: str | None = None
    rationale: str = ""
    planned_by: str = ""  # "llm" / "heuristic" / "" (drawn or typed by the designer)
    # The box was sized by Animate for the preset, not drawn or planned: it follows the
    # preset and its parameters, or a stronger motion would be squeezed into a stale box.
    box_sized: bool = False


@dataclass
class EditorState:
    """Everything of one session's work; the folder that holds its files lives in Session."""

    poster: Poster | None = None
    source_name: str = ""
    fps: int = 24
    duration_s: float = 2.0
    motions: dict[int, LayerMotion] = field(default_factory=dict)
    clips: dict[int, LayerClip] = field(default_factory=dict)
    selection: list[int] = field(default_factory=list)
    active: int | None = None
    notices: list[str] = field(default_factory=list)
    static_rgba: np.ndarray | None = field(default=None, repr=False)  # cache of the still poster
    revision: int = 0  # bumps when another poster opens; names cached canvas pictures

    @property
    def frames(self) -> int:
        return max(1, int(round(self.fps * self.duration_s)))

    def layer(self, layer_id: int) -> Layer:
        assert self.poster is not None
        return self.poster.layer(int(layer_id))

    def motion(self, layer_id: int) -> LayerMotion:
        """The layer's motion settings, created with defaults on first use."""
        return self.motions.setdefault(int(layer_id), LayerMotion())

    def motion_box(self, layer_id: int) -> Box:
        motion = self.motions.get(int(layer_id))
        if motion is not None and motion.box is not None:
            return motion.box
        return self.layer(layer_id).box

    def has_motion(self, layer_id: int) -> bool:
        motion = self.motions.get(int(layer_id))
        return motion is not None and bool(motion.prompt.strip() or motion.preset != AUTO_PRESET)
