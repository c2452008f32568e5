"""Issue 15, "first try": what designers type plays as typed. A wrapped layer shows no
seam, a drawn fish swims head first (mirrored, with a turn, when it faces the other way),
particle loops start already populated."""

from __future__ import annotations

import numpy as np
import pytest

from engine.core.clip import place_static
from engine.core.poster import Box, Layer, LayerKind
from engine.motion.base import MotionRequest
from engine.motion.presets import PresetAnimator
from engine.motion.presets.facing import facing

PIXEL = LayerKind.PIXEL


def animate_one(layer: Layer, box: Box, preset: str | None = None, params: dict | None = None, **options):
    """One layer through the preset engine; `preset` None lets the prompt choose."""
    chosen = {"preset": preset or "auto", **(params or {})}
    return PresetAnimator().animate([MotionRequest(layer=layer, box=box, params=chosen, **options)])[0]


def test_a_wrapped_full_bleed_layer_shows_no_seam_where_it_wraps():
    """The column where the picture leaves one edge and comes back at the other blends the
    two edges: alpha stays full and no column differs from its neighbour more than the
    picture's own columns do (counting its last and first, which the wrap puts side by side)."""
    width, height = 96, 24
    wave = (127.5 + 100 * np.sin(2 * np.pi * 2 * np.arange(width) / width)).astype(np.uint8)  # periodic: smooth wrap
    pixels = np.dstack([np.tile(wave[None, :], (height, 1))] * 3 + [np.full((height, width), 255, np.uint8)])
    sky = Layer(id=1, name="Sky", box=Box(0, 0, width, height), pixels=pixels)
    clip = animate_one(sky, sky.box, "travel", {"mode": "wrap", "direction": "left"}, frames=7)
    source = pixels[0, :, 0].astype(int)
    worst = np.abs(np.diff(np.r_[source, source[0]])).max()
    for frame in clip.frames[1:]:
        assert (frame[..., 3] == 255).all()
        row = frame[height // 2, :, 0].astype(int)
        assert np.abs(np.diff(row)).max() <= worst + 1
    moved = clip.frames[3, 0, :, 0].astype(int)
    assert not np.array_equal(moved, source)  # it did travel


def fish_layer(x: int, y: int, length: int = 60, faces: str = "left") -> Layer:
    """A factory fish: an oval body and a fan tail joined at a narrow waist."""
    height = int(length * 0.6)
    yy, xx = np.mgrid[0:height, 0:length] + 0.5
    u = (xx if faces == "left" else length - xx) / length  # 0 at the head, 1 at the tail's end
    v = (yy - height / 2) / height
    body = ((u - 0.33) / 0.33) ** 2 + (v / 0.45) ** 2 <= 1.0
    behind = u - 0.66
    tail = (behind >= 0) & (np.abs(v) <= 0.04 + 1.4 * behind)
    alpha = np.where(body | tail, 255, 0).astype(np.uint8)
    pixels = np.dstack([np.full_like(alpha, 250), np.full_like(alpha, 200), np.full_like(alpha, 60), alpha])
    return Layer(id=3, name="Small Fish", box=Box(x, y, length, height), pixels=pixels)


def test_the_silhouette_says_which_way_a_layer_faces():
    assert facing(fish_layer(0, 0, faces="left").pixels[..., 3]) == "left"
    assert facing(fish_layer(0, 0, faces="right").pixels[..., 3]) == "right"
    ball = np.zeros((40, 40), np.uint8)
    ball[np.hypot(*(np.mgrid[0:40, 0:40] - 19.5)) < 18] = 255
    letters = np.zeros((20, 60), np.uint8)
    letters[:, 5:15] = letters[:, 25:30] = letters[:, 40:55] = 255
    assert facing(ball) is None and facing(letters) is None


def heading(frame: np.ndarray) -> str | None:
    return facing(frame[..., 3])


@pytest.mark.parametrize("face", [True, False])
def test_a_fish_drawn_facing_left_swims_right_head_first(face):
    fish = fish_layer(60, 10)
    box = Box(0, 0, 300, 60)
    clip = animate_one(fish, box, params={"face": face} if not face else None,
                       prompt="the small fish swims to the right", frames=12)
    assert clip.preset == "travel" and clip.params["mode"] == "wrap" and clip.params["face"] is face
    np.testing.assert_array_equal(clip.frames[0], place_static(fish, box))  # frame 0 is the layer as drawn
    whole = [f for f in clip.frames[1:] if not (f[:, 0, 3].any() or f[:, -1, 3].any())]  # not split by the wrap
    assert len(whole) >= 7
    assert [heading(f) for f in whole[2:-2]] == ["right" if face else "left"] * (len(whole) - 4)
    mirrored = [m for m in clip.messages if "mirrored" in m]
    assert bool(mirrored) is face, clip.messages


def test_a_slow_swing_turns_at_each_end_and_swims_head_first_both_ways():
    fish = fish_layer(120, 10)
    clip = animate_one(fish, Box(0, 0, 300, 60), prompt="the small fish swims slowly to the right", frames=24)
    assert clip.params.get("mode", "swing") == "swing"
    alpha = clip.frames[..., 3].astype(float)
    xs = (alpha.sum(axis=1) * (np.arange(300) + 0.5)).sum(axis=1) / alpha.sum(axis=(1, 2))
    velocity = np.diff(xs)
    for k in range(2, 22):
        if abs(velocity[k]) > 1.5:  # clearly on its way (not turning at an end): head first
            assert heading(clip.frames[k + 1]) == ("right" if velocity[k] > 0 else "left"), k
    assert any("turns at each end" in m for m in clip.messages), clip.messages


@pytest.mark.parametrize("style", ["rain", "snow", "bubbles", "confetti", "sparkle"])
def test_particle_loops_start_populated_and_loop_without_a_gap(style):
    sky = Layer(id=1, name="Sky", box=Box(0, 0, 320, 200), pixels=np.full((200, 320, 4), (20, 40, 90, 255), np.uint8))
    clip = animate_one(sky, sky.box, "particles", {"style": style, "density": 1.0}, frames=12, seed=3)
    covered = (clip.frames[..., :3].astype(int) != (20, 40, 90)).any(axis=-1).sum(axis=(1, 2))
    assert covered[0] > 0.5 * covered.mean() and covered.min() > 0.35 * covered.max(), covered  # even, from frame 0
    frames = clip.frames.astype(int)
    steps = np.abs(np.diff(np.concatenate((frames, frames[:1])), axis=0)).mean(axis=(1, 2, 3))
    assert steps[-1] <= 1.5 * steps[:-1].max()  # the last frame flows into frame 0 like any other step
    assert any("already there on frame 0" in m for m in clip.messages)


@pytest.mark.parametrize("prompt, preset, params", [
    ("the far cloud creeps leftwards very slowly", "travel", {"direction": "left"}),
    ("the big fish zips quickly to the left", "travel", {"direction": "left", "mode": "wrap"}),
    ("the butterfly flies across to the left", "travel", {"direction": "left", "mode": "wrap"}),
    ("clouds move a little to the left and back", "travel", {"direction": "left", "mode": "swing"}),
    ("fish swims back and forth", "travel", {"mode": "swing"}),
    ("seaweed waves back n forth", "sway", {}),
    ("badge rotates a quarter turn and back", "spin", {"angle": 90.0}),
    ("the badge turns 45 degrees slowly", "spin", {"angle": 45.0, "cycles": 1}),
    ("bubbles stream up through the water", "particles", {"style": "bubbles", "direction": "up"}),
])
def test_designer_wording_found_misread_in_the_new_prompt_rows(prompt, preset, params):
    from engine.motion.presets.prompts import preset_for_prompt

    match = preset_for_prompt(prompt, PIXEL)
    assert match.preset == preset and params.items() <= match.params.items(), (match.preset, match.params)


def test_a_layer_on_its_boxs_edge_slides_in_from_beyond_it_and_a_full_width_one_shakes_up_and_down():
    band = Layer(id=1, name="Footer", box=Box(0, 60, 120, 20), pixels=np.full((20, 120, 4), 200, np.uint8))
    box = Box(0, 0, 120, 80)  # the footer rests on the bottom edge and spans the width
    slide = animate_one(band, box, "slide_in", {"direction": "up"}, frames=12)
    assert not any("no room" in m for m in slide.messages) and any("from beyond" in m for m in slide.messages)
    rows = [np.flatnonzero(f[..., 3].any(axis=1)) for f in slide.frames[2:6]]
    assert any(r.size and r[0] > 60 for r in rows)  # part of the way in: its top is below where it rests
    shake = animate_one(band, box, "shake", frames=12)
    assert any("up and down" in m for m in shake.messages) and not any("no room" in m for m in shake.messages)
    alpha = shake.frames[..., 3].astype(float)
    ys = (alpha.sum(axis=2) * (np.arange(80) + 0.5)).sum(axis=1) / alpha.sum(axis=(1, 2))
    assert np.ptp(ys) > 0.5 and (shake.frames[:, :, 0, 3] >= 190).any(axis=1).all()  # it rumbles; never lifts off a side


def test_snow_on_a_light_layer_is_drawn_darker_so_it_shows():
    paper = Layer(id=1, name="Paper", box=Box(0, 0, 160, 120), pixels=np.full((120, 160, 4), 250, np.uint8))
    clip = animate_one(paper, paper.box, "particles", {"style": "snow", "density": 1.0}, frames=6, seed=2)
    changed = np.abs(clip.frames[..., :3].astype(int) - 250).max(axis=-1) > 30
    assert changed.any(axis=(1, 2)).all() and any("darker" in m for m in clip.messages)
