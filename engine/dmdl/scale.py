"""The scale DMDL generates at: poster motion boxes <-> boxes on the token grid at <= 512 px.

The paper trains on layers "within 512×512 pixels" (§5, Datasets), while a print poster's
layers are often several times that. Generating at poster size would both leave the
training distribution and grow the token count with the square of the poster's size, so
the layers of one call are scaled together (one factor, so their layout keeps its
proportions) until the canvas they are packed on, the union of their generated boxes, fits
`side` pixels on its longer side; each scaled box is then snapped outward to the 16-pixel
token lattice (engine.dmdl.grid) so its latent tokens line up with the global grid the
4D-RoPE positions read. The layer keeps its exact scale inside its generated box (the
snapping only adds transparent margin), so nothing is stretched, and `poster_region` says
which part of a generated frame goes back to the motion box.

Coordinates stay anchored at the poster's origin (scaled), so at scale 1 a box planned on
the lattice is generated where it is, unchanged. Pure Python: no torch, no pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from engine.dmdl.errors import DMDLError
from engine.dmdl.grid import TOKEN_PIXELS, GridBox

#: Longest side, in pixels, of the canvas the paper's layers are trained within.
TRAINED_SIDE = 512


@dataclass(frozen=True)
class ScaledBox:
    """One motion box and where it is generated.

    `poster`: the motion box in poster pixels. `generated`: its box at generation scale,
    on the token lattice, covering `poster` × `scale`. `source`: the poster-pixel box whose
    drawing, scaled by `scale`, fills `generated` (it contains `poster`; at scale 1 it is
    `generated` itself).
    """

    poster: GridBox
    generated: GridBox
    scale: float

    @property
    def source(self) -> GridBox:
        if self.scale == 1.0:
            return self.generated
        g, s = self.generated, self.scale
        x0, y0 = math.floor(g.x / s), math.floor(g.y / s)
        x1, y1 = math.ceil(g.right / s), math.ceil(g.bottom / s)
        return GridBox(x0, y0, x1 - x0, y1 - y0)

    def source_region(self) -> tuple[float, float, float, float]:
        """`generated` in the source drawing's pixels (left, top, right, bottom): the region
        of the drawing that is resized onto the generated box."""
        src, g, s = self.source, self.generated, self.scale
        return (g.x / s - src.x, g.y / s - src.y, g.right / s - src.x, g.bottom / s - src.y)

    def poster_region(self) -> tuple[float, float, float, float]:
        """`poster` in the generated frames' pixels (left, top, right, bottom): the region of
        a generated frame that is resized back to the motion box."""
        p, g, s = self.poster, self.generated, self.scale
        return (p.x * s - g.x, p.y * s - g.y, p.right * s - g.x, p.bottom * s - g.y)


def _snap_out(x0: float, y0: float, x1: float, y1: float) -> GridBox:
    """The smallest token-lattice box (at least one token) covering the float rectangle."""
    eps = 1e-9  # 0.5 × 1024 is exact, but 0.3 × 160 is 48.00000000000001: not a 4th token
    left, top = math.floor(x0 / TOKEN_PIXELS + eps), math.floor(y0 / TOKEN_PIXELS + eps)
    right = max(left + 1, math.ceil(x1 / TOKEN_PIXELS - eps))
    bottom = max(top + 1, math.ceil(y1 / TOKEN_PIXELS - eps))
    t = TOKEN_PIXELS
    return GridBox(left * t, top * t, (right - left) * t, (bottom - top) * t)


def _at_scale(boxes: Sequence[GridBox], scale: float) -> list[ScaledBox]:
    return [
        ScaledBox(b, _snap_out(b.x * scale, b.y * scale, b.right * scale, b.bottom * scale), scale) for b in boxes
    ]


def _longest_side(boxes: Sequence[GridBox]) -> int:
    left, top = min(b.x for b in boxes), min(b.y for b in boxes)
    right, bottom = max(b.right for b in boxes), max(b.bottom for b in boxes)
    return max(right - left, bottom - top)


def scale_boxes(boxes: Sequence[Any], side: int = TRAINED_SIDE) -> list[ScaledBox]:
    """Every motion box at the one scale (never above 1) at which the union of the
    generated, grid-snapped boxes fits `side` pixels on its longer side.

    The first try scales the boxes' own union to `side`; when snapping outward pushes the
    union past it (by at most one token on each side), the largest scale that fits is
    searched between that and one leaving a whole token of room on each side (which always
    fits), so small canvases do not lose more than the snapping takes.
    """
    boxes = [GridBox.from_any(b) for b in boxes]
    if not boxes or any(b.is_empty for b in boxes):
        raise DMDLError("Give at least one motion box, each at least one pixel wide and tall.")
    if side < 2 * TOKEN_PIXELS:
        raise DMDLError(f"The generation size must be at least {2 * TOKEN_PIXELS} pixels; got {side}.")
    longest = _longest_side(boxes)

    def fits(scale: float) -> bool:
        return _longest_side([s.generated for s in _at_scale(boxes, scale)]) <= side

    high = min(1.0, side / longest)
    if fits(high):
        return _at_scale(boxes, high)
    low = min(1.0, (side - 2 * TOKEN_PIXELS) / longest)
    for _ in range(24):  # bisection to ~1e-7 of the scale; `low` always fits
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return _at_scale(boxes, low)


__all__ = ["TRAINED_SIDE", "ScaledBox", "scale_boxes"]
