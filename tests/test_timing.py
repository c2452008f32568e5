"""Motion phases on the timeline: the one timing rule (engine.core.clip.timed_index), how a
request's timing is resolved (engine.motion.timing), the frame identities the paper needs
(a loop starts on the static layer, an entrance ends on it) on real preset clips, and the
schema step that turned start_offset into start."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.core import schema
from engine.core.clip import ArraySource, LayerClip, TimedSource, Timing, place_static, timed_index
from engine.core.poster import Box, Layer, LayerKind, PosterError
from engine.core.project import Motion
from engine.motion.base import MotionRequest
from engine.motion.presets import PresetAnimator
from engine.motion.presets.prompts import preset_for_prompt
from engine.motion.timing import TimingCue, resolve_timing


def shown(timing: Timing, motion_frames: int, count: int, loop_mode: str = "loop") -> list:
    """What each timeline frame shows: a motion frame number, or "S" for the static layer."""
    return ["S" if k is None else k for k in (timed_index(t, timing, motion_frames, loop_mode) for t in range(count))]


def test_an_entrance_is_hidden_before_its_start_and_ends_on_the_static_layer():
    # 4 motion frames: 0 (hidden) .. 3 (the static layer itself)
    assert shown(Timing("in", 2, 4), 4, 9) == [0, 0, 0, 1, 2, "S", "S", "S", "S"]


def test_a_loop_starts_on_the_static_layer_loops_for_its_duration_then_returns():
    assert shown(Timing("loop", 2, 7), 3, 11) == ["S", "S", 0, 1, 2, 0, 1, 2, 0, "S", "S"]
    assert shown(Timing("loop", 1, 6), 3, 8, "pingpong") == ["S", 0, 1, 2, 1, 0, 1, "S"]
    assert shown(Timing("loop", 0, None), 3, 5) == [0, 1, 2, 0, 1]  # to the end of the timeline


def test_an_exit_starts_on_the_static_layer_and_holds_its_last_frame():
    assert shown(Timing("out", 3, 3), 3, 8) == ["S", "S", "S", 0, 1, 2, 2, 2]


def test_a_timing_is_checked_with_a_sentence():
    with pytest.raises(PosterError, match="phase must be one of in, loop, out"):
        Timing("bounce", 0, 4)
    with pytest.raises(PosterError, match="needs a duration"):
        Timing("in", 0, None)
    with pytest.raises(PosterError, match="start"):
        Motion(layer_ids=[1], start=-1)
    with pytest.raises(PosterError, match="phase"):
        Motion(layer_ids=[1], phase="sideways")


def test_a_timed_source_shares_the_static_frame_and_reads_motion_frames():
    still = np.full((2, 2, 4), 9, np.uint8)
    motion = np.arange(3 * 2 * 2 * 4, dtype=np.uint8).reshape(3, 2, 2, 4)
    clip = LayerClip(1, Box(0, 0, 2, 2), TimedSource(6, still, ArraySource(motion), Timing("out", 2, 3)),
                     timing=Timing("out", 2, 3))
    assert clip.frame_count == 6
    assert clip.frame(0) is clip.frame(1)
    np.testing.assert_array_equal(clip.frame(0), still)
    np.testing.assert_array_equal(clip.frame(3), motion[1])
    np.testing.assert_array_equal(clip.frame(5), motion[2])


class Asked:
    def __init__(self, phase=None, start=None, duration=None, frames=48, fps=24):
        self.phase, self.start, self.duration, self.frames, self.fps = phase, start, duration, frames, fps


def test_resolving_timing_designer_over_prompt_over_defaults():
    assert resolve_timing(Asked()) == Timing("loop", 0, None)
    assert resolve_timing(Asked(), TimingCue(phase="in")) == Timing("in", 0, 18)  # 0.75 s natural length
    assert resolve_timing(Asked(), TimingCue(phase="out")) == Timing("out", 30, 18)  # an exit closes the clip
    assert resolve_timing(Asked(), TimingCue(phase="in", start_seconds=0.5, duration_seconds=1.0)) == Timing("in", 12, 24)
    assert resolve_timing(Asked(), TimingCue(phase="out", at_end=True, duration_seconds=0.5)) == Timing("out", 36, 12)
    assert resolve_timing(Asked(), TimingCue(start_share=0.25)) == Timing("loop", 12, None)
    # what the designer set wins over the words, and a duration never runs past the end
    assert resolve_timing(Asked(phase="loop", start=40, duration=30), TimingCue(phase="in", at_end=True)) == Timing("loop", 40, 8)
    # a short timeline: an entrance takes at most half of it
    assert resolve_timing(Asked(frames=12), TimingCue(phase="in")) == Timing("in", 0, 6)


@pytest.mark.parametrize(("prompt", "phase", "start", "duration"), [
    ("the title pops in then stays", "in", "", ""),
    ("the title fades out at the end", "out", "at the end", ""),
    ("the title slides in from the left over half a second", "in", "", "over half a second"),
    ("the subtitle fades in after half a second", "in", "after half a second", ""),
    ("the badge spins for the first second", None, "for the first second", "for the first second"),
    ("the bird flies away", "out", "", ""),
    ("the title fades in letter by letter", "in", "", ""),
    ("the title pops in over and over", "loop", "", ""),
])
def test_the_prompt_reader_records_the_words_behind_the_timing(prompt, phase, start, duration):
    match = preset_for_prompt(prompt, LayerKind.TEXT)
    assert match.timing.phase == phase
    assert match.words.get("timing.start", "") == start and match.words.get("timing.duration", "") == duration
    if phase in ("in", "out"):
        assert "timing.phase" in match.words and f"phase {phase}" in match.understood


LAYER = Layer(id=4, name="Title", box=Box(20, 16, 24, 12), kind=LayerKind.TEXT,
              pixels=np.dstack([np.full((12, 24), c, np.uint8) for c in (240, 80, 40, 255)]))
BOX = Box(0, 0, 64, 44)


@pytest.mark.parametrize(("prompt", "phase"), [("the title pops in", "in"), ("the title slides in from the left", "in"),
                                               ("the title fades out", "out"), ("the title bobs", "loop")])
def test_frame_identity_where_the_paper_requires_it(prompt, phase):
    """A loop and an exit start on the static layer and an entrance ends on it, bit for bit,
    and the layer is the static layer wherever the timing holds it."""
    request = MotionRequest(layer=LAYER, box=BOX, prompt=prompt, frames=16, fps=8, start=3, duration=6)
    clip = PresetAnimator().animate([request])[0]
    static = place_static(LAYER, BOX)
    assert clip.timing == Timing(phase, 3, 6)
    frames = clip.frames
    if phase == "in":
        assert frames[:3, ..., 3].max() == 0  # hidden before it enters
        for t in range(8, 16):
            np.testing.assert_array_equal(frames[t], static)
    else:
        for t in [*range(0, 4), *([] if phase == "out" else range(9, 16))]:
            np.testing.assert_array_equal(frames[t], static)
    if phase == "out":
        assert (frames[8:, ..., 3] == frames[8, ..., 3]).all() and frames[8, ..., 3].sum() < static[..., 3].sum() * 0.05
    assert not all(np.array_equal(frames[t], static) for t in range(4, 8))  # it does move in between


def test_schema_3_start_offset_becomes_a_loop_from_start():
    doc = {"format": schema.AUTOSAVE_FORMAT, "schema_version": 3, "source": "x.psd",
           "timeline": {"fps": 24, "frames": 48},
           "motions": [{"layer_ids": [2], "prompt": "floats", "start_offset": 5, "loop": "hold"}]}
    manifest = schema.load(json.dumps(doc), schema.AutosaveManifest)
    (motion,) = manifest.motions
    assert (motion.phase, motion.start, motion.duration, motion.loop) == ("loop", 5, None, "hold")
    assert manifest.schema_version == schema.SCHEMA_VERSION == 5
