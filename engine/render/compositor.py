"""Frames from a Poster plus animated layer clips.

Work is spent only where pixels can change. Everything below the lowest animated layer
is composited once; the full static poster is composited once and every frame starts as
a copy of it. Per frame, only the dirty rectangles (the motion boxes of animated layers,
merged where they overlap) are recomposited: the backdrop below the animated layers is
cropped from the once-made composite, consecutive static normal-mode layers above them
are pre-flattened into one premultiplied layer per rectangle, and only static layers
with another blend mode are re-applied individually, inside the rectangle. Over an
opaque backdrop even that is skipped: the static layers between and above the animated
ones collapse into per-pixel (piecewise) affine maps of the colour under them
(engine.render.affine), exact up to float rounding for normal, multiply, screen, overlay
and the other modes listed there; any other mode keeps the formula-by-formula path.

Frames are produced one at a time into one reused buffer (`iter_frames`, `poster_stream`),
so a render costs a few frames of memory whatever the video's length; previews are
drawn at preview size (`scale`), not drawn full size and shrunk.

Layers and frames are straight-alpha uint8 sRGB. The compositing math is premultiplied
float32 with psd-tools' blend formulas (engine.render.blend) wherever a blend mode other than
normal is involved. Where every layer drawn is normal mode, which is most posters and
most dirty rectangles, Pillow's C source-over does the same job in 8 bits (equal within
a level or two of rounding, tested), several times faster, painting straight into the
output frame.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np
from PIL import Image

from engine.render.affine import Source, Stage, collapse, collapsible
from engine.render.blend import BLEND_FUNCTIONS, composite_blend, composite_normal, straight_colour
from engine.core.budget import work_limits
from engine.render.effects import styled_clip, styled_layer
from engine.core.clip import LayerClip
from engine.core.poster import Box, Layer, Poster, PosterError
from engine.core.stream import FrameStream
from engine.render.scale import scaled_poster

ClipsArgument = Mapping[int, LayerClip] | Sequence[LayerClip] | None


def render_static(poster: Poster) -> np.ndarray:
    """The poster with every layer in place: (H, W, 4) straight-alpha uint8."""
    drawn = _drawn_layers(poster)
    canvas = _canvas_type(drawn).empty(poster.canvas)
    for layer in drawn:
        canvas.apply_layer(layer.pixels, layer.box, layer.opacity, layer.blend_mode)
    return canvas.to_uint8()


def iter_frames(
    poster: Poster, clips: ClipsArgument = None, frames: int | None = None, *, scale: float = 1.0
) -> Iterator[np.ndarray]:
    """The frames one at a time, all drawn into ONE reused (H, W, 4) buffer.

    Each yielded array is overwritten by the next frame: copy a frame to keep it. That is
    what keeps a render at a few frames of memory whatever the video's length. `frames`
    defaults to the longest clip; shorter clips continue per their loop mode. `scale`
    (0 < scale <= 1) renders a smaller poster (previews): static layers are scaled once,
    clip frames as they are read, so no full-size frame is ever made.
    """
    yield from _Plan.for_scale(poster, clips, frames, scale).frames()


def poster_stream(
    poster: Poster, clips: ClipsArgument = None, frames: int | None = None, *, fps: float = 24,
    scale: float = 1.0,
) -> FrameStream:
    """The animated poster as a FrameStream for the exporters (iterable more than once).

    Checks the clips now, so a bad request fails before any file is opened; the per-frame
    plan is made on the first pass (or the first opacity question) and kept for a second
    pass (the GIF palette, a transparency scan).
    """
    normalised = _normalise_clips(poster, clips)
    count = _resolve_frame_count(normalised, frames)
    plans: list[_Plan] = []

    def plan() -> _Plan:
        if not plans:
            plans.append(_Plan.for_scale(poster, normalised, count, scale))
        return plans[0]

    if scale == 1:
        width, height = poster.width, poster.height
    else:
        width, height = max(1, round(poster.width * scale)), max(1, round(poster.height * scale))
    work_limits().check_work(width, height, count, "This poster")
    return FrameStream(lambda: plan().frames(), count, width, height, fps, opaque=lambda: plan().always_opaque,
                       pick=lambda indices: plan().frames(indices))


def render(
    poster: Poster, clips: ClipsArgument = None, frames: int | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    """All frames at once: (F, H, W, 4) straight-alpha uint8. FOR TESTS AND BENCHMARKS.

    A whole video in memory (5 GB for a 26 MP poster at 48 frames) is exactly what the
    editor, the command line and the exporters avoid: they stream with `iter_frames` /
    `poster_stream` (a test checks no production module calls this). `out`, when given,
    is a C-contiguous (F, H, W, 4) uint8 array to fill instead of allocating one.
    """
    plan = _Plan(poster, clips, frames)
    shape = (plan.frame_count, poster.height, poster.width, 4)
    if out is None:
        out = np.empty(shape, dtype=np.uint8)
    elif out.shape != shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise PosterError(f"The frame buffer must be a contiguous uint8 array of shape {shape}.")
    for index in range(plan.frame_count):
        plan.draw_frame(index, out[index])
    return out


def frame_count(poster: Poster, clips: ClipsArgument = None, frames: int | None = None) -> int:
    """How many frames `iter_frames` / `poster_stream` produce for these arguments."""
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

    def to_image(self) -> Image.Image:
        return Image.fromarray(self.to_uint8(), "RGBA")


class _Canvas8:
    """A straight-alpha 8-bit canvas composited by Pillow's C source-over.

    Used only where every layer is normal mode. Source-over in straight 8-bit equals
    the premultiplied float result to within a level of rounding (tested), and Pillow
    does it in one C pass per layer over the layer's own box, several times faster than
    the numpy float path, which is what keeps per-frame work near memory speed.
    """

    def __init__(self, box: Box, image: Image.Image) -> None:
        self.box = box
        self.image = image

    @classmethod
    def empty(cls, box: Box) -> "_Canvas8":
        return cls(box, Image.new("RGBA", (box.w, box.h), (0, 0, 0, 0)))

    def crop(self, box: Box) -> "_Canvas8":
        left, top = box.x - self.box.x, box.y - self.box.y
        return _Canvas8(box, self.image.crop((left, top, left + box.w, top + box.h)))

    def apply_layer(self, pixels: np.ndarray, box: Box, opacity: float, mode: str = "normal") -> None:
        overlap = box.intersection(self.box)
        if overlap.is_empty:
            return
        ys, xs = _slices(overlap, box)
        source = Image.fromarray(np.ascontiguousarray(_faded(pixels[ys, xs], opacity)), "RGBA")
        self.image.alpha_composite(source, dest=(overlap.x - self.box.x, overlap.y - self.box.y))

    def to_uint8(self) -> np.ndarray:
        return np.asarray(self.image).copy()

    def to_image(self) -> Image.Image:
        return self.image


def _canvas_type(layers: list[Layer]) -> type[_Canvas] | type[_Canvas8]:
    """The 8-bit canvas when only source-over is needed, else premultiplied float32."""
    return _Canvas8 if all(layer.blend_mode in ("normal", "dissolve") for layer in layers) else _Canvas


# -- the per-frame plan ------------------------------------------------------------------


@dataclass
class _Run:
    """Pre-flattened static normal-mode layers inside one dirty rectangle.

    Kept premultiplied for the float path and, for the 8-bit path, as a straight RGBA
    image cropped to the part that shows, with its offset inside the rectangle.
    """

    rgb: np.ndarray | None  # None when the run was flattened in 8 bits
    alpha: np.ndarray | None
    image: Image.Image | None
    offset: tuple[int, int]


@dataclass
class _StaticBlend:
    """A static layer with a blend mode, re-applied per frame inside a dirty rectangle
    (its straight colour kept too: the blend needs it, and it never changes)."""

    rgb: np.ndarray
    alpha: np.ndarray
    box: Box
    mode: str
    straight: np.ndarray


@dataclass
class _Animated:
    layer: Layer
    clip: LayerClip


Step = _Run | _StaticBlend | _Animated


class _DirtyRect:
    """One rectangle redrawn per frame: its backdrop (all layers below the animated ones) and steps.

    Per frame only the part where an animated layer shows is recomposited (the union of
    the animated frames' visible bounds, usually much smaller than the rectangle, which
    spans the whole motion). The rest of the rectangle is the same every frame: the
    rectangle drawn with the animated layers left out (`hole`), made once. Compositing is
    per pixel, and a transparent source pixel leaves every formula's result unchanged,
    so this equals recompositing the whole rectangle exactly (tested).
    """

    def __init__(self, rect: Box, backdrop: "_Canvas | _Canvas8", steps: list[Step],
                 backdrop_pixels: np.ndarray | None) -> None:
        self.rect, self.backdrop, self.steps = rect, backdrop, steps
        self.backdrop_pixels = backdrop_pixels  # set when every step is normal mode: the 8-bit path
        self.animated = [step for step in steps if isinstance(step, _Animated)]
        self.collapsed = None if backdrop_pixels is not None else _collapsed(rect, backdrop, steps)
        self._opaque = backdrop_pixels is not None and bool(backdrop_pixels[..., 3].min() == 255)
        self.hole = np.empty((rect.h, rect.w, 4), np.uint8)
        self._paint(self.hole, rect, (rect.x, rect.y), {})

    def draw(self, index: int, frame: np.ndarray, frame_image: Image.Image | None = None) -> None:
        """Recomposite this rectangle of `frame` (the whole poster) for frame `index`.

        `frame_image` is unused; kept so callers need not know how a rectangle paints.
        """
        view = frame[self.rect.y : self.rect.bottom, self.rect.x : self.rect.right]
        np.copyto(view, self.hole)
        pixels: dict[int, np.ndarray] = {}
        shown = Box(0, 0, 0, 0)
        for step in self.animated:
            pixels[id(step)] = step.clip.frame(index)
            bounds = _shown_bounds(pixels[id(step)], step.clip.box).intersection(self.rect)
            if not bounds.is_empty:
                shown = bounds if shown.is_empty else shown.union(bounds)
        if not shown.is_empty:
            self._paint(frame, shown, (0, 0), pixels)

    def _paint(self, out: np.ndarray, sub: Box, origin: tuple[int, int], pixels: Mapping[int, np.ndarray]) -> None:
        """Composite `sub` (poster coordinates, inside the rectangle) into `out`, whose
        pixel (0, 0) is poster point `origin`; animated steps without `pixels` are left out."""
        ys = slice(sub.y - origin[1], sub.bottom - origin[1])
        xs = slice(sub.x - origin[0], sub.right - origin[0])
        if self.backdrop_pixels is not None:
            self._paint_8bit(out, sub, origin, pixels)
            return
        paint = self._paint_float if self.collapsed is None else self._paint_collapsed
        if sub.w * sub.h < _SPLIT_PIXELS or sub.h < 2:
            paint(out[ys, xs], sub, pixels)
        else:  # two bands on two cores: numpy lets go of the GIL, and every formula is per pixel
            half = sub.h // 2
            top, bottom = Box(sub.x, sub.y, sub.w, half), Box(sub.x, sub.y + half, sub.w, sub.h - half)
            other = _band_pool().submit(paint, out[ys, xs][half:], bottom, pixels)
            paint(out[ys, xs][:half], top, pixels)
            other.result()

    def _paint_8bit(self, out: np.ndarray, sub: Box, origin: tuple[int, int], pixels: Mapping[int, np.ndarray]) -> None:
        """All-normal rectangles: Pillow's C source-over, only over the part of each source that shows.

        Source-over is the one operation where straight 8-bit compositing equals the
        premultiplied float result to within rounding. Over an opaque backdrop it is
        exactly a masked paste (out = src·a + dst·(1 − a), alpha stays opaque), which
        Pillow does in place several times faster than alpha_composite; over a backdrop
        with transparency, alpha_composite does the full formula.
        """
        canvas = _writable_image(out)
        view = out[sub.y - origin[1] : sub.bottom - origin[1], sub.x - origin[0] : sub.right - origin[0]]
        ys, xs = _slices(sub, self.rect)
        np.copyto(view, self.backdrop_pixels[ys, xs])
        for step in self.steps:
            if isinstance(step, _Run):
                if step.image is None:
                    continue
                width, height = step.image.size
                placed = Box(self.rect.x + step.offset[0], self.rect.y + step.offset[1], width, height)
                overlap = placed.intersection(sub)
                if overlap.is_empty:
                    continue
                left, top = overlap.x - placed.x, overlap.y - placed.y
                source = step.image.crop((left, top, left + overlap.w, top + overlap.h))
                self._over(canvas, source, (overlap.x - origin[0], overlap.y - origin[1]))
                continue
            if id(step) not in pixels:
                continue
            overlap = step.clip.box.intersection(sub)
            if overlap.is_empty:
                continue
            ys, xs = _slices(overlap, step.clip.box)
            faded = _faded(pixels[id(step)][ys, xs], step.layer.opacity)
            source = Image.fromarray(np.ascontiguousarray(faded), "RGBA")
            shown = source.getbbox()  # a motion box is mostly margin: composite only what shows
            if shown is None:
                continue
            self._over(canvas, source.crop(shown), (overlap.x + shown[0] - origin[0], overlap.y + shown[1] - origin[1]))
        if self._opaque:
            view[..., 3] = 255  # the masked paste blended alpha too; over opaque it is 255

    def _over(self, canvas: Image.Image, source: Image.Image, offset: tuple[int, int]) -> None:
        if self._opaque:
            canvas.paste(source, offset, source)
        else:
            canvas.alpha_composite(source, dest=offset)

    def _paint_float(self, out: np.ndarray, sub: Box, pixels: Mapping[int, np.ndarray]) -> None:
        """Rectangles with blend modes: premultiplied float32, psd-tools' formulas."""
        ys, xs = _slices(sub, self.rect)
        canvas = _Canvas(sub, self.backdrop.rgb[ys, xs].copy(), self.backdrop.alpha[ys, xs].copy())
        for step in self.steps:
            if isinstance(step, _Run):
                composite_normal(canvas.rgb, canvas.alpha, step.rgb[ys, xs], step.alpha[ys, xs])
            elif isinstance(step, _StaticBlend):
                overlap = step.box.intersection(sub)
                if overlap.is_empty:
                    continue
                sy, sx = _slices(overlap, step.box)
                cy, cx = _slices(overlap, sub)
                composite_blend(step.mode, canvas.rgb[cy, cx], canvas.alpha[cy, cx], step.rgb[sy, sx],
                                step.alpha[sy, sx], straight=step.straight[sy, sx])
            elif id(step) in pixels:
                layer = step.layer
                canvas.apply_layer(pixels[id(step)], step.clip.box, layer.opacity, layer.blend_mode)
        canvas.to_uint8(out)


    def _paint_collapsed(self, out: np.ndarray, sub: Box, pixels: Mapping[int, np.ndarray]) -> None:
        """Opaque backdrop: the animated layers drawn with their blend formula, every static
        layer between and above them as its collapsed per-pixel map (engine.render.affine)."""
        ys, xs = _slices(sub, self.rect)
        colour = self.collapsed.base[ys, xs].copy()
        for item in self.collapsed.items:
            if isinstance(item, _Animated):
                if id(item) in pixels:
                    _blend_over_opaque(colour, sub, item, pixels[id(item)])
            else:
                for stage in item:
                    stage.apply(colour, ys, xs)
        colour *= np.float32(255.0)
        colour += np.float32(0.5)
        np.clip(colour, 0, 255, out=colour)
        out[..., :3] = colour  # truncating cast after +0.5: rounding, as _Canvas.to_uint8
        out[..., 3] = 255


@dataclass
class _Collapsed:
    """A rectangle over an opaque backdrop: its straight colour, then animated layers and,
    between and above them, runs of static layers collapsed into Stages."""

    base: np.ndarray
    items: list["_Animated | list[Stage]"]


def _collapsed(rect: Box, backdrop: "_Canvas | _Canvas8", steps: list[Step]) -> _Collapsed | None:
    """The collapsed recipe, or None where it would not be exact (a backdrop with
    transparency, a static layer whose blend mode is not piecewise affine)."""
    if not isinstance(backdrop, _Canvas) or not _opaque(backdrop):
        return None
    if any(isinstance(step, _StaticBlend) and not collapsible(step.mode) for step in steps):
        return None
    items: list[_Animated | list[Stage]] = []
    pending: list[Source | tuple[np.ndarray, np.ndarray]] = []
    for step in [*steps, None]:
        if isinstance(step, _Run):
            pending.append((step.rgb, step.alpha))
        elif isinstance(step, _StaticBlend):
            pending.append(Source(step.straight, step.alpha, step.box.y - rect.y, step.box.x - rect.x, step.mode))
        else:
            if pending:
                items.append(collapse(rect.h, rect.w, pending))
                pending = []
            if step is not None:
                items.append(step)
    return _Collapsed(straight_colour(backdrop.rgb, backdrop.alpha), items)


def _blend_over_opaque(colour: np.ndarray, sub: Box, step: "_Animated", frame: np.ndarray) -> None:
    """One animated frame over opaque straight colour covering `sub`: (1 - as)·x + as·B(x, Cs)."""
    overlap = step.clip.box.intersection(sub)
    if overlap.is_empty:
        return
    fy, fx = _slices(overlap, step.clip.box)
    cy, cx = _slices(overlap, sub)
    source = frame[fy, fx]
    cover = source[..., 3:4] * np.float32(step.layer.opacity / 255.0)
    straight = source[..., :3] * np.float32(1.0 / 255.0)
    under = colour[cy, cx]
    mode = step.layer.blend_mode
    if mode in ("normal", "dissolve"):
        straight -= under
        straight *= cover
        under += straight
        return
    blended = np.asarray(BLEND_FUNCTIONS[mode](under.copy(), straight), dtype=np.float32)
    under *= 1 - cover
    under += cover * blended


#: Float rectangles at least this many pixels are painted in two bands at once.
_SPLIT_PIXELS = 64 * 1024
_band_pools: list[ThreadPoolExecutor] = []


def _band_pool() -> ThreadPoolExecutor:
    """One worker thread for the second band (made on first use, shared by every render)."""
    if not _band_pools:
        _band_pools.append(ThreadPoolExecutor(1, thread_name_prefix="compositor-band"))
    return _band_pools[0]


def _shown_bounds(pixels: np.ndarray, box: Box) -> Box:
    """The part of a frame placed at `box` whose alpha is not zero (empty when none is)."""
    shown = Image.fromarray(np.ascontiguousarray(pixels[..., 3]), "L").getbbox()
    if shown is None:
        return Box(box.x, box.y, 0, 0)
    return Box(box.x + shown[0], box.y + shown[1], shown[2] - shown[0], shown[3] - shown[1])


class _Plan:
    """Everything that does not change between frames, computed once."""

    def __init__(self, poster: Poster, clips: ClipsArgument, frames: int | None) -> None:
        self.clips = _normalise_clips(poster, clips)
        self.frame_count = _resolve_frame_count(self.clips, frames)
        # A styled animated layer's style is drawn on each frame from that frame's alpha.
        self.clips = {layer_id: styled_clip(clip, poster.layer(layer_id).style, poster.canvas)
                      for layer_id, clip in self.clips.items()}
        drawn = _drawn_layers(poster)
        animated_at = [i for i, layer in enumerate(drawn) if layer.id in self.clips]
        self.canvas_type = _canvas_type(drawn)
        lowest = animated_at[0] if animated_at else len(drawn)
        below, self.static = _static_composites(poster, drawn, lowest, self.canvas_type)
        rects = _dirty_rects([self.clips[drawn[i].id].box.union(drawn[i].box) for i in animated_at], poster.canvas)
        backdrops = [below.crop(rect) for rect in rects]
        self.dirty = [self._dirty_rect(rect, backdrop, drawn[lowest:]) for rect, backdrop in zip(rects, backdrops)]

    def _dirty_rect(self, rect: Box, backdrop: "_Canvas | _Canvas8", layers: list[Layer]) -> _DirtyRect:
        steps = self._steps_for(rect, layers)
        all_normal = all(isinstance(s, _Run) or (isinstance(s, _Animated) and s.layer.blend_mode == "normal")
                         for s in steps)
        return _DirtyRect(rect, backdrop, steps, backdrop.to_uint8() if all_normal else None)

    def _steps_for(self, rect: Box, layers: list[Layer]) -> list[Step]:
        """The per-frame recipe for one dirty rectangle, bottom to top."""
        steps: list[Step] = []
        run: _Canvas | _Canvas8 | None = None
        for layer in layers:
            clip = self.clips.get(layer.id)
            overlap = (clip.box if clip else layer.box).intersection(rect)
            if overlap.is_empty:
                continue
            if clip is None and layer.blend_mode == "normal":
                run = run or self.canvas_type.empty(rect)
                run.apply_layer(layer.pixels, layer.box, layer.opacity, "normal")
                continue
            if run is not None:
                steps.append(_finished_run(run))
                run = None
            if clip is not None:
                steps.append(_Animated(layer, clip))
            else:
                ys, xs = _slices(overlap, layer.box)
                rgb, alpha = premultiply(layer.pixels[ys, xs], layer.opacity)
                steps.append(_StaticBlend(rgb, alpha, overlap, layer.blend_mode, straight_colour(rgb, alpha)))
        if run is not None:
            steps.append(_finished_run(run))
        return steps

    @classmethod
    def for_scale(cls, poster: Poster, clips: ClipsArgument, frames: int | None, scale: float) -> "_Plan":
        """The plan for the poster drawn at `scale` (layers scaled once, clips per frame)."""
        if scale != 1:
            poster, scaled = scaled_poster(poster, list(_normalise_clips(poster, clips).values()), scale)
            clips = scaled
        return cls(poster, clips, frames)

    @property
    def always_opaque(self) -> bool:
        """Whether every frame is opaque everywhere: the static poster is, and so is the
        backdrop under every redrawn rectangle (anything drawn over opaque stays opaque)."""
        if not bool(self.static[..., 3].min() == 255):
            return False
        return all(_opaque(dirty.backdrop) for dirty in self.dirty)

    def frames(self, indices: Iterable[int] | None = None) -> Iterator[np.ndarray]:
        """Every frame in order (or only `indices`), drawn into one reused buffer (see iter_frames)."""
        buffer = np.empty_like(self.static)
        for index in range(self.frame_count) if indices is None else indices:
            self.draw_frame(index, buffer)
            yield buffer

    def draw_frame(self, index: int, out: np.ndarray) -> None:
        """Frame `index` into `out` (H, W, 4): the static poster, dirty rectangles redrawn."""
        np.copyto(out, self.static)
        for dirty in self.dirty:
            dirty.draw(index, out)


#: Posters drawn at most this many pixels (previews) keep their static composites between renders.
_KEPT_PIXELS = 1_000_000
_KEPT_COMPOSITES = 3
_kept: list[tuple[tuple[Layer, ...], Box, int, "_Canvas | _Canvas8", np.ndarray]] = []
_kept_lock = threading.Lock()
_composing = threading.Lock()


def prepare_preview(poster: Poster, animated: Iterable[int], scale: float) -> None:
    """Make, and keep, what a preview render of `poster` at `scale` with the layers
    `animated` moving will reuse: the layers scaled to preview size and the static
    composites under and around the lowest animated one.

    Called while the designer is still choosing (a poster opened, a layer selected), so
    the first Animate of a poster starts compositing at once instead of scaling 17 layers
    and compositing them first. Without any animated layer only the layers are scaled
    (which composites to keep depends on which layer moves lowest). A render asking for
    the same composites meanwhile waits for these instead of making its own.
    """
    small = scaled_poster(poster, [], scale)[0]
    drawn = _drawn_layers(small)
    wanted = set(animated)
    animated_at = [i for i, layer in enumerate(drawn) if layer.id in wanted]
    if animated_at and small.width * small.height <= _KEPT_PIXELS:
        _static_composites(small, drawn, animated_at[0], _canvas_type(drawn))


def _static_composites(poster: Poster, drawn: list[Layer], lowest: int,
                       canvas_type: type) -> tuple["_Canvas | _Canvas8", np.ndarray]:
    """The canvas with the layers below the lowest animated one, and the whole static poster
    (read-only; the returned canvas is only cropped from).

    Both depend on the poster and `lowest` only, not on the clips: every Animate, re-roll
    and live preview of one poster at preview size drew them again (a third of a preview
    plan). They are kept for the last few preview-sized posters (the poster's layers are
    immutable and kept alive with the entry, so their identities name them); full-size
    renders (exports, up to 26 MP) are not kept.
    """
    key = tuple(poster.layers)
    if poster.width * poster.height > _KEPT_PIXELS:
        return _composited(poster, drawn, lowest, canvas_type)
    with _composing:  # one preview's composites are made once, even by a warm-up and a render at once
        with _kept_lock:
            for layers, canvas, at, below, static in _kept:
                if at == lowest and canvas == poster.canvas and len(layers) == len(key) and all(
                        a is b for a, b in zip(layers, key)):
                    return below, static
        below, static = _composited(poster, drawn, lowest, canvas_type)
        with _kept_lock:
            _kept[:] = [*_kept[-(_KEPT_COMPOSITES - 1):], (key, poster.canvas, lowest, below, static)]
    return below, static


def _composited(poster: Poster, drawn: list[Layer], lowest: int,
                canvas_type: type) -> tuple["_Canvas | _Canvas8", np.ndarray]:
    """The layers below `lowest` on one canvas, and the whole static poster, in one pass."""
    full = canvas_type.empty(poster.canvas)
    for layer in drawn[:lowest]:
        full.apply_layer(layer.pixels, layer.box, layer.opacity, layer.blend_mode)
    below = full.crop(poster.canvas)  # a copy: `full` goes on to the top layer
    for layer in drawn[lowest:]:
        full.apply_layer(layer.pixels, layer.box, layer.opacity, layer.blend_mode)
    static = full.to_uint8()
    static.flags.writeable = False
    return below, static


def _opaque(canvas: "_Canvas | _Canvas8") -> bool:
    if isinstance(canvas, _Canvas8):
        return canvas.image.getchannel("A").getextrema()[0] == 255
    return bool(canvas.alpha.min() * 255.0 + 0.5 >= 255)


def _finished_run(run: "_Canvas | _Canvas8") -> _Run:
    """Freeze a pre-flattened run; its 8-bit image keeps only the rows and columns that show."""
    image = run.to_image()
    rgb, alpha = (run.rgb, run.alpha) if isinstance(run, _Canvas) else (None, None)
    shown = image.getchannel("A").getbbox()
    if shown is None:
        return _Run(rgb, alpha, None, (0, 0))
    return _Run(rgb, alpha, image.crop(shown), (shown[0], shown[1]))


def _writable_image(array: np.ndarray) -> Image.Image:
    """A Pillow image that shares memory with a C-contiguous (h, w, 4) uint8 array.

    Pillow maps the buffer but marks it read-only, and would copy on the first write;
    clearing the flag lets paste/alpha_composite write straight into the output frame,
    which saves Pillow's canvas copy and its tobytes per rectangle per frame.
    """
    height, width = array.shape[:2]
    image = Image.frombuffer("RGBA", (width, height), array, "raw", "RGBA", 0, 1)
    image.readonly = 0
    return image


def _faded(pixels: np.ndarray, opacity: float) -> np.ndarray:
    """Straight RGBA with its alpha scaled by the layer opacity (a copy only when needed)."""
    if opacity >= 1.0:
        return pixels
    faded = pixels.copy()
    faded[..., 3] = (pixels[..., 3] * np.float32(opacity) + np.float32(0.5)).astype(np.uint8)
    return faded


def _drawn_layers(poster: Poster) -> list[Layer]:
    """Layers that put pixels on the canvas, in paint order, each with its style drawn in."""
    return [styled_layer(layer, poster.canvas) for layer in poster.layers if layer.visible and layer.opacity > 0]


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
