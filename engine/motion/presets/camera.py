"""Camera moves inside the layer's own frame: push-in, pull-out and pan (Ken Burns).

These motions never need room: the picture moves inside its own content box and what
leaves that frame is cropped, as a video editor crops a clip at the poster's edge. That
is what lets a full-bleed sky, sea or paper texture move at all, since its motion box can
never be larger than the canvas. Frame 0 is the static layer; a loop pushes in (or pans)
and comes back.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from engine.motion.presets.easing import ease, periodic_clock
from engine.motion.presets.resample import FramePlan
from engine.motion.presets.stage import Stage
from engine.motion.presets.transforms import DIRECTIONS, affine_forward

Params = dict[str, Any]
SourceFn = Callable[[np.ndarray, slice, slice], torch.Tensor]


def framed(stage: Stage, source: SourceFn) -> tuple[SourceFn, Callable]:
    """`source` held inside the content box (edge pixels repeat, so no transparent seam
    creeps in at a full-bleed layer's border), and a mask cropping output to that box."""
    x0, y0, x1, y1 = stage.x0 + 0.5, stage.y0 + 0.5, max(stage.x1 - 0.5, stage.x0 + 0.5), max(stage.y1 - 0.5, stage.y0 + 0.5)
    grid = stage.grid

    def held(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        points = source(index, rows, cols)
        points[..., 0].clamp_(x0, x1)
        points[..., 1].clamp_(y0, y1)
        return points

    def mask(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        x, y = grid.coords(rows, cols)
        inside = ((x >= stage.x0) & (x <= stage.x1) & (y >= stage.y0) & (y <= stage.y1)).to(torch.float32)
        return inside.expand(index.size, y.shape[1], x.shape[2])

    return held, mask


def framed_affine(stage: Stage, forward: np.ndarray, notes: list[str]) -> FramePlan:
    """A FramePlan for per-frame affine maps cropped to the layer's own frame."""
    inverse = np.linalg.inv(forward)[:, :2, :]
    still = np.all(np.abs(forward - np.eye(3)) < 1e-9, axis=(1, 2))
    source, mask = framed(stage, stage.grid.affine_source(inverse))
    return FramePlan(len(forward), source=source, mask=mask, still=still, notes=notes)


def _in_and_back(u: np.ndarray, params: Params) -> np.ndarray:
    """0 -> 1 -> 0 per cycle (a loop), or 0 -> 1 over the clip (a one-shot that holds)."""
    if not params["loop"]:
        return ease(params["easing"], np.clip(u, 0.0, 1.0))
    p, envelope = periodic_clock(u, params)
    triangle = 1.0 - np.abs(2.0 * np.mod(p, 1.0) - 1.0)
    return ease(params["easing"], triangle) * envelope


def push_in(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """The camera pushes in toward the pivot and, in a loop, pulls back out, cropped at
    the layer's own frame. A pull-out that starts wider than the picture would show empty
    edges, so "pull out" on a framed layer plays this same in-and-back move."""
    amount = _in_and_back(u, params)
    scale = 1.0 + 0.25 * params["amplitude"] * amount
    pivot = stage.pivot(params["pivot"])
    forward = affine_forward(pivot, sx=scale, sy=scale)
    note = (
        f"A push-in to {round(100 * float(scale.max()))}% inside the layer's own frame; what grows past "
        "its edges is cropped, so it needs no larger box."
    )
    return framed_affine(stage, forward, [note])


def pan_forward(stage: Stage, direction: str, distance: np.ndarray) -> np.ndarray:
    """Per-frame maps that enlarge the picture just enough to pan `distance` without ever
    showing an empty edge (the Ken Burns move)."""
    dx, dy = DIRECTIONS[direction]
    length = stage.content_w if dx else stage.content_h
    scale = 1.0 + 2.0 * np.abs(distance) / max(length, 1.0)
    return affine_forward(stage.center, sx=scale, sy=scale, tx=dx * distance, ty=dy * distance)


def pan(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Pan the picture inside its frame along `direction` and back (Ken Burns)."""
    amount = _in_and_back(u, params)
    along = stage.content_w if params["direction"] in ("left", "right") else stage.content_h
    distance = 0.08 * params["amplitude"] * along * amount
    note = (
        f"It pans {round(float(distance.max()))} px {params['direction']} inside its own frame and back, "
        "enlarged just enough that no edge shows."
    )
    return framed_affine(stage, pan_forward(stage, params["direction"], distance), [note])
