"""Motion boxes on the poster: whole pixels, the model's 16-px token grid, the canvas.

How far a motion carries a layer is the preset's own business (engine.motion.presets.room); this
module turns that reach into a box the animators accept.
"""

from __future__ import annotations

import math
from typing import Sequence

from engine.core.poster import Box
from engine.dmdl.grid import TOKEN_PIXELS


def box_from_bounds(bounds: tuple[float, float, float, float]) -> Box:
    """The smallest whole-pixel box containing float bounds."""
    x0, y0, x1, y1 = bounds
    left, top = math.floor(x0 + 1e-9), math.floor(y0 + 1e-9)
    return Box(left, top, math.ceil(x1 - 1e-9) - left, math.ceil(y1 - 1e-9) - top)


def allowed_region(canvas: Box, static: Box) -> Box:
    """Where a motion box may lie: the canvas, plus any part of the layer hanging off it.

    A PSD layer can extend past the canvas; its motion box must still contain it (the
    animators require that), so the region grows to include the static box.
    """
    return canvas.union(static)


def fit_motion_box(requested: Box, static: Box, canvas: Box, grid: int = 1) -> Box:
    """The nearest allowed motion box: never smaller than the layer, never off the canvas.

    The one rule every surface applies (the editor's canvas and box fields, the command
    line's --box, the planners), so a box means the same wherever it was made. The layer
    is included, the box grows out to a `grid`-pixel lattice (the planners use the
    model's TOKEN_PIXELS; a designer's box stays where it was drawn, grid 1), then it is
    clamped to the canvas. Order matters: snapping can push an edge past the canvas, so
    clamping comes after, and the union with the static box restores anything clamping
    took from a layer that itself hangs over the edge (frame 0 must match the poster).
    """
    region = allowed_region(canvas, static)
    snapped = requested.union(static).snap_out(grid)
    return snapped.intersection(region).union(static)


def fit_problem(requested: Box, static: Box, canvas: Box) -> str | None:
    """Which part of the rule a box breaks, as words for a sentence: None when it fits as is."""
    if fit_motion_box(requested, static, canvas) == requested:
        return None
    if not allowed_region(canvas, static).contains(requested):
        return "leaves the canvas"
    return "does not contain the whole layer"


def union_all(boxes: Sequence[Box]) -> Box:
    """The bounding box of several boxes (a group's static extent)."""
    result = boxes[0]
    for box in boxes[1:]:
        result = result.union(box)
    return result


def margins(outer: Box, inner: Box) -> tuple[int, int, int, int]:
    """How far `outer` reaches past `inner`: left, top, right, bottom."""
    return inner.x - outer.x, inner.y - outer.y, outer.right - inner.right, outer.bottom - inner.bottom
