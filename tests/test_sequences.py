"""Compound motion prompts play every motion they name (the preset engine).

"wobbles twice, then fades out at the end" is read step by step, each step laid out in
the window the designer set and rendered on its own span; a motion named together with
a fade plays with the fade's opacity; a motion the engine cannot combine is named as
left out; a chosen preset says the other steps do not play.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from app import handlers
from app.motion_panel import MotionFields
from app.persist import restore
from app.session import SessionStore
from app.state import EditorState
from app.timeline import tracks
from engine.core.clip import SequenceStep, Timing, place_static
from engine.core.poster import Box, Layer, LayerKind, Poster, PosterError
from engine.core.project import Project, Timeline
from engine.core.projectfile import load_project, save_project
from engine.motion.base import MotionRequest
from engine.motion.presets import PresetAnimator
from engine.motion.presets.prompts import preset_for_prompt, split_steps
from engine.motion.timing import MIN_STEP_FRAMES, TimingCue, resolve_sequence
from engine.planning.heuristic import plan_heuristically, swept_boxes, with_placement_defaults
from tests.helpers.motion_metrics import rotation

PIXEL, TEXT = LayerKind.PIXEL, LayerKind.TEXT

#: (prompt, layer kind, [(preset, phase, fade)] in order). Phase None: a loop.
SEQUENCES = [
    ("wobbles side to side twice, then fades out at the end", PIXEL, [("jelly", None, ""), ("fade", "out", "")]),
    ("slides in from the left, then bobs gently", PIXEL, [("slide_in", "in", ""), ("bob", None, "")]),
    ("pops in and then floats", PIXEL, [("pop_in", "in", ""), ("float", None, "")]),
    ("the title fades in, then waves", TEXT, [("fade", "in", ""), ("text_wave", None, "")]),
    ("the title fades in, then waves", None, [("fade", "in", ""), ("text_wave", None, "")]),
    ("bounces three times and then flies away to the right", PIXEL, [("bounce", None, ""), ("fly_away", "out", "")]),
    ("the logo zooms in then shimmers", None, [("zoom", None, ""), ("shimmer", None, "")]),
    ("first it pops in, then it wobbles, finally it flies away", PIXEL,
     [("pop_in", "in", ""), ("jelly", None, ""), ("fly_away", "out", "")]),
    ("the heart beats, after that it floats", PIXEL, [("breathe", None, ""), ("float", None, "")]),
    ("the sign shakes followed by a spin", PIXEL, [("shake", None, ""), ("spin", None, "")]),
    ("the star spins before it bounces", PIXEL, [("spin", None, ""), ("bounce", None, "")]),
    ("the flag waves; then it fades out", PIXEL, [("flag_wave", None, ""), ("fade", "out", "")]),
    ("slides in while fading in, then spins while fading out", PIXEL, [("slide_in", "in", "in"), ("spin", "out", "out")]),
    ("the headline types itself out, then pulses", TEXT, [("typewriter", "in", ""), ("breathe", None, "")]),
    ("the leaf sways gently, then falls", PIXEL, [("sway", None, ""), ("fly_away", "out", "")]),
]

#: Prompts that stay one motion: the words after "then" name no motion, or "before" is timing.
SINGLE = [
    ("pops in and then stays", "pop_in"),
    ("fades out before the end", "fade"),
    ("bobs for the first second", "bob"),
    ("the fish swims left, turns around and swims back", "travel"),
    ("walks to the right and back", "travel"),
    ("the heart strengthens and pulses", "breathe"),
]


@pytest.mark.parametrize(("prompt", "kind", "expected"), SEQUENCES)
def test_a_compound_prompt_reads_every_step_in_order(prompt, kind, expected) -> None:
    match = preset_for_prompt(prompt, kind)
    assert [(s.preset, s.timing.phase, s.fade) for s in match.steps] == expected, match.understood
    assert match.message == "", match.message
    understood = match.understood
    assert understood.startswith(f"Understood {len(expected)} steps")
    at = 0
    for number, step in enumerate(match.steps, 1):  # every step said, in order, with the words that chose it
        at = understood.index(f"{number}: ", at)
        assert f"('{step.preset}') from '{step.cue}'" in understood[at:], understood
        assert step.cue and step.cue in prompt.lower()


def test_each_step_keeps_its_own_words() -> None:
    wobble, fade = preset_for_prompt("wobbles side to side twice, then fades out at the end", PIXEL).steps
    assert wobble.params == {"cycles": 2} and not wobble.timing.at_end  # "twice" is the wobble's
    assert fade.params == {"shape": "out"} and fade.timing.at_end and "cycles" not in fade.params
    slide, bob = preset_for_prompt("slides in from the left, then bobs gently", PIXEL).steps
    assert slide.params == {"direction": "right"} and bob.params == {"amplitude": 0.25}


@pytest.mark.parametrize(("prompt", "preset"), SINGLE)
def test_one_motion_stays_one_step(prompt, preset) -> None:
    assert split_steps(prompt) == [prompt]
    match = preset_for_prompt(prompt, PIXEL)
    assert (match.preset, match.then) == (preset, ())
    assert match.understood.startswith("Understood: ")


def test_going_somewhere_and_turning_back_is_a_travel_swing() -> None:
    match = preset_for_prompt("the fish swims left, turns around and swims back", PIXEL)
    assert match.params == {"direction": "left", "mode": "swing"}


def test_a_motion_with_a_fade_plays_both_and_another_pair_names_what_is_left_out() -> None:
    for prompt, preset, fade in (("spins while fading out", "spin", "out"), ("floats up and fades out", "float", "out"),
                                 ("slides in while fading in", "slide_in", "in")):
        match = preset_for_prompt(prompt, PIXEL)
        assert (match.preset, match.fade, match.timing.phase, match.message) == (preset, fade, fade, "")
        assert f"fading {fade} over the same span" in match.understood
    match = preset_for_prompt("it wobbles and spins", PIXEL)  # a warp cannot play with a spin (tests/test_together.py)
    assert match.preset == "spin"
    assert "'jelly' was left out" in match.message and "'spins, then wobbles'" in match.message
    assert "generative engine" in match.message


# --------------------------------------------------------------------------- layout


@dataclass
class Asked:
    phase: str | None = None
    start: int | None = None
    duration: int | None = None
    frames: int = 48
    fps: int = 24


def spans(timings: list[Timing]) -> list[tuple[str, int, int]]:
    return [(t.phase, t.start, t.start + t.duration) for t in timings]


def test_steps_follow_one_another_inside_the_window() -> None:
    loop, exit_, entrance = TimingCue(), TimingCue(phase="out"), TimingCue(phase="in")
    # a loop fills up to an exit that closes the timeline; an entrance takes its natural 0.75 s
    assert spans(resolve_sequence(Asked(), [loop, exit_])) == [("loop", 0, 30), ("out", 30, 48)]
    assert spans(resolve_sequence(Asked(), [entrance, loop])) == [("in", 0, 18), ("loop", 18, 48)]
    # entrances and exits of natural length shorten to leave the loops half the window
    assert spans(resolve_sequence(Asked(), [entrance, loop, loop, exit_])) == [
        ("in", 0, 12), ("loop", 12, 24), ("loop", 24, 36), ("out", 36, 48)]
    # a length the prompt says ("over 0.75 s") is kept; the untold exit gives way instead
    said = TimingCue(phase="in", duration_seconds=0.75)
    assert spans(resolve_sequence(Asked(), [said, loop, loop, exit_])) == [
        ("in", 0, 18), ("loop", 18, 30), ("loop", 30, 42), ("out", 42, 48)]
    # the designer's window (Start 0.5 s, Duration 1 s) holds the whole sequence
    assert spans(resolve_sequence(Asked(start=12, duration=24), [entrance, loop])) == [
        ("in", 12, 24), ("loop", 24, 36)]
    assert spans(resolve_sequence(Asked(start=12, duration=24), [loop, exit_])) == [
        ("loop", 12, 24), ("out", 24, 36)]


def test_a_steps_own_words_win_and_steps_never_overlap() -> None:
    over_one = TimingCue(phase="in", duration_seconds=1.0)
    after_one = TimingCue(start_seconds=1.0)
    at_end = TimingCue(phase="out", at_end=True, duration_seconds=0.5)
    assert spans(resolve_sequence(Asked(), [over_one, TimingCue()])) == [("in", 0, 24), ("loop", 24, 48)]
    assert spans(resolve_sequence(Asked(), [TimingCue(), after_one])) == [("loop", 0, 24), ("loop", 24, 48)]
    assert spans(resolve_sequence(Asked(), [TimingCue(), at_end])) == [("loop", 0, 36), ("out", 36, 48)]
    # a start asked too early for the steps before it comes after them
    early = TimingCue(phase="in", start_seconds=0.1)
    laid = resolve_sequence(Asked(), [over_one, early])
    assert spans(laid) == [("in", 0, 24), ("in", 24, 42)]
    # too much asked for the window: every step still gets its frames, inside the window
    laid = resolve_sequence(Asked(frames=12), [over_one, TimingCue(), TimingCue(phase="out", duration_seconds=2)])
    ends = [(t.start, t.start + t.duration) for t in laid]
    assert ends[0][0] >= 0 and ends[-1][1] <= 12 and all(a[1] <= b[0] for a, b in zip(ends, ends[1:]))
    assert all(t.duration >= MIN_STEP_FRAMES for t in laid)


def test_a_timeline_too_short_for_the_steps_says_so() -> None:
    with pytest.raises(PosterError, match=r"too short for 3 steps one after another.*longer, or write fewer steps"):
        resolve_sequence(Asked(frames=8), [TimingCue(phase="in"), TimingCue(), TimingCue(phase="out")])


# --------------------------------------------------------------------------- rendering


def blob() -> Layer:
    """An asymmetric opaque shape, so a wobble or a turn changes what it looks like."""
    pixels = np.zeros((32, 32, 4), np.uint8)
    pixels[4:28, 8:24] = (200, 50, 50, 255)
    pixels[4:10, 8:28] = (20, 200, 50, 255)
    return Layer(id=1, name="Blob", pixels=pixels, box=Box(40, 40, 32, 32))


def animate(prompt: str, frames: int = 48, **options):
    request = MotionRequest(layer=blob(), box=Box(16, 16, 80, 80), prompt=prompt, frames=frames, fps=24, **options)
    return PresetAnimator().animate([request])[0]


def coverage(frames: np.ndarray) -> np.ndarray:
    return frames[..., 3].astype(np.float64).sum(axis=(1, 2))


def test_wobble_then_fade_out_wobbles_at_full_opacity_then_fades_over_the_last_part() -> None:
    clip = animate("wobbles side to side twice, then fades out at the end")
    frames = clip.frames
    static = frames[0]
    assert [(s.preset, s.timing) for s in clip.steps] == [("jelly", Timing("loop", 0, 30)), ("fade", Timing("out", 30, 18))]
    assert (clip.preset, clip.timing) == ("jelly", Timing("loop", 0, 48))
    wobble = frames[1:30]
    changed = [not np.array_equal(frame, static) for frame in wobble]
    assert sum(changed) >= 20  # it moves...
    assert all(frame[..., 3].max() == 255 for frame in wobble)  # ... at full opacity
    held = coverage(frames)
    assert np.all(np.abs(held[:31] / held[0] - 1) < 0.1)  # nothing fades before the last 0.75 s
    assert np.all(np.diff(held[30:]) <= 0) and held[40] < 0.8 * held[0]
    assert held[-1] == 0  # gone at the end
    assert any("Step 2 (fade)" in m for m in clip.messages)


def test_pop_in_then_float_is_hidden_then_static_then_moving() -> None:
    clip = animate("pops in and then floats")
    frames = clip.frames
    rest = place_static(blob(), Box(16, 16, 80, 80))
    assert [s.preset for s in clip.steps] == ["pop_in", "float"]
    entrance_end = clip.steps[0].timing.start + clip.steps[0].timing.duration
    assert frames[0][..., 3].max() == 0  # hidden before it pops in
    assert np.array_equal(frames[entrance_end - 1], rest)  # the entrance ends on the static layer, bit for bit
    assert np.array_equal(frames[entrance_end], rest)  # the float starts from it
    later = frames[entrance_end + 1:]
    assert sum(not np.array_equal(frame, rest) for frame in later) >= len(later) - 2  # then it moves
    assert not any("until the clip ends" in m for m in clip.messages)


def test_spin_while_fading_out_turns_and_fades_in_the_same_frames() -> None:
    clip = animate("spins while fading out", frames=36)
    assert [(s.preset, s.fade) for s in clip.steps] == [("spin", "out")]
    frames = clip.frames
    timing = clip.timing
    span = frames[timing.start:timing.start + timing.duration]
    angles = rotation(span)
    alpha = coverage(span)
    middle = slice(len(span) // 4, 3 * len(span) // 4)
    assert np.abs(angles[middle]).max() > 20  # it turns ...
    assert alpha[middle].max() < alpha[0] and np.all(np.diff(alpha) <= 1e-6)  # ... while fading
    assert coverage(frames[-1:])[0] == 0
    assert np.array_equal(frames[0], frames[timing.start])  # static until the exit starts


def test_a_group_plays_the_same_steps_on_every_layer() -> None:
    second = blob()
    second = Layer(id=2, name="Blob 2", pixels=second.pixels, box=Box(8, 8, 32, 32))
    requests = [MotionRequest(layer=blob(), box=Box(16, 16, 80, 80), frames=24, fps=12),
                MotionRequest(layer=second, box=Box(0, 0, 60, 60), frames=24, fps=12)]
    clips = PresetAnimator().animate(requests, group_prompt="pops in, then spins")
    assert [[(s.preset, s.timing) for s in clip.steps] for clip in clips][0] == \
        [[(s.preset, s.timing) for s in clip.steps] for clip in clips][1]
    assert [s.preset for s in clips[0].steps] == ["pop_in", "spin"]


def test_a_chosen_preset_plays_alone_and_says_the_other_steps_do_not() -> None:
    clip = animate("wobbles side to side twice, then fades out at the end", params={"preset": "jelly"})
    assert clip.steps == () and clip.preset == "jelly" and clip.params["cycles"] == 2
    assert clip.timing == Timing()  # "at the end" belongs to the fade, not to the chosen wobble
    note = " ".join(clip.messages)
    assert "names 2 steps" in note and "only it plays" in note and "Set Preset to Auto" in note


# --------------------------------------------------------------------------- planner, project, editor


def test_the_planned_box_holds_every_step() -> None:
    canvas = Box(0, 0, 400, 300)
    layer = Layer(id=1, name="Badge", pixels=np.full((40, 40, 4), 255, np.uint8), box=Box(180, 130, 40, 40))
    plan = plan_heuristically([layer], "slides in from the left, then flies away up", canvas)
    assert plan.steps == ("slide_in", "fly_away") and plan.preset == "slide_in"
    assert "then 'flies away' reads as fly_away" in plan.rationale
    for step in preset_for_prompt("slides in from the left, then flies away up", None).steps:
        (reach,) = swept_boxes([layer.box], canvas, step.preset, with_placement_defaults(step.preset, step.params))
        assert plan.boxes[0].contains(reach.intersection(canvas))


def test_a_sequence_clip_round_trips_through_the_project_file(tmp_path, tiny_poster: Poster) -> None:
    sun = tiny_poster.layer("Sun")
    clip = PresetAnimator().animate([MotionRequest(layer=sun, box=Box(0, 0, 40, 40), prompt="pops in, then sways",
                                                   frames=12, fps=6)])[0]
    project = Project(poster=tiny_poster, timeline=Timeline(fps=6, frames=12), clips={sun.id: clip}, source="")
    loaded = load_project(save_project(project, tmp_path / "seq.posterproj")).clips[sun.id]
    assert loaded.steps == clip.steps and [s.preset for s in loaded.steps] == ["pop_in", "sway"]
    assert isinstance(loaded.steps[0], SequenceStep) and loaded.timing == clip.timing
    assert np.array_equal(loaded.frames, clip.frames)


@pytest.fixture
def session(tmp_path, tiny_poster: Poster):
    session, _ = SessionStore(tmp_path / "data", restore=restore).open(None)
    session.state = EditorState(project=Project(poster=tiny_poster, timeline=Timeline(fps=6, frames=12), source=""))
    return session


def test_the_panel_says_every_step_before_animate_and_the_timeline_shows_them(session) -> None:
    prompt = "the sun pops in, then spins"
    handlers.set_selection(session, [2])
    view = handlers.edit_motion(session, 2, MotionFields(prompt=prompt))
    note = view["preset_note"]
    assert "Understood 2 steps" in note and "'pops in'" in note and "'spins'" in note, note
    (row,) = tracks(session.state)
    assert [(s.preset, s.phase) for s in row.segments] == [("pop_in", "in"), ("spin", "loop")]
    assert (row.start, row.start + row.span) == (0, 12)
    view = handlers.run_action(session, "animate", 2, 6, 2.0, MotionFields(prompt=prompt))
    assert not view.get("error"), view
    clip = session.state.clips[2]
    assert [s.preset for s in clip.steps] == ["pop_in", "spin"]
    assert [r["stale"] for r in view["tracks"]["rows"]] == [False]
    chosen = handlers.edit_motion(session, 2, MotionFields(prompt=prompt, params={"preset": "spin"}))["preset_note"]
    assert "Set Preset to Auto" in chosen, chosen


def test_a_linked_layer_follows_every_step_and_its_fade() -> None:
    from engine.motion.follow import follow

    pixels = np.zeros((20, 20, 4), np.uint8)
    pixels[2:18, 4:16] = (200, 0, 0, 255)
    owner = Layer(id=1, name="Title", pixels=pixels, box=Box(40, 40, 20, 20))
    shadow = Layer(id=2, name="Shadow", pixels=pixels.copy(), box=Box(43, 43, 20, 20))
    request = MotionRequest(layer=owner, box=Box(20, 20, 60, 60), prompt="pops in, then spins while fading out",
                            frames=24, fps=12)
    clip = PresetAnimator().animate([request])[0]
    followed = follow(request, clip, shadow)
    assert followed.steps == clip.steps and [s.fade for s in clip.steps] == ["", "out"]
    assert np.array_equal(coverage(followed.frames), coverage(clip.frames))  # hidden, whole, fading, gone together
    assert coverage(followed.frames[-1:])[0] == 0
