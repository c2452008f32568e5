"""Issue 15's preset engine: prompts say what they understood, full-bleed layers move in
place, slow motions stay slow and loop, and the planner and the animator share one room."""

from __future__ import annotations

import numpy as np
import pytest

from engine.core.poster import Box, Layer, LayerKind, Poster
from engine.motion.base import MotionRequest
from engine.motion.presets import PRESETS, PresetAnimator
from engine.motion.presets.prompts import preset_for_prompt, suggestions_for
from engine.motion.presets.room import swept_bounds
from engine.motion.presets.stage import is_full_bleed, looks_full_bleed
from engine.planning import plan as plan_boxes
from tests.helpers.layers import solid_layer

PIXEL, TEXT = LayerKind.PIXEL, LayerKind.TEXT


def animate_one(layer: Layer, box: Box, preset: str | None = None, params: dict | None = None, **options):
    """One layer through the preset engine; `preset` None lets the prompt choose."""
    chosen = {"preset": preset or "auto", **(params or {})}
    return PresetAnimator().animate([MotionRequest(layer=layer, box=box, params=chosen, **options)])[0]


def test_the_reading_names_the_motion_its_parameters_and_the_words_behind_them():
    match = preset_for_prompt("the fish swims slowly to the left", PIXEL)
    assert (match.preset, match.params["direction"]) == ("travel", "left")
    assert match.words == {"direction": "left", "amplitude": "slowly"}
    assert match.understood.startswith("Understood: Travel") and "'slowly'" in match.understood
    assert match.message == ""


def test_a_prompt_with_no_motion_word_says_so_and_suggests_close_presets():
    match = preset_for_prompt("make it look expensive and cinematic", PIXEL)
    assert "names no motion" in match.message and "picked from the prompt" not in match.message
    assert set(match.suggestions) & {"push_in", "pan", "parallax"}
    assert "No motion word found" in match.understood
    assert suggestions_for("so luxurious")[0] == "shimmer"


@pytest.mark.parametrize("prompt", ["the character waves her hand", "the cat blinks", "she smiles at the viewer"])
def test_body_part_motions_say_a_generative_engine_is_needed(prompt):
    match = preset_for_prompt(prompt, PIXEL)
    assert match.needs_generative and "generative engine" in match.message


def test_a_full_bleed_layer_gets_a_motion_inside_its_own_frame():
    for prompt, preset in [("the sky drifts to the left", "pan"), ("the water waves", "ripple"),
                           ("zooms in slowly", "push_in"), ("it floats", "pan"), ("", "push_in")]:
        match = preset_for_prompt(prompt, PIXEL, full_bleed=True)
        assert match.preset == preset, prompt
    assert preset_for_prompt("the sky drifts to the left", PIXEL, full_bleed=True).in_place
    canvas = Box(0, 0, 1080, 1350)
    assert is_full_bleed(Box(0, 0, 1080, 1350), canvas) and is_full_bleed(Box(-5, 0, 1090, 1300), canvas)
    assert not is_full_bleed(Box(56, 0, 1024, 1084), canvas)
    assert looks_full_bleed(Box(0, 0, 1080, 1350), Box(0, 0, 1080, 1350))
    assert not looks_full_bleed(Box(0, 0, 60, 40), Box(0, 0, 60, 40))  # a small corner layer keeps "no room"


def test_slow_words_keep_the_loop_seamless_by_swinging():
    spin = preset_for_prompt("the badge spins slowly", PIXEL)
    assert spin.params["angle"] < 360 and spin.params["cycles"] == 1
    slow, normal = (preset_for_prompt(p, PIXEL).params for p in ("drifts slowly to the right", "drifts to the right"))
    assert slow["amplitude"] < normal.get("amplitude", PRESETS["travel"].params["amplitude"].default)
    assert preset_for_prompt("the fish swims to the right", PIXEL).params["mode"] == "wrap"
    assert "mode" not in preset_for_prompt("the fish swims slowly to the right", PIXEL).params


def test_timing_words():
    assert preset_for_prompt("the title pops in then stays", TEXT).params["loop"] is False
    fade = preset_for_prompt("the title fades out at the end", TEXT)
    assert fade.params == {"shape": "out"}  # "at the end" is when it plays (its timing), not a delay
    assert (fade.timing.phase, fade.timing.at_end, fade.words["timing.start"]) == ("out", True, "at the end")
    assert preset_for_prompt("the ball bounces twice", PIXEL).params["cycles"] == 2


@pytest.fixture(scope="module")
def bleed_poster() -> Poster:
    return Poster(width=320, height=256, layers=[
        Layer(id=1, name="Sea", box=Box(0, 0, 320, 256),
              pixels=np.dstack([np.tile(np.arange(320, dtype=np.uint8)[None, :], (256, 1))] * 3
                               + [np.full((256, 320), 255, np.uint8)])),
        solid_layer(2, "Boat", Box(96, 96, 64, 48), (200, 60, 60, 255)),
    ])


@pytest.mark.parametrize("prompt", ["the sea ripples", "the sea drifts slowly to the left", "the sea zooms in slowly",
                                    "light dances on the water", "it snows", "the sea shimmers"])
def test_full_bleed_motions_plan_no_room_and_play_in_full(bleed_poster, prompt):
    (plan,) = plan_boxes(bleed_poster, [("Sea", prompt)])
    assert plan.boxes["Sea"] == (0, 0, 320, 256)
    layer = bleed_poster.layer("Sea")
    clip = animate_one(layer, plan.layer_boxes[1], plan.preset, plan.params, prompt=prompt, frames=8)
    assert not any("no room" in m or "reduced" in m for m in clip.messages), clip.messages
    assert (clip.frames[..., 3] == 255).all()  # no empty edge ever shows
    assert np.abs(clip.frames[1:].astype(int) - clip.frames[0]).max() > 0


@pytest.mark.parametrize("preset", ["travel", "parallax", "flutter", "pop_in", "push_in", "pan", "ripple", "particles"])
def test_the_planned_room_is_what_the_new_presets_play_in(bleed_poster, preset):
    boat = bleed_poster.layer("Boat")
    bounds = swept_bounds(preset, boat.box, {}, bleed_poster.canvas)
    x0, y0, x1, y1 = (int(np.floor(bounds[0])), int(np.floor(bounds[1])), int(np.ceil(bounds[2])), int(np.ceil(bounds[3])))
    box = Box(x0, y0, x1 - x0, y1 - y0).union(boat.box)
    clip = animate_one(boat, box, preset, frames=9)
    assert not any("no room" in m or "reduced" in m for m in clip.messages), clip.messages


def test_travel_wraps_seamlessly_and_never_vanishes():
    layer = solid_layer(1, "Fish", Box(40, 20, 30, 20), (250, 120, 40, 255))
    clip = animate_one(layer, Box(0, 0, 200, 60), "travel", {"mode": "wrap", "direction": "left"}, frames=10)
    mass = clip.frames[..., 3].reshape(10, -1).sum(axis=1)
    np.testing.assert_allclose(mass, mass[0], rtol=0.03)  # what leaves one edge is back at the other
    lefts = [np.flatnonzero(f[..., 3].any(axis=0))[0] for f in clip.frames[:3]]
    assert lefts[0] > lefts[1] > lefts[2]


def test_particles_follow_the_seed_and_leave_the_layer_itself_alone():
    sea = Layer(id=1, name="Sky", box=Box(0, 0, 96, 80), pixels=np.full((80, 96, 4), (20, 40, 90, 255), np.uint8))
    make = lambda seed: animate_one(sea, sea.box, "particles", {"style": "snow"}, frames=8, seed=seed)
    first, again, other = make(1), make(1), make(2)
    np.testing.assert_array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, other.frames)
    whiter = first.frames[..., :3].astype(int).sum(axis=-1) > 3 * 200
    assert whiter.all(axis=(1, 2)).sum() == 0 and whiter.any(axis=(1, 2)).all()  # already snowing on frame 0
    assert (first.frames[..., :3] >= np.array((20, 40, 90))).all()  # the sky is only covered, never moved
    bare = animate_one(sea, sea.box, "particles", {"style": "snow", "preroll": False}, frames=8, seed=1)
    bare_whiter = bare.frames[..., :3].astype(int).sum(axis=-1) > 3 * 200
    assert bare_whiter[1:-1].any() and not bare_whiter[0].any()  # off: frame 0 is the bare layer


def test_a_planned_preset_still_says_what_the_prompt_was_understood_as():
    from engine.motion.presets.prompts import explain

    reading = explain("the title waves gently", "text_wave", PIXEL)  # a rasterised title the plan read as type
    assert reading.understood == "Understood: Text wave ('text_wave') from 'waves'; amplitude 0.25 from 'gently'."
    vague = explain("make it look expensive and cinematic", "bob", PIXEL)
    assert "the default 'bob' plays" in vague.message and "push_in" in vague.message
    layer = solid_layer(1, "Badge", Box(20, 20, 40, 40), (250, 200, 60, 255))
    clip = animate_one(layer, Box(0, 0, 80, 80), "spin", prompt="spins slowly", frames=6)
    assert any(m.startswith("Understood: Spin") and "angle 90" in m for m in clip.messages), clip.messages


def test_settings_kept_for_another_reading_of_an_auto_prompt_are_left_out_not_refused():
    """The editor stored travel's settings for "drifts slowly to the left"; on a full-bleed
    background the same prompt pans, which has no 'crop': Animate must still play (seen in
    the real editor on masks.psd's background)."""
    from engine.motion.registry import get_engine

    travel = {**PRESETS["travel"].defaults(), "crop": True}
    preset, values, messages = get_engine("presets").choose(
        travel, prompt="drifts slowly to the left", full_bleed=True
    )
    assert preset.name == "pan" and "crop" not in values
    assert any("left out" in m and "crop" in m for m in messages), messages

