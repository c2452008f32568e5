"""The room a preset needs: where its motion carries a layer, measured by the preset itself.

A preset decides whether its box is too tight by moving the content outline along its
trajectory and checking it against the box (engine.motion.presets.stage). The planner needs the
same answer the other way round: which box that trajectory sweeps. Both read the one
trajectory each preset builds (`FramePlan.reach`), so a box planned here never makes the
preset shrink its motion, and a change to a preset's motion changes its planned box too.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from engine.motion.presets.catalog import PRESETS
from engine.motion.presets.animator import Step, step_plan
from engine.motion.timing import TimingCue
from engine.motion.presets.stage import Stage
from engine.core.poster import Box, PosterError

#: Clip times sampled to trace a trajectory: divisible by 4 × every cycle count up to 6,
#: so the extremes of a sine swing fall exactly on samples and the sweep stays symmetric
#: (7 or 8 cycles miss a peak by under 0.6 % of the swing, which the 16-px grid absorbs).
TRACE_SAMPLES = 240

Bounds = tuple[float, float, float, float]


def swept_bounds(preset: str, layer: Box, params: Mapping[str, Any], room: Box, seed: int = 0,
                 together: tuple[str, Mapping[str, Any]] | None = None) -> Bounds:
    """(x0, y0, x1, y1) in poster pixels covering `layer` at rest and everywhere `preset`
    moves it over a clip, when the motion box is `room` (the most it may use); with
    `together` (preset, settings), everywhere the two motions played at once carry it.

    Motions that reach the edge of their box (fly_away) claim all of `room` that way; a
    motion that does not fit in `room` is measured at the strength it shrinks to, exactly
    as the preset would play it there.
    """
    spec = PRESETS.get(preset)
    if spec is None:
        raise PosterError(f"'{preset}' is not a known preset; known presets are {', '.join(PRESETS)}.")
    if layer.is_empty or not room.contains(layer):
        raise PosterError(f"The motion room {room.as_tuple()} must hold the whole layer {layer.as_tuple()}.")
    chosen = spec.validate(dict(params))
    content = (layer.x - room.x, layer.y - room.y, layer.right - room.x, layer.bottom - room.y)
    stage = Stage.for_content(room.w, room.h, content, seed)
    companion = None
    if together is not None:
        other = PRESETS.get(together[0])
        if other is None:
            raise PosterError(f"'{together[0]}' is not a known preset; known presets are {', '.join(PRESETS)}.")
        companion = (other, other.validate(dict(together[1])))
    motion = step_plan(stage, Step(spec, chosen, TimingCue(), together=companion), "loop", TRACE_SAMPLES)
    points = stage.outline()
    if motion.reach is not None:
        points = np.concatenate((points, np.asarray(motion.reach, dtype=np.float64).reshape(-1, 2)))
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return float(x0 + room.x), float(y0 + room.y), float(x1 + room.x), float(y1 + room.y)
