"""How far a motion carries a layer, and the motion box that holds it.

A motion is described by its extreme poses (rotate and scale about a pivot, then
translate). The box a layer needs is the bounding box of its four corners under every
pose. Working from poses rather than per-preset margin formulas keeps the geometry honest:
a spin really needs the rotated extent, a sway about the bottom moves the top corners
most, and a group moving as one piece sweeps differently from each member on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from engine.poster import LATENT_GRID, Box


@dataclass(frozen=True)
class Pose:
    """One extreme of a motion: rotate by `angle` degrees and scale about the pivot, then shift."""

    angle: float = 0.0
    scale_x: float = 1.0
    scale_y: float = 1.0
    dx: float = 0.0
    dy: float = 0.0


def pivot_point(box: Box, pivot: str) -> tuple[float, float]:
    """The pivot of a box by the contract's names: the centre or the middle of an edge."""
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    return {
        "center": (cx, cy),
        "bottom": (cx, float(box.bottom)),
        "top": (cx, float(box.y)),
        "left": (float(box.x), cy),
        "right": (float(box.right), cy),
    }[pivot]


def swept_bounds(box: Box, poses: Sequence[Pose], pivot: tuple[float, float]) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) covering the box's corners under every pose and at rest."""
    corners = np.array(
        [[box.x, box.y], [box.right, box.y], [box.x, box.bottom], [box.right, box.bottom]], dtype=np.float64
    )
    rest = (corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max())
    if not poses:
        return tuple(float(v) for v in rest)
    # One row per pose: angle, scale_x, scale_y, dx, dy.
    table = np.array([(p.angle, p.scale_x, p.scale_y, p.dx, p.dy) for p in poses], dtype=np.float64)
    theta = np.radians(table[:, 0:1])
    cos, sin = np.cos(theta), np.sin(theta)
    local_x = (corners[None, :, 0] - pivot[0]) * table[:, 1:2]
    local_y = (corners[None, :, 1] - pivot[1]) * table[:, 2:3]
    xs = pivot[0] + cos * local_x - sin * local_y + table[:, 3:4]
    ys = pivot[1] + sin * local_x + cos * local_y + table[:, 4:5]
    return (
        float(min(rest[0], xs.min())),
        float(min(rest[1], ys.min())),
        float(max(rest[2], xs.max())),
        float(max(rest[3], ys.max())),
    )


def rotation_poses(max_angle: float, step: float = 1.0) -> list[Pose]:
    """Poses every `step` degrees from -max_angle to +max_angle (a full turn for 180)."""
    count = max(2, int(math.ceil(2 * max_angle / step)) + 1)
    return [Pose(angle=float(a)) for a in np.linspace(-max_angle, max_angle, count)]


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


def finalize_box(box: Box, static: Box, canvas: Box, grid: int = LATENT_GRID) -> Box:
    """Snap out to the latent grid, clamp to the canvas, and keep the static box inside.

    Order matters: snapping can push an edge past the canvas, so clamping comes after,
    and the union with the static box restores anything clamping took from the layer.
    """
    region = allowed_region(canvas, static)
    snapped = box.union(static).snap_out(grid)
    return snapped.intersection(region).union(static)


def union_all(boxes: Sequence[Box]) -> Box:
    """The bounding box of several boxes (a group's static extent)."""
    result = boxes[0]
    for box in boxes[1:]:
        result = result.union(box)
    return result


def margins(outer: Box, inner: Box) -> tuple[int, int, int, int]:
    """How far `outer` reaches past `inner`: left, top, right, bottom."""
    return inner.x - outer.x, inner.y - outer.y, outer.right - inner.right, outer.bottom - inner.bottom
