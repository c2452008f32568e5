"""The timeline under the poster preview: its rows built from the state, its edits read back.

The browser component (app/static/timeline.js) only draws what `tracks_value` says and
reports drags as frame numbers; everything a row means (which timing the next Animate
uses, which layers may be dragged, what a drag may do) is decided here, so the rows, the
motion panel's Phase/Start/Duration fields and the project never disagree. An edit goes
through the same handler as typing the numbers (app.handlers.set_timing -> edit_motion).
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.motion_panel import step_timings_in_use, timing_in_use
from app.state import EditorState
from engine.core.clip import Timing
from engine.core.poster import Box, Layer, PosterError
from engine.core.project import Motion
from engine.motion.timing import seconds

SCRIPT = Path(__file__).resolve().parent / "static" / "timeline.js"
STYLE = Path(__file__).resolve().parent / "static" / "timeline.css"


@dataclass(frozen=True)
class Segment:
    """One step of a sequence's bar: its preset and the frames it plays (start … start+span-1)."""

    preset: str
    phase: str
    start: int
    span: int


@dataclass(frozen=True)
class Track:
    """One row: a layer's motion on the timeline, in frames.

    `start` and `span` are where the bar is drawn (the motion plays frames start …
    start+span-1; a loop without a duration runs to the end: `open_end`). `start_set` /
    `duration_set` say whether the designer chose them (else the prompt did). `follows`
    names the layer a linked layer moves with: its bar is its owner's and cannot be dragged.
    `stale`: the layer's clip was made for other timing (Animate again to apply).
    `segments`: a sequence's steps inside the bar (empty for one motion); the bar spans
    them all, and dragging it moves or trims the window they are laid out in.
    """

    layer_id: int
    name: str
    phase: str
    start: int
    span: int
    open_end: bool
    start_set: bool
    duration_set: bool
    animated: bool
    stale: bool
    active: bool
    follows: str | None = None
    segments: tuple[Segment, ...] = ()

    @property
    def editable(self) -> bool:
        return self.follows is None


#: Timings already read, by everything that decides them: reading a prompt costs ~5 ms, and
#: the rows are rebuilt on every edit for every layer with a motion.
_READ: OrderedDict[tuple, tuple[Timing, tuple[Segment, ...]]] = OrderedDict()
_READ_MAX = 1024


def _timing(layer: Layer, motion: Motion, frames: int, fps: int, canvas: Box) -> tuple[Timing, tuple[Segment, ...]]:
    """timing_in_use and a sequence's steps, remembered (a pure function of these values)."""
    key = (layer.kind, layer.box, canvas, motion.engine, motion.prompt, json.dumps(motion.params, sort_keys=True,
           default=str), motion.phase, motion.start, motion.duration, frames, fps)
    read = _READ.get(key)
    if read is None:
        try:
            steps = step_timings_in_use(layer, motion, frames, fps, canvas)
        except PosterError:  # too short for its steps: the bar shows the whole, the panel says why
            steps = []
        read = _READ[key] = (timing_in_use(layer, motion, frames, fps, canvas), _segments(steps))
        while len(_READ) > _READ_MAX:
            _READ.popitem(last=False)
    return read


def _segments(steps: Any) -> tuple[Segment, ...]:
    """(preset, Timing) pairs or a clip's SequenceSteps as bar segments."""
    pairs = [(step.preset, step.timing) if hasattr(step, "timing") else step for step in steps]
    return tuple(Segment(str(preset), timing.phase, timing.start, timing.duration or 1) for preset, timing in pairs)


def tracks(state: EditorState) -> list[Track]:
    """A row per layer with a motion set or a clip, top layer first (as the layer list)."""
    poster = state.poster
    if poster is None:
        return []
    frames, fps = state.frames, state.fps
    rows = []
    for layer in poster.layers[::-1]:
        clip = state.clips.get(layer.id)
        owner = state.project.owner_of(layer.id)
        if state.has_motion(layer.id):
            motion = state.motion(layer.id)
            timing, segments = _timing(layer, motion, frames, fps, poster.canvas)
            start_set, duration_set, follows = motion.start is not None, motion.duration is not None, None
        elif clip is not None:  # made by following its owner (or left from an earlier prompt)
            timing, start_set, duration_set = clip.timing, False, False
            segments = _segments(clip.steps) if len(clip.steps) > 1 else ()
            follows = state.layer(owner).name if owner is not None else None
        else:
            continue
        start = min(timing.start, frames - 1)
        span = frames - start if timing.duration is None else max(1, min(timing.duration, frames - start))
        stale = clip is not None and (clip.frame_count != frames or clip.timing != timing)
        rows.append(Track(layer_id=layer.id, name=layer.name, phase=timing.phase, start=start, span=span,
                          open_end=timing.duration is None, start_set=start_set, duration_set=duration_set,
                          animated=clip is not None, stale=stale, active=layer.id == state.active,
                          follows=follows, segments=segments))
    return rows


def tracks_value(state: EditorState) -> dict[str, Any]:
    """The component's value: the whole animation's fps and length, and the rows."""
    rows = [{**asdict(row), "editable": row.editable} for row in tracks(state)]
    return {"fps": state.fps, "frames": state.frames, "rows": rows}


@dataclass(frozen=True)
class TimingEdit:
    """A drag on the timeline: the layer's new start and, when an end moved, its duration
    (None: the duration is left as it is, e.g. a loop that runs to the end)."""

    layer_id: int
    start: int
    duration: int | None = None


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PosterError(f"The timeline sent a {what} that is not a number ({value!r}); drag the bar again.") from None
    if not math.isfinite(number) or not number.is_integer():
        raise PosterError(f"The timeline sent a {what} that is not a whole frame ({value!r}); drag the bar again.")
    return int(number)


def parse_edit(state: EditorState, message: Any) -> TimingEdit:
    """The browser's edit message ({"layer_id", "start", "duration"?}, frames), checked
    against the open poster and the timeline: an unknown or linked layer, a start before
    the first frame or a bar reaching past the end is a PosterError saying what to do."""
    if state.poster is None:
        raise PosterError("Open a poster first.")
    if not isinstance(message, dict):
        raise PosterError("The timeline sent an edit the editor cannot read; drag the bar again.")
    layer_id = _whole(message.get("layer_id"), "layer")
    row = track_of(state, layer_id)
    if row is None:
        raise PosterError("That layer is not on the timeline any more; give it a motion prompt first.")
    if not row.editable:
        raise PosterError(f"{row.name} moves with {row.follows}: drag {row.follows}'s bar instead "
                          "(or unlink it in the motion panel).")
    start = _whole(message.get("start"), "start")
    frames = state.frames
    if start < 0:
        raise PosterError(f"{row.name} cannot start before the first frame: drag its bar to 0 or later.")
    if start >= frames:
        raise PosterError(f"{row.name} must start before the end of the animation (frame {frames - 1}).")
    duration = message.get("duration")
    if duration is not None:
        duration = _whole(duration, "duration")
        if duration < 1:
            raise PosterError(f"{row.name}'s motion must last at least one frame.")
        if start + duration > frames:
            raise PosterError(f"{row.name}'s motion would end after the animation's {frames} frames: "
                              "shorten it or lengthen the animation.")
    elif not row.open_end and start + row.span > frames:
        raise PosterError(f"{row.name}'s motion ({row.span} frames) would end after the animation's {frames} "
                          f"frames: start it at frame {frames - row.span} or earlier.")
    return TimingEdit(layer_id=layer_id, start=start, duration=duration)


def track_of(state: EditorState, layer_id: int) -> Track | None:
    """The layer's row, or None when it is not on the timeline."""
    return next((row for row in tracks(state) if row.layer_id == int(layer_id)), None)


def timing_sentence(row: Track, fps: int) -> str:
    """"Title plays (in) from 0.25 s (frame 3) for 0.5 s (6 frames).", for the status line."""
    lasting = "to the end" if row.open_end else f"for {seconds(row.span, fps)} ({row.span} frames)"
    return f"{row.name} plays ({row.phase}) from {seconds(row.start, fps)} (frame {row.start}) {lasting}."
