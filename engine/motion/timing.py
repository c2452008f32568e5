"""When a motion plays: the designer's phase, start and duration, or what the prompt says
about them, resolved to frames on one timeline.

Every engine resolves timing here, so "pops in after half a second" starts on the same
frame whichever engine draws it, and the editor can say what a prompt was read as before
anything renders. The rule for what each phase shows frame by frame is
engine.core.clip.timed_index; this module only decides the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from engine.core.clip import ArraySource, TimedSource, Timing

#: How long an entrance or exit lasts when nothing says: about a designer's "pop" or "fade".
NATURAL_SECONDS = 0.75


@dataclass(frozen=True)
class TimingCue:
    """What a prompt's words say about when (engine.motion.presets.prompts reads them).

    `phase` None: the words do not say. A start is given in seconds ("after half a
    second"), as a share of the timeline ("after a moment", "halfway through") or as
    `at_end` ("at the end": finishing on the last frame).
    """

    phase: str | None = None
    start_seconds: float | None = None
    start_share: float | None = None
    at_end: bool = False
    duration_seconds: float | None = None


class Timed(Protocol):
    """What resolving needs from a request: the asked timing and the timeline."""

    phase: str | None
    start: int | None
    duration: int | None
    frames: int
    fps: int


def resolve_timing(request: Timed, cue: TimingCue | None = None, *, natural_seconds: float = NATURAL_SECONDS) -> Timing:
    """The timing that plays: what the designer set < what the prompt says < the defaults.

    Defaults: a loop or an entrance from frame 0, an exit ending on the last frame; a loop
    runs to the end of the timeline, an entrance or exit lasts `natural_seconds` (at most
    half the timeline, so there is time to see the layer in place). A duration never runs
    past the timeline's last frame.
    """
    cue = cue or TimingCue()
    frames, fps = request.frames, request.fps
    phase = request.phase or cue.phase or "loop"
    duration = request.duration
    if duration is None and cue.duration_seconds is not None:
        duration = max(1, round(cue.duration_seconds * fps))
    if duration is None and (phase != "loop" or (cue.at_end and request.start is None)):
        duration = max(1, min(round(natural_seconds * fps), math.ceil(frames / 2)))
    if request.start is not None:
        start = request.start
    elif cue.start_seconds is not None:
        start = min(round(cue.start_seconds * fps), frames - 1)
    elif cue.start_share is not None:
        start = min(round(cue.start_share * frames), frames - 1)
    elif cue.at_end or phase == "out":  # an exit, unless told otherwise, closes the animation
        start = max(0, frames - (duration or 1))
    else:
        start = 0
    if duration is not None:
        duration = max(1, min(duration, frames - start))
    return Timing(phase, start, duration)


def motion_frames(timing: Timing, frames: int) -> int:
    """How many frames of motion an engine draws for `timing` on a timeline of `frames`."""
    return timing.duration if timing.duration is not None else max(1, frames - timing.start)


def seconds(count: int, fps: int) -> str:
    """Frames said in seconds, the way the editor shows them: '0.5 s'."""
    return f"{count / fps:.2f}".rstrip("0").rstrip(".") + " s"


def place_generated(static: np.ndarray, motion: Sequence[np.ndarray] | np.ndarray, request: Timed,
                    notes: list[str], loop_mode: str = "loop") -> tuple[TimedSource, Timing]:
    """A generated motion (its frame 0 the static layer) placed on the request's timeline.

    The generative engines make motions that start on the layer as it stands, so a loop or
    an exit plays them as they are; an entrance must end on the static layer, so it plays
    the motion backwards (and says so). Longer motions are cut to the timing's duration.
    """
    timing = resolve_timing(request, natural_seconds=len(motion) / request.fps)
    frames = np.array(motion[: motion_frames(timing, request.frames)], dtype=np.uint8, copy=True)
    frames[0] = static
    if timing.phase == "in":
        frames = np.ascontiguousarray(frames[::-1])
        notes.append("An entrance ends on the layer as it stands, so the generated motion plays backwards.")
    return TimedSource(request.frames, static, ArraySource(frames), timing, loop_mode), timing
