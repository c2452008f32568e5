"""The compositor redraws per frame only where animated layers show, and that equals
recompositing each whole dirty rectangle every frame, pixel for pixel (issue 16).

The reference below paints every rectangle whole for every frame, the way the compositor
did before: the same arithmetic over more pixels. Both the 8-bit path (normal layers
only) and the float path (blend modes above and below the animated layers) are checked,
with sprites that move inside wide motion boxes, leave the rectangle empty on some
frames, overlap each other and fade; big float rectangles are painted in two bands at
once, which must not change a pixel either.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import Box, Layer, Poster
from engine.core.clip import LayerClip
from engine.render import compositor
from engine.render.compositor import _Plan, render


def sprite_layer(rng: np.random.Generator, layer_id: int, box: Box, mode: str = "normal",
                 opacity: float = 1.0, opaque: bool = False) -> Layer:
    pixels = rng.integers(0, 256, (box.h, box.w, 4), dtype=np.uint8)
    if opaque:
        pixels[..., 3] = 255
    else:
        pixels[rng.random((box.h, box.w)) < 0.3, 3] = 0
    return Layer(id=layer_id, name=f"L{layer_id}", pixels=pixels, box=box, blend_mode=mode, opacity=opacity)


def moving_clip(layer: Layer, motion_box: Box, frames: int, rng: np.random.Generator,
                empty_at: int | None = None) -> LayerClip:
    """The layer's pixels shifted around its motion box (nothing shown on frame `empty_at`)."""
    out = np.zeros((frames, motion_box.h, motion_box.w, 4), np.uint8)
    spare_x, spare_y = motion_box.w - layer.box.w, motion_box.h - layer.box.h
    for index in range(frames):
        if index == empty_at:
            continue
        x, y = int(rng.integers(0, spare_x + 1)), int(rng.integers(0, spare_y + 1))
        out[index, y:y + layer.box.h, x:x + layer.box.w] = layer.pixels
    return LayerClip(layer.id, motion_box, out)


def whole_rectangles(poster: Poster, clips: list[LayerClip], frames: int) -> np.ndarray:
    """Every dirty rectangle recomposited whole on every frame (the reference)."""
    plan = _Plan(poster, clips, frames)
    out = np.empty((frames, poster.height, poster.width, 4), np.uint8)
    for index in range(frames):
        np.copyto(out[index], plan.static)
        for dirty in plan.dirty:
            pixels = {id(step): step.clip.frame(index) for step in dirty.animated}
            dirty._paint(out[index], dirty.rect, (0, 0), pixels)
    return out


@pytest.mark.parametrize("modes", [("normal", "normal", "normal"), ("multiply", "screen", "overlay")],
                         ids=["8-bit", "blend-modes"])
@pytest.mark.parametrize("backdrop_opaque", [True, False], ids=["opaque", "transparent"])
@pytest.mark.parametrize("bands", [False, True], ids=["one-band", "two-bands"])
def test_redrawing_where_layers_show_equals_whole_rectangles(modes, backdrop_opaque, bands, monkeypatch):
    rng = np.random.default_rng(16)
    below, shadow_mode, above = modes
    back = sprite_layer(rng, 1, Box(0, 0, 64, 48), below, opaque=backdrop_opaque)
    shadow = sprite_layer(rng, 2, Box(10, 8, 12, 10), shadow_mode, opacity=0.6)
    sprite = sprite_layer(rng, 3, Box(30, 20, 10, 12))
    over = sprite_layer(rng, 4, Box(5, 5, 50, 36), above, opacity=0.7)
    top = sprite_layer(rng, 5, Box(20, 0, 30, 30))
    poster = Poster(64, 48, [back, shadow, sprite, over, top])
    frames = 7
    clips = [moving_clip(shadow, Box(4, 2, 30, 24), frames, rng, empty_at=3),
             moving_clip(sprite, Box(20, 14, 30, 30), frames, rng)]  # the two boxes overlap: one rectangle
    expected = whole_rectangles(poster, clips, frames)
    if bands:  # big float rectangles are painted in two bands on two threads: same pixels
        monkeypatch.setattr(compositor, "_SPLIT_PIXELS", 16)
    np.testing.assert_array_equal(render(poster, clips, frames), expected)


def test_a_rectangle_with_nothing_showing_is_the_poster_without_the_layer():
    rng = np.random.default_rng(7)
    back = sprite_layer(rng, 1, Box(0, 0, 40, 30), opaque=True)
    sprite = sprite_layer(rng, 2, Box(10, 10, 8, 8))
    texture = sprite_layer(rng, 3, Box(0, 0, 40, 30), "overlay", opacity=0.5)
    poster = Poster(40, 30, [back, sprite, texture])
    hidden = LayerClip(2, Box(5, 5, 20, 20), np.zeros((2, 20, 20, 4), np.uint8))
    without = Poster(40, 30, [back, texture])
    frames = render(poster, [hidden], 2)
    still = render(without, None, 1)[0]
    np.testing.assert_array_equal(frames[0], still)
    np.testing.assert_array_equal(frames[1], still)
