"""The geometry a preset works in: the motion box, the visible content inside it, the room
around the content, pivots, and the "shrink to fit" search that keeps motion in the box.

Presets measure the content from its alpha, not from the layer box: PSD layers are
cropped to their pixels, but a transparent PNG or a baked group may carry empty margins,
and the room the motion may use is the room around what is actually visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.core.poster import Box
from engine.motion.presets.resample import PixelGrid, content_bounds

#: How far (in pixels) a content corner may poke past the box edge: only float round-off.
FIT_TOLERANCE = 1e-3
#: Below this share of its strength a motion is dropped entirely rather than left as an
#: invisible sub-pixel twitch that would only blur the layer.
MIN_GAIN = 0.02


@dataclass
class Stage:
    """One layer placed in its motion box, as the presets see it."""

    width: int
    height: int
    x0: float
    y0: float
    x1: float
    y1: float
    seed: int
    alpha: np.ndarray  # (H, W) uint8 alpha of the placed layer, for content analysis
    grid: PixelGrid
    luma: float = 0.0  # mean brightness (0..255) of the visible content: light particles darken on a light layer

    @classmethod
    def from_static(cls, static: np.ndarray, seed: int) -> "Stage":
        """Measure the placed static layer. An empty layer gets a zero-size content box."""
        height, width = static.shape[:2]
        x0, y0, x1, y1 = content_bounds(static)
        sample = static[::4, ::4]
        seen = sample[..., 3] > 0
        luma = float((sample[seen][:, :3] @ np.array([0.299, 0.587, 0.114])).mean()) if seen.any() else 0.0
        return cls(width, height, x0, y0, x1, y1, seed, static[..., 3], PixelGrid(height, width), luma)

    @classmethod
    def for_content(cls, width: int, height: int, content: tuple[int, int, int, int], seed: int = 0) -> "Stage":
        """An opaque rectangle `content` (x0, y0, x1, y1) in a width × height box: the
        stage a planner measures a preset's room on before any pixel is drawn."""
        x0, y0, x1, y1 = content
        alpha = np.zeros((height, width), dtype=np.uint8)
        alpha[y0:y1, x0:x1] = 255
        return cls(width, height, float(x0), float(y0), float(x1), float(y1), seed, alpha, PixelGrid(height, width))

    @property
    def is_empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def content_w(self) -> float:
        return self.x1 - self.x0

    @property
    def content_h(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return 0.5 * (self.x0 + self.x1), 0.5 * (self.y0 + self.y1)

    def margin(self, side: str) -> float:
        """Free room between the content and the box edge on `side` (left/right/up/down)."""
        return {
            "left": self.x0,
            "right": self.width - self.x1,
            "up": self.y0,
            "top": self.y0,
            "down": self.height - self.y1,
            "bottom": self.height - self.y1,
        }[side]

    def pivot(self, name: str) -> tuple[float, float]:
        """A named pivot on the content box: its centre or the middle of one of its edges."""
        cx, cy = self.center
        return {
            "center": (cx, cy),
            "bottom": (cx, self.y1),
            "top": (cx, self.y0),
            "left": (self.x0, cy),
            "right": (self.x1, cy),
        }[name]

    def outline(self, per_edge: int = 2) -> np.ndarray:
        """Points along the content box edges, (K, 2): corners when per_edge = 2.

        Affine motions only need the corners (the content is inside their convex hull);
        bending warps sample the edges more densely.
        """
        t = np.linspace(0.0, 1.0, per_edge)
        xs = self.x0 + t * self.content_w
        ys = self.y0 + t * self.content_h
        top = np.stack((xs, np.full_like(xs, self.y0)), axis=1)
        bottom = np.stack((xs, np.full_like(xs, self.y1)), axis=1)
        left = np.stack((np.full_like(ys, self.x0), ys), axis=1)
        right = np.stack((np.full_like(ys, self.x1), ys), axis=1)
        return np.concatenate((top, bottom, left, right))

    def inside(self, points: np.ndarray, open_side: str | None = None) -> bool:
        """Whether every point (…, 2) lies in the box, within FIT_TOLERANCE; `open_side`
        (left/right/up/down) is not checked: content may leave the box there."""
        x, y = points[..., 0], points[..., 1]
        tol = FIT_TOLERANCE
        big = float("inf")
        left = big if open_side == "left" else tol
        right = big if open_side == "right" else tol
        top = big if open_side == "up" else tol
        bottom = big if open_side == "down" else tol
        return bool(
            np.all(x >= -left) and np.all(x <= self.width + right) and np.all(y >= -top) and np.all(y <= self.height + bottom)
        )

    def rooted_side(self, pivot: str) -> str | None:
        """The box side a layer is rooted on: its pivot edge touching the box edge (seaweed
        standing on the poster's bottom edge). A motion may cross that side, since the
        poster crops it there, instead of being refused for want of room."""
        side = {"bottom": "down", "top": "up", "left": "left", "right": "right"}.get(pivot)
        return side if side is not None and self.margin(side) < 1.0 else None

    def largest_fitting_gain(self, moved_points: Callable[[float], np.ndarray], open_side: str | None = None) -> float:
        """The largest gain in [0, 1] at which the moved content stays in the box.

        `moved_points(gain)` returns where the content outline goes over the whole clip when
        the motion is scaled by `gain`. This is the "shrink to fit" rule of the contract:
        a motion that needs more room than the box offers gets smaller, never clipped.
        """
        if self.inside(moved_points(1.0), open_side):
            return 1.0
        lo, hi = 0.0, 1.0
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            if self.inside(moved_points(mid), open_side):
                lo = mid
            else:
                hi = mid
        return lo if lo >= MIN_GAIN else 0.0


def room_note(preset: str, gain: float) -> list[str]:
    """A designer-facing note when the box forced a motion to shrink noticeably."""
    if gain >= 0.7:
        return []
    if gain < MIN_GAIN:
        return [
            f"The motion box leaves no room for '{preset}' to move, so the layer stays still: "
            "draw a larger motion box around it."
        ]
    return [
        f"The motion box is tight, so '{preset}' was reduced to {round(gain * 100)}% of its "
        "strength: draw a larger motion box for the full motion."
    ]


#: A layer covering this share of the canvas on both axes counts as full-bleed.
FULL_BLEED_SHARE = 0.9


def is_full_bleed(layer: Box, canvas: Box) -> bool:
    """Whether a layer covers (nearly) the whole canvas: a sky, a sea, a paper texture.

    Such a layer can never get a motion box larger than the canvas, so it moves inside its
    own frame (ripple, push-in, pan, particles) and what leaves the canvas is cropped, as
    in any video editor.
    """
    inside = layer.intersection(canvas)
    if inside.is_empty:
        return False
    return inside.w >= FULL_BLEED_SHARE * canvas.w and inside.h >= FULL_BLEED_SHARE * canvas.h


def looks_full_bleed(layer: Box, motion_box: Box, min_side: int = 256) -> bool:
    """The animator's guess when it has no canvas: the layer fills a motion box that starts
    at the poster's origin and is poster-sized (at least `min_side` px each way). The
    planner and the editor know the canvas and use `is_full_bleed` instead."""
    return (
        motion_box.x <= 0 and motion_box.y <= 0 and min(motion_box.w, motion_box.h) >= min_side
        and layer.w >= FULL_BLEED_SHARE * motion_box.w and layer.h >= FULL_BLEED_SHARE * motion_box.h
    )
