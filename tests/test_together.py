"""Two motions at once ("rises slowly and sways", "bobs and spins", "spins in"): rigid
presets compose frame by frame (engine.motion.presets.compose), the prompt records the
second motion, the clip and the project file keep it, and the planner sizes for both."""

from __future__ import annotations

import numpy as np
import pytest

from engine.core.clip import SequenceStep, Timing, place_static
from engine.core.poster import Box, Layer, LayerKind, Poster
from engine.core.project import Project, Timeline
from engine.core.projectfile import load_project, save_project
from engine.export.bundle import layer_entry
from engine.motion.base import MotionRequest
from engine.motion.follow import follow
from engine.motion.presets import PresetAnimator
from engine.motion.presets.animator import Step, phase_times, step_plan
from engine.motion.presets.catalog import PRESETS
from engine.motion.presets.compose import play_together
from engine.motion.presets.prompts import explain, preset_for_prompt
from engine.motion.presets.resample import render_motion
from engine.motion.presets.room import swept_bounds
from engine.motion.presets.stage import Stage
from engine.motion.presets.transforms import affine_forward, affine_motion
from engine.motion.timing import TimingCue
from engine.planning.geometry import box_from_bounds
from engine.planning.heuristic import plan_heuristically
from tests.helpers.motion_metrics import measure, rotation

PIXEL = LayerKind.PIXEL


def blob(box: Box = Box(40, 40, 32, 32), layer_id: int = 1) -> Layer:
    """An asymmetric opaque shape, so a turn changes what it looks like."""
    pixels = np.zeros((32, 32, 4), np.uint8)
    pixels[4:28, 8:24] = (200, 50, 50, 255)
    pixels[4:10, 8:28] = (20, 200, 50, 255)
    return Layer(id=layer_id, name=f"Blob {layer_id}", pixels=pixels, box=box)


BOX = Box(8, 8, 96, 96)


def animate(prompt: str, frames: int = 36):
    request = MotionRequest(layer=blob(), box=BOX, prompt=prompt, frames=frames, fps=24)
    return PresetAnimator().animate([request])[0]


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("prompt, first, second", [
    ("the balloon rises slowly and sways in the wind", "sway", "float"),
    ("the logo bobs and spins", "bob", "spin"),
    ("floats while rotating gently", "float", "spin"),
    ("bounces and spins", "bounce", "spin"),
    ("the boat drifts and rocks", "float", "sway"),
    ("the badge breathes and shakes", "breathe", "shake"),
    ("pops in while spinning", "pop_in", "spin"),
    ("the fish swims back and forth and spins", "travel", "spin"),
    ("spins in", "spin", "pop_in"),
])
def test_two_rigid_motions_named_at_once_are_both_recorded(prompt, first, second) -> None:
    match = preset_for_prompt(prompt, PIXEL)
    assert (match.preset, match.together and match.together.preset) == (first, second)
    assert match.message == ""  # nothing left out
    assert "together with " + PRESETS[second].label in match.understood


def test_each_motions_own_words_tune_it_and_shared_ones_tune_both() -> None:
    match = preset_for_prompt("bobs gently and spins counterclockwise twice", PIXEL)
    assert match.params == {"amplitude": 0.25} and match.together.params == {"direction": "left", "cycles": 2}
    group = preset_for_prompt("they bob and spin one after another", PIXEL)
    assert group.params["stagger"] == group.together.params["stagger"] == 0.15  # the whole group ripples
    slow = preset_for_prompt("the balloon rises slowly and sways in the wind", PIXEL)
    assert slow.params["amplitude"] == slow.together.params["amplitude"] == 0.25  # "slowly" says how both move
    assert slow.timing.phase is None  # a loop with a loop is a loop


@pytest.mark.parametrize("prompt, phase", [("spins in", "in"), ("spins into place", "in"), ("twirls in", "in"),
                                           ("spins out", "out"), ("spins away", "out"), ("pops in while spinning", "in")])
def test_a_spin_into_place_is_an_entrance_and_away_an_exit(prompt, phase) -> None:
    match = preset_for_prompt(prompt, PIXEL)
    assert match.timing.phase == phase and "cycles" not in match.params  # one turn over the span


@pytest.mark.parametrize("prompt, preset", [("the seal bobs its head", "bob"), ("the phone shakes up and down", "shake"),
                                            ("the leaf spins in the wind", "spin"), ("the logo zooms out", "zoom"),
                                            ("spins while fading out", "spin")])
def test_one_motion_stays_one_motion(prompt, preset) -> None:
    match = preset_for_prompt(prompt, PIXEL)
    assert (match.preset, match.together) == (preset, None)


@pytest.mark.parametrize("prompt, kept, left_out, why", [
    ("it wobbles and spins", "spin", "jelly", "as one piece"),  # a warp cannot compose
    ("the fish swims across and spins", "travel", "spin", "as one piece"),  # a wrap-around neither
    ("pops in and flies away", "fly_away", "pop_in", "an entrance and an exit"),  # two steps, not one
])
def test_a_pair_that_cannot_play_at_once_says_which_was_left_out(prompt, kept, left_out, why) -> None:
    match = preset_for_prompt(prompt, PIXEL)
    assert (match.preset, match.together) == (kept, None)
    assert f"'{left_out}' was left out" in match.message and why in match.message and ", then " in match.message


# --------------------------------------------------------------------------- composing


def test_a_motion_with_a_companion_that_does_not_move_is_the_motion_bit_for_bit() -> None:
    static = place_static(blob(), BOX)
    stage = Stage.from_static(static, 0)
    spin = PRESETS["spin"]
    times, build = phase_times(spin, spin.validate({}), "loop", 12)
    alone = spin.build(stage, build, times)
    still = affine_motion(stage, affine_forward(stage.center, angle=np.zeros(12)))
    both = play_together(stage, spin.build(stage, build, times), still, ("spin", "none"))
    assert np.array_equal(both.forward, alone.forward) and np.array_equal(both.still, alone.still)
    assert np.array_equal(render_motion(static, both), render_motion(static, alone))


def test_a_tight_box_shrinks_both_motions_by_one_gain_and_says_so() -> None:
    static = np.zeros((48, 40, 4), np.uint8)
    static[8:40, 6:34] = 255  # little room: the bob and the spin cannot both play in full
    stage = Stage.from_static(static, 0)
    step = Step(PRESETS["bob"], PRESETS["bob"].validate({"amplitude": 1.0}), TimingCue(),
                together=(PRESETS["spin"], PRESETS["spin"].validate({"angle": 30.0})))
    plan = step_plan(stage, step, "loop", 24)
    corners = plan.reach.reshape(-1, 2)
    assert corners.min() >= -0.01 and corners[:, 0].max() <= 40.01 and corners[:, 1].max() <= 48.01  # it fits
    assert any("'bob with spin' was reduced" in note for note in plan.notes)
    turn = np.degrees(np.arctan2(plan.forward[:, 1, 0], plan.forward[:, 0, 0]))
    assert 0 < np.abs(turn).max() < 30 and np.abs(plan.forward[:, 1, 2]).max() > 0.5  # both still play, smaller


# --------------------------------------------------------------------------- rendering


def test_rises_slowly_and_sways_moves_up_and_down_and_rocks_and_loops() -> None:
    clip = animate("the balloon rises slowly and sways in the wind")
    frames = clip.frames
    assert np.array_equal(frames[0], place_static(blob(), BOX))  # frame 0 is the static layer, exactly
    m = measure(frames)
    assert m.dy.min() < -1.0 and m.dy.max() > 1.0  # the centroid rises and sinks ...
    angles = rotation(frames[::3], step_degrees=2.0)
    assert angles.max() >= 3 and angles.min() <= -3  # ... while the layer rocks both ways
    assert m.seam <= 3.0 * np.median(m.steps) + 0.5  # the loop closes
    assert [(s.preset, s.together) for s in clip.steps] == [("sway", "float")]


def test_spins_in_turns_and_grows_into_the_static_layer() -> None:
    clip = animate("spins in", frames=36)
    timing = clip.timing
    assert timing.phase == "in" and [(s.preset, s.together) for s in clip.steps] == [("spin", "pop_in")]
    span = clip.frames[timing.start:timing.start + timing.duration]
    rest = place_static(blob(), BOX)
    assert span[0][..., 3].max() == 0  # hidden before it comes in
    assert np.array_equal(span[-1], rest) and np.array_equal(clip.frames[-1], rest)  # ends on the layer, exactly
    growing = span[len(span) // 3:-1]
    assert measure(growing, reference=rest).visible.min() < 0.8  # smaller than the layer on the way in ...
    assert np.abs(rotation(np.concatenate((rest[None], growing)))[1:]).max() >= 20  # ... and turned


def test_spins_out_starts_on_the_layer_and_ends_gone() -> None:
    clip = animate("spins away", frames=36)
    timing = clip.timing
    span = clip.frames[timing.start:timing.start + timing.duration]
    assert timing.phase == "out" and np.array_equal(span[0], place_static(blob(), BOX))
    assert clip.frames[-1][..., 3].max() == 0


# --------------------------------------------------------------------------- record, files, planner, links


def test_a_combined_clip_round_trips_through_the_project_file_and_the_manifest(tmp_path, tiny_poster: Poster) -> None:
    sun = tiny_poster.layer("Sun")
    clip = PresetAnimator().animate([MotionRequest(layer=sun, box=Box(0, 0, 40, 40), prompt="bobs and spins slowly",
                                                   frames=12, fps=6)])[0]
    (step,) = clip.steps
    assert (step.preset, step.together, step.together_params["angle"]) == ("bob", "spin", 90.0)
    project = Project(poster=tiny_poster, timeline=Timeline(fps=6, frames=12), clips={sun.id: clip}, source="")
    loaded = load_project(save_project(project, tmp_path / "both.posterproj")).clips[sun.id]
    assert loaded.steps == clip.steps and isinstance(loaded.steps[0], SequenceStep)
    assert np.array_equal(loaded.frames, clip.frames)
    entry = layer_entry(0, sun, clip, {}).motion.steps[0]
    assert (entry.together, entry.together_params) == ("spin", step.together_params)
    assert SequenceStep.of({"preset": "bob", "phase": "loop"}).together == ""  # an older step reads as one motion


def test_the_planned_box_holds_both_motions() -> None:
    layer, room = Box(180, 130, 40, 40), Box(0, 0, 400, 300)
    bob = PRESETS["bob"].validate({})
    alone = swept_bounds("bob", layer, bob, room)
    both = swept_bounds("bob", layer, bob, room, together=("spin", {}))
    # a turning square reaches its corners' circle: sqrt(2) times half its side
    assert both[0] < alone[0] - 5 and both[2] > alone[2] + 5 and both[1] <= alone[1]
    assert both[0] == pytest.approx(200 - 20 * np.sqrt(2), abs=1.0)
    badge = Layer(id=1, name="Badge", pixels=np.full((40, 40, 4), 255, np.uint8), box=layer)
    plan = plan_heuristically([badge], "the badge bobs and spins", room)
    assert plan.boxes[0].contains(box_from_bounds(both))
    assert not plan_heuristically([badge], "the badge bobs", room).boxes[0].contains(box_from_bounds(both))
    assert "together with spin" in plan.rationale and plan.steps == ("bob",)  # the prompt (Auto) must play both


def test_a_linked_layer_moves_with_both_motions() -> None:
    owner, follower = blob(Box(40, 40, 32, 32), 1), blob(Box(44, 76, 32, 32), 2)
    request = MotionRequest(layer=owner, box=BOX, prompt="bobs and spins", frames=12, fps=12)
    clip = PresetAnimator().animate([request])[0]
    linked = follow(request, clip, follower)
    assert linked.steps == clip.steps
    turned = rotation(linked.frames, step_degrees=5.0)
    assert np.abs(turned).max() >= 45  # it turns with the owner, not only bobs


def test_animate_sizes_the_box_for_both_motions(tmp_path) -> None:
    """A box Animate sizes holds both motions, so neither is squeezed ("reduced")."""
    from app import animating, handlers
    from app.motion_panel import MotionFields
    from app.persist import restore
    from app.session import SessionStore
    from app.state import EditorState
    from tests.helpers.layers import solid_layer

    session, _ = SessionStore(tmp_path / "data", restore=restore).open(None)
    session.state = EditorState(project=Project(poster=Poster(width=640, height=480, layers=[
        solid_layer(1, "Sky", Box(0, 0, 640, 480), (30, 60, 90, 255)),
        solid_layer(2, "Sun", Box(256, 192, 128, 96), (250, 200, 40, 255)),
    ]), timeline=Timeline(fps=6, frames=6)))
    handlers.set_selection(session, [2])
    handlers.edit_motion(session, 2, MotionFields(prompt="the sun bobs and spins"))
    view = animating.animate(session, "selected")
    assert not view.get("error") and "reduced" not in view["status"], view["status"]
    assert session.state.clips[2].steps[0].together == "spin"
    assert session.state.motion_box(2).w >= 160  # a turning 128 × 96 reaches its 160-px diagonal


def test_the_panel_shows_a_spin_in_as_an_entrance_before_animate() -> None:
    from app.motion_panel import timing_in_use
    from engine.core.project import Motion

    layer = blob()
    timing = timing_in_use(layer, Motion(layer_ids=[layer.id], prompt="spins in"), 36, 24, Box(0, 0, 200, 200))
    assert timing == animate("spins in").timing and timing.phase == "in"


@pytest.mark.parametrize(("prompt", "chosen", "left"), [
    ("spins while fading out", "spin", "a fade out"),
    ("the balloon rises slowly and sways", "sway", "'float'"),
])
def test_a_chosen_preset_says_which_motion_asked_at_the_same_time_does_not_play(prompt, chosen, left) -> None:
    message = explain(prompt, chosen).message
    assert f"also asks for {left} at the same time" in message and "Set Preset to Auto" in message
    assert explain("the balloon floats", "float").message == ""
    assert "at the same time" not in explain(prompt, "bob").message  # another preset altogether: no pair to name
