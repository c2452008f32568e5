"""A poster and its clips at a smaller scale, for previews made at preview size.

A preview of a 26 MP poster shown 960 pixels tall does not need 26 MP frames: each
static layer is scaled once, each clip frame is scaled when the compositor reads it, and
the compositor then works on preview-sized frames only. Boxes are scaled edge by edge
with one rounding rule, so a motion box still contains its layer and layers that touched
still touch.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import numpy as np
from PIL import Image

from engine.core.clip import LayerClip
from engine.core.poster import Box, Poster, PosterError


def preview_scale(width: int, height: int, max_side: int) -> float:
    """The scale that fits the longer side into `max_side` (1.0 when it already fits)."""
    if max_side < 2:
        raise PosterError(f"A preview needs at least 2 pixels a side; {max_side} is too small.")
    return min(1.0, max_side / max(width, height))


def scaled_box(box: Box, scale: float) -> Box:
    """The box with each edge scaled and rounded; a box with area keeps at least one pixel."""
    x0, y0 = round(box.x * scale), round(box.y * scale)
    x1, y1 = round(box.right * scale), round(box.bottom * scale)
    w = max(1, x1 - x0) if box.w > 0 else 0
    h = max(1, y1 - y0) if box.h > 0 else 0
    return Box(x0, y0, w, h)


def resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Straight RGBA resized (Pillow premultiplies RGBA for filtering, so edges keep their colour)."""
    if pixels.shape[:2] == (height, width):
        return pixels
    if 0 in pixels.shape[:2] or width == 0 or height == 0:
        return np.zeros((height, width, 4), np.uint8)
    image = Image.fromarray(np.ascontiguousarray(pixels), "RGBA")
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))


def resize_shown(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """`resize`, working only on the part of the frame that shows.

    A clip frame spans its motion box, mostly transparent margin around the layer; the
    preview resized all of it every frame. Only the output pixels whose filter reaches a
    pixel with alpha are resized here, from a crop wide enough to hold their whole filter
    support, with the same scale and sample positions as the full resize (Pillow's `box`):
    the same weights, so the same pixels (tested); the rest is transparent, as it was.
    """
    src_h, src_w = pixels.shape[:2]
    if (src_h, src_w) == (height, width) or 0 in (src_h, src_w, width, height):
        return resize(pixels, width, height)
    shown = Image.fromarray(np.ascontiguousarray(pixels[..., 3]), "L").getbbox()
    out = np.zeros((height, width, 4), np.uint8)
    if shown is None:
        return out
    sx, sy = src_w / width, src_h / height
    ox0, ox1 = _reached(shown[0], shown[2], sx, width)
    oy0, oy1 = _reached(shown[1], shown[3], sy, height)
    cx0, cx1 = _support(ox0, ox1, sx, src_w)
    cy0, cy1 = _support(oy0, oy1, sy, src_h)
    crop = Image.fromarray(np.ascontiguousarray(pixels[cy0:cy1, cx0:cx1]), "RGBA")
    box = (ox0 * sx - cx0, oy0 * sy - cy0, ox1 * sx - cx0, oy1 * sy - cy0)
    out[oy0:oy1, ox0:ox1] = np.asarray(crop.resize((ox1 - ox0, oy1 - oy0), Image.Resampling.BILINEAR, box=box))
    return out


def _reached(first: int, end: int, step: float, size: int) -> tuple[int, int]:
    """Output pixels whose bilinear filter (support max(step, 1)) reaches source pixels [first, end)."""
    support = max(step, 1.0)
    low = math.floor((first - support) / step - 0.5) - 1
    high = math.ceil((end + support) / step - 0.5) + 1
    return max(0, low), min(size, high)


def _support(first: int, end: int, step: float, size: int) -> tuple[int, int]:
    """Source pixels the filters of output pixels [first, end) read (a pixel to spare each side)."""
    support = max(step, 1.0)
    return max(0, math.floor(first * step - support) - 1), min(size, math.ceil(end * step + support) + 1)


class _ScaledSource:
    """A clip's frames resized as they are read (the last one is kept: the compositor may
    ask for the same frame twice)."""

    def __init__(self, clip: LayerClip, width: int, height: int) -> None:
        self.clip, self.width, self.height = clip, width, height
        self.count = clip.frame_count
        self._last: tuple[int, np.ndarray] | None = None

    def frame(self, index: int) -> np.ndarray:
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        frame = resize_shown(self.clip.source.frame(index), self.width, self.height)
        self._last = (index, frame)
        return frame


def scaled_poster(poster: Poster, clips: list[LayerClip], scale: float) -> tuple[Poster, list[LayerClip]]:
    """The poster and clips at `scale` (0 < scale <= 1); the originals are not touched.

    The scaled layers of the last few posters are kept (layers are immutable, so the
    same layer objects scale the same): every Animate, re-roll and live preview of one
    poster draws at the same preview size, and scaling its layers again each time was a
    good part of a one-layer Animate.
    """
    if not 0 < scale <= 1:
        raise PosterError(f"A render scale must be above 0 and at most 1, got {scale!r}.")
    if scale == 1:
        return poster, clips
    return _scaled_layers(poster, scale), [scaled_clip(clip, scale) for clip in clips]


_KEPT_POSTERS = 4
_kept: list[tuple[Poster, tuple[int, ...], float, Poster]] = []
_kept_lock = threading.Lock()


_scaling = threading.Lock()


def _scaled_layers(poster: Poster, scale: float) -> Poster:
    with _scaling:  # a warm-up and a render asking at once: the second takes the first's layers
        return _kept_or_scaled(poster, scale)


def _kept_or_scaled(poster: Poster, scale: float) -> Poster:
    key = tuple(id(layer) for layer in poster.layers)
    with _kept_lock:
        for original, layers, at, small in _kept:
            if original is poster and layers == key and at == scale and small.name == poster.name:
                return small
    width, height = max(1, round(poster.width * scale)), max(1, round(poster.height * scale))
    layers = []
    for layer in poster.layers:
        box = scaled_box(layer.box, scale)
        scaled = layer.with_pixels(resize(layer.pixels, box.w, box.h), box)
        if layer.style is not None:
            scaled = replace(scaled, style=layer.style.scaled(scale))  # shadows and strokes shrink too
        layers.append(scaled)
    small = Poster(width, height, layers, name=poster.name, unsupported=list(poster.unsupported))
    with _kept_lock:
        _kept[:] = [*_kept[-(_KEPT_POSTERS - 1):], (poster, key, scale, small)]
    return small


def scaled_clip(clip: LayerClip, scale: float) -> LayerClip:
    """The clip at `scale`, each frame resized when it is read."""
    box = scaled_box(clip.box, scale)
    return clip.with_source(_ScaledSource(clip, box.w, box.h), box)
