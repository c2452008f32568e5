"""Frames from a Poster plus animated layer clips.

Work is spent only where pixels can change. Everything below the lowest animated layer
is composited once; the full static poster is composited once and every frame starts as
a copy of it. Per frame, only the dirty rectangles (the motion boxes of animated layers,
merged where they overlap) are recomposited: the backdrop below the animated layers is
cropped from the once-made composite, consecutive static normal-mode layers above them
are pre-flattened into one premultiplied layer per rectangle, and only static layers
with another blend mode are re-applied individually, inside the rectangle.

Canvases are premultiplied float32; layers and frames are straight-alpha uint8 sRGB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import numpy as np

from engine.blend import composite_blend, composite_normal
from engine.motion.base import LayerClip
from engine.poster import Box, Layer, Poster, PosterError

ClipsArgument = Mapping[int, LayerClip] | Sequence[LayerClip] | None


def render_static(poster: Poster) -> np.ndarray:
    """The poster with every layer in place: (H, W, 4) straight-alpha uint8."""
    canvas = _Canvas.empty(poster.canvas)
    for layer in _drawn_layers(poster):
        canvas.apply_layer(layer.pixels, layer.box, layer.opacity, layer.blend_mode)
    return canvas.to_uint8()


def render(poster: Poster, clips: ClipsArgument = None, frames: int | None = None) -> np.ndarray:
    """All frames at once: (F, H, W, 4) straight-alpha uint8.

    Without clips this is one frame (the static poster) unless `frames` asks for more.
    `frames` defaults to the longest clip; shorter clips loop.
    """
    plan = _Plan(poster, clips, frames)
    out = np.empty((plan.frame_count, poster.height, poster.width, 4), dtype=np.uint8)
    for index in range(plan.frame_count):
        plan.draw_frame(index, out[index])
    return out


def iter_frames(poster: Poster, clips: ClipsArgument = None, frames: int | None = None) -> Iterator[np.ndarray]:
    """The frames of `render` one at a time, so exporters never hold the whole video."""
    plan = _Plan(poster, clips, frames)
    for index in range(plan.frame_count):
        frame = np.empty((poster.height, poster.width, 4), dtype=np.uint8)
        plan.draw_frame(index, frame)
        yield frame


def frame_count(poster: Poster, clips: ClipsArgument = None, frames: int | None = None) -> int:
    """How many frames `render` / `iter_frames` produce for these arguments."""
    return _resolve_frame_count(_normalise_clips(poster, clips), frames)


# -- canvases ----------------------------------------------------------------------------


def premultiply(pixels: np.ndarray, opacity: float) -> tuple[np.ndarray, np.ndarray]:
    """Straight uint8 RGBA -> premultiplied float32 colour and alpha, opacity folded in."""
    alpha = pixels[..., 3:4] * np.float32(opacity / 255.0)
    rgb = pixels[..., :3] * (alpha * np.float32(1.0 / 255.0))
    return rgb, alpha


@dataclass
class _Canvas:
    """A premultiplied float32 canvas covering `box` in poster coordinates."""

    box: Box
    rgb: np.ndarray
    alpha: np.ndarray

    @classmethod
    def empty(cls, box: Box) -> "_Canvas":
        return cls(box, np.zeros((box.h, box.w, 3), np.float32), np.zeros((box.h, box.w, 1), np.float32))

    def crop(self, box: Box) -> "_Canvas":
        """A copy of the part of this canvas inside `box` (which must lie inside it)."""
        ys, xs = _slices(box, self.box)
        return _Canvas(box, self.rgb[ys, xs].copy(), self.alpha[ys, xs].copy())

    def apply_layer(self, pixels: np.ndarray, box: Box, opacity: float, mode: str) -> None:
        """Composite straight uint8 `pixels` placed at `box`; only the overlap is touched."""
        overlap = box.intersection(self.box)
        if overlap.is_empty:
            return
        source_ys, source_xs = _slices(overlap, box)
        rgb, alpha = premultiply(pixels[source_ys, source_xs], opacity)
        self.apply_premultiplied(rgb, alpha, overlap, mode)

    def apply_premultiplied(self, rgb: np.ndarray, alpha: np.ndarray, box: Box, mode: str) -> None:
        """Composite a premultiplied source that covers exactly `box` (inside this canvas)."""
        ys, xs = _slices(box, self.box)
        if mode == "normal":
            composite_normal(self.rgb[ys, xs], self.alpha[ys, xs], rgb, alpha)
        else:
            composite_blend(mode, self.rgb[ys, xs], self.alpha[ys, xs], rgb, alpha)

    def to_uint8(self, out: np.ndarray | None = None) -> np.ndarray:
        """Straight-alpha uint8, rounded; written into `out` when given."""
        if out is None:
            out = np.empty((self.box.h, self.box.w, 4), dtype=np.uint8)
        alpha = self.alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(alpha > 0, np.float32(255.0) / alpha, np.float32(0.0))
        rgb = self.rgb * scale
        rgb += 0.5
        np.clip(rgb, 0, 255, out=rgb)
        out[..., :3] = rgb  # truncating cast after +0.5: rounding
        out[..., 3:4] = np.clip(alpha * 255.0 + 0.5, 0, 255)
        return out


# -- the per-frame plan ------------------------------------------------------------------


@dataclass
class _Run:
    """Pre-flattened static normal-mode layers inside one dirty rectangle."""

    rgb: np.ndarray
    alpha: np.ndarray


@dataclass
class _StaticBlend:
    """A static layer with a blend mode, re-applied per frame inside a dirty rectangle."""

    rgb: np.ndarray
    alpha: np.ndarray
    box: Box
    mode: str


@dataclass
class _Animated:
    layer: Layer
    clip: LayerClip


class _Plan:
    """Everything that does not change between frames, computed once."""

    def __init__(self, poster: Poster, clips: ClipsArgument, frames: int | None) -> None:
        self.clips = _normalise_clips(poster, clips)
        self.frame_count = _resolve_frame_count(self.clips, frames)
        drawn = _drawn_layers(poster)
        animated_at = [i for i, layer in enumerate(drawn) if layer.id in self.clips]
        full = _Canvas.empty(poster.canvas)
        lowest = animated_at[0] if animated_at else len(drawn)
        for layer in drawn[:lowest]:
            full.apply_layer(layer.pixels, layer.box, layer.opacity, layer.blend_mode)
        self.rects = _dirty_rects(
            [self.clips[drawn[i].id].box.union(drawn[i].box) for i in animated_at], poster.canvas
        )
        self.backdrops = [full.crop(rect) for rect in self.rects]
        for layer in drawn[lowest:]:
            full.apply_layer(layer.pixels, layer.box, layer.opacity, layer.blend_mode)
        self.static = full.to_uint8()
        self.steps = [self._steps_for(rect, drawn[lowest:]) for rect in self.rects]

    def _steps_for(self, rect: Box, layers: list[Layer]) -> list[_Run | _StaticBlend | _Animated]:
        """The per-frame recipe for one dirty rectangle, bottom to top."""
        steps: list[_Run | _StaticBlend | _Animated] = []
        run: _Canvas | None = None
        for layer in layers:
            clip = self.clips.get(layer.id)
            overlap = (clip.box if clip else layer.box).intersection(rect)
            if overlap.is_empty:
                continue
            if clip is None and layer.blend_mode == "normal":
                run = run or _Canvas.empty(rect)
                run.apply_layer(layer.pixels, layer.box, layer.opacity, "normal")
                continue
            if run is not None:
                steps.append(_Run(run.rgb, run.alpha))
                run = None
            if clip is not None:
                steps.append(_Animated(layer, clip))
            else:
                ys, xs = _slices(overlap, layer.box)
                rgb, alpha = premultiply(layer.pixels[ys, xs], layer.opacity)
                steps.append(_StaticBlend(rgb, alpha, overlap, layer.blend_mode))
        if run is not None:
            steps.append(_Run(run.rgb, run.alpha))
        return steps

    def draw_frame(self, index: int, out: np.ndarray) -> None:
        """Frame `index` into `out` (H, W, 4): the static poster, dirty rectangles redrawn."""
        np.copyto(out, self.static)
        if not self.clips:
            return
        for rect, backdrop, steps in zip(self.rects, self.backdrops, self.steps):
            canvas = _Canvas(rect, backdrop.rgb.copy(), backdrop.alpha.copy())
            for step in steps:
                if isinstance(step, _Run):
                    composite_normal(canvas.rgb, canvas.alpha, step.rgb, step.alpha)
                elif isinstance(step, _StaticBlend):
                    canvas.apply_premultiplied(step.rgb, step.alpha, step.box, step.mode)
                else:
                    layer = step.layer
                    canvas.apply_layer(step.clip.frame(index), step.clip.box, layer.opacity, layer.blend_mode)
            canvas.to_uint8(out[rect.y : rect.bottom, rect.x : rect.right])


def _drawn_layers(poster: Poster) -> list[Layer]:
    """Layers that put pixels on the canvas, in paint order."""
    return [layer for layer in poster.layers if layer.visible and layer.opacity > 0]


def _normalise_clips(poster: Poster, clips: ClipsArgument) -> dict[int, LayerClip]:
    if clips is None:
        return {}
    items = list(clips.values()) if isinstance(clips, Mapping) else list(clips)
    if isinstance(clips, Mapping):
        for key, clip in clips.items():
            if key != clip.layer_id:
                raise PosterError(f"The clip stored under layer {key} belongs to layer {clip.layer_id}.")
    result: dict[int, LayerClip] = {}
    for clip in items:
        if not isinstance(clip, LayerClip):
            raise PosterError("Animated layers must be given as LayerClip objects.")
        poster.layer(clip.layer_id)  # raises a PosterError naming the missing layer
        if clip.layer_id in result:
            raise PosterError(f"Layer {clip.layer_id} was given two animations; keep one.")
        if clip.frame_count == 0:
            raise PosterError(f"The animation of layer {clip.layer_id} has no frames.")
        result[clip.layer_id] = clip
    return result


def _resolve_frame_count(clips: dict[int, LayerClip], frames: int | None) -> int:
    if frames is None:
        return max((clip.frame_count for clip in clips.values()), default=1)
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1:
        raise PosterError(f"The number of frames must be a whole number of at least 1, got {frames!r}.")
    return int(frames)


def _dirty_rects(boxes: list[Box], canvas: Box) -> list[Box]:
    """Clamp boxes to the canvas and merge overlapping ones until all are disjoint."""
    rects = [box.clamp_to(canvas.w, canvas.h) for box in boxes]
    rects = [rect for rect in rects if not rect.is_empty]
    merged = True
    while merged:
        merged = False
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                if not rects[i].intersection(rects[j]).is_empty:
                    rects[i] = rects[i].union(rects.pop(j))
                    merged = True
                    break
            if merged:
                break
    return rects


def _slices(inner: Box, outer: Box) -> tuple[slice, slice]:
    """Row and column slices of `inner` inside an array that covers `outer`."""
    y0, x0 = inner.y - outer.y, inner.x - outer.x
    return slice(y0, y0 + inner.h), slice(x0, x0 + inner.w)
