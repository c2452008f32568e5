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
from engine.core.poster import PosterError

#: How long an entrance or exit lasts when nothing says: about a designer's "pop" or "fade".
NATURAL_SECONDS = 0.75
#: The fewest frames a step of a sequence plays in: fewer would be a flash, not a motion.
MIN_STEP_FRAMES = 3


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


def resolve_sequence(request: Timed, cues: Sequence[TimingCue], *, natural_seconds: float = NATURAL_SECONDS,
                     least: int = MIN_STEP_FRAMES) -> list[Timing]:
    """The timing of each step of a sequence, one after another inside the designer's window.

    The window is what the panel's Start and Duration set, else the whole timeline. A
    step's own words win ("over 1 second", "at the end", "after 2 seconds", counted from
    the window's start); an entrance or exit without them lasts `natural_seconds` (shorter
    when those would leave the loops less than half the window); an exit
    that closes the sequence ends the window; loops share what is left between their
    neighbours. Steps never overlap and never leave the window (an explicit start too
    early for the steps before it is moved after them); each gets at least `least`
    frames, and a window too short for that is refused with a sentence saying so.
    """
    frames, fps = request.frames, request.fps
    begin = min(request.start or 0, frames - 1)
    end = frames if request.duration is None else min(frames, begin + request.duration)
    window, count = end - begin, len(cues)
    if window < count * least:
        raise PosterError(
            f"The animation is {seconds(window, fps)} ({window} frames) long, too short for {count} steps one after "
            f"another: each needs at least {least} frames. Make the timeline or the Duration longer, or write fewer steps.")
    phases = [cue.phase or "loop" for cue in cues]
    natural = max(least, round(natural_seconds * fps))
    wants: list[int | None] = []
    for cue, phase in zip(cues, phases):
        if cue.duration_seconds is not None:
            wants.append(max(least, round(cue.duration_seconds * fps)))
        else:
            wants.append(natural if phase != "loop" or cue.at_end else None)
    loops = sum(want is None for want in wants)
    told = [cue.duration_seconds is not None for cue in cues]
    untold = [i for i, want in enumerate(wants) if want is not None and not told[i]]
    budget = window // 2 - sum(want for i, want in enumerate(wants) if told[i])
    if loops and untold and len(untold) * natural > budget:
        # entrances and exits of natural length leave the loops at least half the window:
        # "pops in, then floats, then flies away" on 2 s floats for 1 s, not a quarter of it
        share = max(least, budget // len(untold))
        wants = [share if i in untold else want for i, want in enumerate(wants)]
    fixed = sum(want for want in wants if want is not None)
    if fixed > window - loops * least:  # too long together: every fixed step gives up its share
        room = window - loops * least
        wants = [None if want is None else max(least, want * room // fixed) for want in wants]
    anchors: list[int | None] = []
    for index, (cue, phase, want) in enumerate(zip(cues, phases, wants)):
        if cue.start_seconds is not None:
            anchors.append(round(cue.start_seconds * fps))
        elif cue.start_share is not None:
            anchors.append(round(cue.start_share * window))
        elif cue.at_end or (phase == "out" and index == count - 1):
            anchors.append(window - (want or natural))
        else:
            anchors.append(None)

    def needs(after: int) -> int:
        """The frames the steps after `after` need at least."""
        return sum(want or least for want in wants[after + 1:])

    timings, cursor = [], 0
    for index, (phase, want, anchor) in enumerate(zip(phases, wants, anchors)):
        start = cursor if anchor is None else max(cursor, anchor)
        start = min(start, window - (want or least) - needs(index))
        if want is None:  # a loop fills up to the next step that has a place, sharing with loops on the way
            later = next((i for i in range(index + 1, count) if anchors[i] is not None), count)
            barrier = window if later == count else max(anchors[later], start)
            between = wants[index + 1:later]
            reserved = sum(w for w in between if w is not None)
            sharing = 1 + sum(w is None for w in between)
            want = max(least, (barrier - start - reserved) // sharing)
        duration = max(least, min(want, window - start - needs(index)))
        timings.append(Timing(phase, begin + start, duration))
        cursor = start + duration
    return timings


def motion_frames(timing: Timing, frames: int) -> int:
    """How many frames of motion an engine draws for `timing` on a timeline of `frames`."""
    return timing.duration if timing.duration is not None else max(1, frames - timing.start)


def times(count: int) -> str:
    """A repeat count said as the notes say it: 'once', 'twice', '3 times'."""
    return {1: "once", 2: "twice"}.get(int(count), f"{int(count)} times")


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
