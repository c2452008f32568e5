"""Static layers above an animated one, collapsed into one per-pixel map of the backdrop.

Why: a layer animated under full-canvas blend layers (a multiply vignette, an overlay
paper texture: all three samples) made every frame re-run each blend formula over the
whole redrawn area. Over an opaque backdrop the result of a static layer is, per pixel
and channel, a function of the colour x under it alone:

    out = (1 - as)·x + as·B(x, Cs)

and for the separable modes below B is affine in x (normal, multiply, screen, hard
light: B = p·x + q, p ≥ 0) or two affine pieces split at a threshold (overlay,
darken, lighten, linear dodge, linear burn). A chain of such layers therefore collapses,
once per poster and render size, into a few `Stage`s: out = a·x + b, or
`a_lo·x + b_lo` where x ≤ t else `a_hi·x + b_hi`. Every piecewise mode is continuous at
its threshold, so a pixel rounding to the other side lands within float error of the
same value. The backdrop must be opaque: then it stays opaque (A' = as + 1 - as = 1) and
premultiplied colour equals straight colour. Modes that are not piecewise affine in x
(soft light, dodge/burn, the non-separable ones) are not collapsed: `collapsible` says
no and the compositor keeps its exact path.

The p, q, threshold of each mode are read off psd-tools' own formulas
(psd_tools.composite.blend), which engine.render.blend applies on the exact path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

Piece = tuple[np.ndarray | float, np.ndarray | float]  # (p, q): B = p·x + q
#: mode -> Cs -> (threshold or None, low piece, high piece); the high piece is used where x > threshold.
Rule = Callable[[np.ndarray], tuple[np.ndarray | float | None, Piece, Piece]]


def _hard_light(cs: np.ndarray) -> tuple[None, Piece, Piece]:
    # psd-tools: multiply(x, 2Cs) where Cs <= 0.5, else screen(x, 2Cs - 1): the branch depends on Cs only
    high = cs > 0.5
    p = np.where(high, 2 - 2 * cs, 2 * cs)
    q = np.where(high, 2 * cs - 1, 0.0)
    return None, (p, q), (p, q)


RULES: dict[str, Rule] = {
    "normal": lambda cs: (None, (0.0, cs), (0.0, cs)),
    "dissolve": lambda cs: (None, (0.0, cs), (0.0, cs)),  # drawn as normal, as psd-tools does
    "multiply": lambda cs: (None, (cs, 0.0), (cs, 0.0)),
    "screen": lambda cs: (None, (1 - cs, cs), (1 - cs, cs)),
    "hard_light": _hard_light,
    # overlay(x, Cs) = hard_light(Cs, x): 2·Cs·x where x <= 0.5, else screen(Cs, 2x - 1)
    "overlay": lambda cs: (0.5, (2 * cs, 0.0), (2 - 2 * cs, 2 * cs - 1)),
    "darken": lambda cs: (cs, (1.0, 0.0), (0.0, cs)),
    "lighten": lambda cs: (cs, (0.0, cs), (1.0, 0.0)),
    "linear_dodge": lambda cs: (1 - cs, (1.0, cs), (0.0, 1.0)),
    "linear_burn": lambda cs: (1 - cs, (0.0, 0.0), (1.0, cs - 1)),
}


def collapsible(mode: str) -> bool:
    """Whether a static layer in this blend mode can join a collapsed chain."""
    return mode in RULES


@dataclass
class Stage:
    """out = a_lo·x + b_lo where x <= threshold, else a_hi·x + b_hi (no threshold: affine)."""

    a_lo: np.ndarray
    b_lo: np.ndarray
    threshold: np.ndarray | None = None
    a_hi: np.ndarray | None = None
    b_hi: np.ndarray | None = None

    def apply(self, x: np.ndarray, ys: slice, xs: slice) -> None:
        """Map x (straight = premultiplied colour, opaque) in place; ys, xs place it in the stage."""
        low = self.a_lo[ys, xs] * x
        low += self.b_lo[ys, xs]
        if self.threshold is not None:
            high = self.a_hi[ys, xs] * x
            high += self.b_hi[ys, xs]
            np.copyto(low, high, where=x > self.threshold[ys, xs])
        x[...] = low


@dataclass
class Source:
    """One static layer inside the collapsed area: straight colour Cs (h, w, 3) and coverage
    as (h, w, 1), opacity folded in, both float32 in [0, 1], placed at (top, left)."""

    colour: np.ndarray
    alpha: np.ndarray
    top: int
    left: int
    mode: str


class Chain:
    """Static layers folded bottom to top into Stages covering an (h, w) area."""

    def __init__(self, height: int, width: int) -> None:
        self.shape = (height, width, 3)
        self.stages: list[Stage] = []
        self._a: np.ndarray | None = None  # the pending affine part, folded into the next piecewise stage
        self._b: np.ndarray | None = None

    def add(self, source: Source) -> None:
        threshold, low, high = RULES[source.mode](source.colour)
        h, w = source.colour.shape[:2]
        ys, xs = slice(source.top, source.top + h), slice(source.left, source.left + w)
        cover = source.alpha
        a_lo, b_lo = _mixed(low, cover)
        if threshold is None:
            self._fold_affine(a_lo, b_lo, ys, xs)
            return
        a_hi, b_hi = _mixed(high, cover)
        self._add_piecewise(np.broadcast_to(np.float32(threshold), (h, w, 3)), a_lo, b_lo, a_hi, b_hi, ys, xs)

    def add_premultiplied(self, rgb: np.ndarray, alpha: np.ndarray) -> None:
        """A pre-flattened run of normal layers covering the whole area: out = (1 - a)·x + rgb."""
        self._fold_affine(np.broadcast_to(1 - alpha, self.shape), rgb, slice(None), slice(None))

    def finish(self) -> list[Stage]:
        if self._a is not None:
            self.stages.append(Stage(self._a, self._b))
            self._a = self._b = None
        return self.stages

    def _pending(self) -> tuple[np.ndarray, np.ndarray]:
        if self._a is None:
            self._a, self._b = np.ones(self.shape, np.float32), np.zeros(self.shape, np.float32)
        return self._a, self._b

    def _fold_affine(self, a: np.ndarray, b: np.ndarray, ys: slice, xs: slice) -> None:
        pa, pb = self._pending()
        pa[ys, xs] *= a
        pb[ys, xs] *= a
        pb[ys, xs] += b

    def _add_piecewise(self, threshold: np.ndarray, a_lo: np.ndarray, b_lo: np.ndarray, a_hi: np.ndarray,
                       b_hi: np.ndarray, ys: slice, xs: slice) -> None:
        """y = pending(x) is compared with the threshold; the comparison is moved onto x
        (every coefficient here is >= 0, so the pending map is non-decreasing) and the
        pending map is folded into both pieces."""
        pa, pb = self._pending()
        stage_lo_a, stage_lo_b = pa.copy(), pb.copy()  # outside the layer: just the pending map
        stage_hi_a, stage_hi_b = pa.copy(), pb.copy()
        stage_t = np.zeros(self.shape, np.float32)
        a, b = pa[ys, xs], pb[ys, xs]
        with np.errstate(divide="ignore", invalid="ignore"):
            on_x = np.where(a > 0, (threshold - b) / a, np.where(b <= threshold, np.inf, -np.inf))
        stage_t[ys, xs] = on_x
        stage_lo_a[ys, xs], stage_lo_b[ys, xs] = a_lo * a, a_lo * b + b_lo
        stage_hi_a[ys, xs], stage_hi_b[ys, xs] = a_hi * a, a_hi * b + b_hi
        self.stages.append(Stage(stage_lo_a, stage_lo_b, stage_t, stage_hi_a, stage_hi_b))
        self._a = self._b = None


def _mixed(piece: Piece, cover: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1 - as)·x + as·(p·x + q) as (a, b), float32."""
    p, q = piece
    a = (1 - cover) + cover * np.asarray(p, np.float32)
    b = cover * np.asarray(q, np.float32)
    shape = np.broadcast_shapes(np.shape(a), np.shape(b), cover.shape[:2] + (3,))
    return (np.broadcast_to(a, shape).astype(np.float32, copy=False),
            np.broadcast_to(b, shape).astype(np.float32, copy=False))


def collapse(height: int, width: int, sources: Sequence[Source | tuple[np.ndarray, np.ndarray]]) -> list[Stage]:
    """The Stages for static layers (bottom to top) over an area of height × width.

    A `Source` is one layer; an (rgb, alpha) pair is a premultiplied run covering the area.
    """
    chain = Chain(height, width)
    for source in sources:
        if isinstance(source, Source):
            chain.add(source)
        else:
            chain.add_premultiplied(*source)
    return chain.finish()
