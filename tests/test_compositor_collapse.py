"""Static layers above an animated one, collapsed into per-pixel maps, draw the same frames
as applying each blend formula in turn (issue 16), and preview-size clip frames resized
from only their visible part equal the whole frame resized.

The reference is the compositor's exact float path (psd-tools' formulas, one layer at a
time), reached by switching the collapse off; each check also asserts the collapse was
taken, so a collapse that silently fell back could not pass.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from engine import Box, Layer, Poster
from engine.core.clip import LayerClip
from engine.psd.load import load_psd
from engine.render import compositor
from engine.render.affine import RULES, Source, collapse, collapsible
from engine.render.blend import composite_blend
from engine.render.compositor import _Plan, iter_frames
from engine.render.scale import resize, resize_shown
from tests.helpers.paths import ASSETS_DIR, CORPUS_DIR

# -- the collapse itself, mode by mode -----------------------------------------------------


@pytest.mark.parametrize("modes", [tuple(RULES), ("multiply", "overlay", "screen", "overlay"),
                                   ("darken", "hard_light", "lighten", "linear_dodge", "linear_burn")],
                         ids=["every-mode", "overlay-twice", "piecewise-mix"])
def test_collapsed_chain_equals_each_formula_in_turn(modes):
    rng = np.random.default_rng(16)
    h, w = 24, 20
    backdrop = rng.random((h, w, 3), np.float32)
    backdrop[:2] = 0.5  # pixels sitting exactly on the overlay threshold
    backdrop[2:4] = 0.0
    backdrop[4:6] = 1.0
    rgb, alpha = backdrop.copy(), np.ones((h, w, 1), np.float32)
    sources = []
    for index, mode in enumerate(modes):
        box_h, box_w, top, left = 16, 14, index % 5, (2 * index) % 6
        colour = rng.random((box_h, box_w, 3), np.float32)
        colour[::3] = 0.5
        cover = rng.random((box_h, box_w, 1), np.float32) * np.float32(0.9)
        cover[::4] = 1.0
        cover[1::4] = 0.0
        sources.append(Source(colour, cover, top, left, mode))
        composite_blend(mode, rgb[top:top + box_h, left:left + box_w], alpha[top:top + box_h, left:left + box_w],
                        colour * cover, cover, straight=colour)
    mapped = backdrop.copy()
    for stage in collapse(h, w, sources):
        stage.apply(mapped, slice(None), slice(None))
    np.testing.assert_allclose(alpha, 1.0, atol=1e-6)
    assert np.abs(mapped - rgb).max() < 2e-5


def test_modes_that_are_not_piecewise_affine_are_not_collapsed():
    assert not any(collapsible(mode) for mode in ("soft_light", "color_dodge", "color_burn", "vivid_light",
                                                  "difference", "hue", "luminosity", "divide"))


# -- the compositor on real posters --------------------------------------------------------


def moving_clip(layer: Layer, frames: int, pad: int) -> LayerClip:
    """The layer drifting around a motion box `pad` pixels bigger on each side."""
    box = Box(layer.box.x - pad, layer.box.y - pad, layer.box.w + 2 * pad, layer.box.h + 2 * pad)
    out = np.zeros((frames, box.h, box.w, 4), np.uint8)
    for index in range(frames):
        dx, dy = (index * 7) % (2 * pad), (index * 11) % (2 * pad)
        out[index, dy:dy + layer.box.h, dx:dx + layer.box.w] = layer.pixels
    return LayerClip(layer.id, box, out)


@functools.lru_cache(maxsize=None)
def sample_poster(name: str) -> Poster:
    return load_psd(ASSETS_DIR / "samples" / f"{name}.psd")


def both_ways(poster: Poster, clips: list[LayerClip], scale: float, monkeypatch) -> tuple[list, list]:
    plan = _Plan.for_scale(poster, clips, None, scale)
    assert any(dirty.collapsed is not None for dirty in plan.dirty), "the collapse was not taken"
    collapsed = [frame.copy() for frame in iter_frames(poster, clips, scale=scale)]
    with monkeypatch.context() as patch:
        patch.setattr(compositor, "_collapsed", lambda *args: None)
        exact = [frame.copy() for frame in iter_frames(poster, clips, scale=scale)]
    return collapsed, exact


@pytest.mark.parametrize(("sample", "animated", "scale"), [
    ("balloon", ("Balloon Shadow", "Balloon"), 0.3),  # a multiply and a normal layer under multiply + overlay
    ("flower", ("Bloom",), 0.3),                       # under overlay
    ("ocean", ("Fish",), 0.3),                          # under screen + overlay
    ("ocean", ("Light Rays",), 0.2),                    # a screen layer animated, painted in two bands
])
def test_samples_draw_the_same_frames_with_the_collapse(sample, animated, scale, monkeypatch):
    poster = sample_poster(sample)
    monkeypatch.setattr(compositor, "_SPLIT_PIXELS", 4096)  # big rectangles: two bands on two threads
    clips = [moving_clip(poster.layer(name), 3, 12) for name in animated]
    collapsed, exact = both_ways(poster, clips, scale, monkeypatch)
    for mine, theirs in zip(collapsed, exact):
        assert np.abs(mine.astype(np.int16) - theirs).max() <= 1


def test_a_corpus_poster_with_multiply_layers_draws_the_same_frames(monkeypatch):
    poster = load_psd(CORPUS_DIR / "psd-tools__psd-tools/tests/psd_files/transparency/knockout-isolated-groups.psd")
    clips = [moving_clip(poster.layer("Ellipse 1"), 3, 10)]  # animated multiply, three static multiplies above
    collapsed, exact = both_ways(poster, clips, 1.0, monkeypatch)
    for mine, theirs in zip(collapsed, exact):
        assert np.abs(mine.astype(np.int16) - theirs).max() <= 1


def test_a_soft_light_layer_above_keeps_the_exact_path():
    rng = np.random.default_rng(3)
    back = Layer(id=1, name="Back", pixels=np.full((20, 20, 4), 255, np.uint8), box=Box(0, 0, 20, 20))
    sprite = Layer(id=2, name="Sprite", pixels=rng.integers(0, 256, (6, 6, 4), dtype=np.uint8), box=Box(5, 5, 6, 6))
    light = Layer(id=3, name="Light", pixels=rng.integers(0, 256, (20, 20, 4), dtype=np.uint8),
                  box=Box(0, 0, 20, 20), blend_mode="soft_light")
    plan = _Plan(Poster(20, 20, [back, sprite, light]), [moving_clip(sprite, 2, 3)], None)
    assert [dirty.collapsed for dirty in plan.dirty] == [None]


# -- resizing only the visible part of a clip frame -------------------------------------------


def premultiplied(pixels: np.ndarray) -> np.ndarray:
    values = pixels.astype(np.float64)
    return np.concatenate([values[..., :3] * values[..., 3:] / 255.0, values[..., 3:]], axis=-1)


def test_resizing_the_visible_part_equals_resizing_the_whole_frame():
    rng = np.random.default_rng(5)
    worst = 0.0
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(8, 160, 2))
        frame = np.zeros((h, w, 4), np.uint8)
        y0, x0 = int(rng.integers(0, h - 1)), int(rng.integers(0, w - 1))
        y1, x1 = int(rng.integers(y0 + 1, h + 1)), int(rng.integers(x0 + 1, w + 1))
        frame[y0:y1, x0:x1] = rng.integers(0, 256, (y1 - y0, x1 - x0, 4), dtype=np.uint8)
        scale = float(rng.uniform(0.15, 1.0))
        width, height = max(1, round(w * scale)), max(1, round(h * scale))
        whole, part = resize(frame, width, height), resize_shown(frame, width, height)
        np.testing.assert_array_equal(whole[..., 3] > 0, part[..., 3] > 0)  # nothing cut off, nothing added
        worst = max(worst, float(np.abs(premultiplied(whole) - premultiplied(part)).max()))
    # Pillow places the samples of a boxed resize from a float offset: a level of rounding, never more
    assert worst <= 2.0
    assert not resize_shown(np.zeros((30, 40, 4), np.uint8), 10, 8).any()


# -- static composites kept between preview renders ------------------------------------------


def test_kept_static_composites_draw_what_fresh_ones_draw(monkeypatch):
    poster = sample_poster("flower")
    takes = [[moving_clip(poster.layer("Bloom"), 2, 6)], [moving_clip(poster.layer("Butterfly"), 2, 6)],
             [moving_clip(poster.layer("Arch"), 2, 6)], [moving_clip(poster.layer("Bloom"), 2, 9)]]
    kept = [[frame.copy() for frame in iter_frames(poster, clips, scale=0.25)] for clips in takes]
    assert compositor._kept, "preview-sized static composites are kept"
    for clips, frames in zip(takes, kept):
        monkeypatch.setattr(compositor, "_kept", [])
        fresh = [frame.copy() for frame in iter_frames(poster, clips, scale=0.25)]
        for mine, theirs in zip(frames, fresh):
            np.testing.assert_array_equal(mine, theirs)
