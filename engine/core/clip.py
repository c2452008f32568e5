"""An animated layer: what every motion engine returns and every renderer and exporter reads.

It lives in core, beside Poster, because the compositor, the exporters and the project
file all read clips without caring which engine (presets, i2v, dmdl) made them.

A clip never has to hold its whole video in memory: its frames come from a FrameSource,
which may be an array (small clips, generative engines), a renderer that draws frames on
demand (the preset engine) or a file read lazily (a saved clip). Readers ask for one frame
at a time with `frame(i)` or `iter_frames()`; a 26 MP poster's clip of 48 frames would be
5 GB as one array.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, runtime_checkable

import numpy as np

from engine.core.poster import Box, Layer, PosterError

#: How a clip continues when the timeline is longer than the clip: start again, play
#: backwards then forwards again, or play once and hold the last frame.
LOOP_MODES = ("loop", "pingpong", "hold")

#: Frames a lazy source renders together: about this many bytes per chunk (at least one
#: frame). Rendering frames in runs is what makes the preset sampler fast; a bound keeps a
#: print-size clip from holding more than a frame or two.
CHUNK_BYTES = 16 << 20
MAX_CHUNK_FRAMES = 12


def clip_index(timeline_index: int, clip_frames: int, loop_mode: str = "loop") -> int:
    """The clip frame shown at `timeline_index`: the one place the loop modes are defined.

    loop: 0 1 2 0 1 2 …; pingpong: 0 1 2 1 0 1 2 …; hold: 0 1 2 2 2 …
    """
    if clip_frames < 1:
        raise PosterError("A layer clip needs at least one frame.")
    if timeline_index < 0:
        raise PosterError(f"Frame {timeline_index} is before the start of the timeline.")
    if loop_mode == "loop":
        return timeline_index % clip_frames
    if loop_mode == "hold":
        return min(timeline_index, clip_frames - 1)
    if loop_mode == "pingpong":
        if clip_frames == 1:
            return 0
        period = 2 * clip_frames - 2
        step = timeline_index % period
        return step if step < clip_frames else period - step
    raise PosterError(f"Loop mode must be one of {', '.join(LOOP_MODES)}; got {loop_mode!r}.")


#: When a motion plays on the timeline: an entrance that ends on the static layer, a loop
#: that starts on it, or an exit that starts on it and ends wherever the motion goes.
PHASES = ("in", "loop", "out")


@dataclass(frozen=True)
class Timing:
    """Where a motion sits on the timeline: its `phase`, the frame it `start`s at and the
    frames its `duration` lasts (None: a loop runs to the end of the timeline).

    This is the timing as it played (frames, resolved): a clip carries it so previews,
    exports and the bundle manifest say the same thing. The designer's request, which
    may leave parts to the prompt, is the Motion's (engine.core.project).
    """

    phase: str = "loop"
    start: int = 0
    duration: int | None = None

    def __post_init__(self) -> None:
        check_phase(self.phase)
        if isinstance(self.start, bool) or not isinstance(self.start, int) or self.start < 0:
            raise PosterError(f"A motion's start must be a frame number of 0 or more, got {self.start!r}.")
        if self.duration is not None and (isinstance(self.duration, bool) or not isinstance(self.duration, int)
                                          or self.duration < 1):
            raise PosterError(f"A motion's duration must be at least one frame, got {self.duration!r}.")
        if self.duration is None and self.phase != "loop":
            raise PosterError(f"An '{self.phase}' motion needs a duration in frames.")

    def fields(self) -> dict[str, Any]:
        """phase, start and duration as the manifests name them."""
        return {"phase": self.phase, "start": self.start, "duration": self.duration}

    @classmethod
    def of(cls, fields: Any) -> "Timing":
        """The timing in a manifest entry or a dict with phase, start and duration (absent: a loop from 0)."""
        get = fields.get if isinstance(fields, dict) else (lambda name, default=None: getattr(fields, name, default))
        return cls(get("phase", "loop") or "loop", int(get("start", 0) or 0), get("duration", None))


def timed_index(timeline_index: int, timing: Timing, motion_frames: int, loop_mode: str = "loop") -> int | None:
    """The motion frame shown at `timeline_index`, or None for the static layer: the one
    place the phases are defined (the loop modes are `clip_index`).

    A motion's own frames are 0 … motion_frames-1. "in" ends on the static layer (its last
    frame is it): before `start` the layer shows the entrance's first frame (hidden, for a
    pop-in), afterwards the static layer. "loop" starts on the static layer (frame 0 is
    it): static before `start`, looping per `loop_mode` for `duration` frames, static
    again after. "out" starts on the static layer: static before `start`, then the motion
    once, then its last frame held (gone, for a fade-out).
    """
    if motion_frames < 1:
        raise PosterError("A motion needs at least one frame.")
    local = timeline_index - timing.start
    if timing.phase == "in":
        return None if local >= motion_frames - 1 else max(local, 0)
    if local < 0:
        return None
    if timing.phase == "out":
        return min(local, motion_frames - 1)
    if timing.duration is not None and local >= timing.duration:
        return None
    return clip_index(local, motion_frames, loop_mode)


def check_phase(phase: str) -> str:
    if phase not in PHASES:
        raise PosterError(f"A motion's phase must be one of {', '.join(PHASES)}; got {phase!r}.")
    return phase


def check_loop_mode(loop_mode: str) -> str:
    if loop_mode not in LOOP_MODES:
        raise PosterError(f"Loop mode must be one of {', '.join(LOOP_MODES)}; got {loop_mode!r}.")
    return loop_mode


@runtime_checkable
class FrameSource(Protocol):
    """Where a clip's frames come from. `frame(k)` is clip frame k, 0 <= k < count.

    The array returned may be shared (a cache entry, the held static frame): callers read
    it and never write to it.
    """

    count: int
    height: int
    width: int

    def frame(self, index: int) -> np.ndarray: ...


class ArraySource:
    """Frames already in memory: (T, H, W, 4) uint8."""

    def __init__(self, frames: np.ndarray) -> None:
        if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 4:
            raise PosterError("A layer clip must hold RGBA uint8 frames.")
        self.frames = frames
        self.count, self.height, self.width = (int(n) for n in frames.shape[:3])

    def frame(self, index: int) -> np.ndarray:
        return self.frames[index]


class TimedSource:
    """A motion placed on the timeline: `count` timeline frames, each the static layer
    (`still`, shared) or a frame of `motion`, as `timed_index` says for `timing`."""

    def __init__(self, count: int, still: np.ndarray, motion: FrameSource, timing: Timing,
                 loop_mode: str = "loop") -> None:
        if count < 1:
            raise PosterError("A layer clip needs at least one frame.")
        if (motion.height, motion.width) != still.shape[:2]:
            raise PosterError("A motion's frames must be the size of its static layer.")
        self.count = int(count)
        self.height, self.width = int(still.shape[0]), int(still.shape[1])
        self.still = still.view()
        self.still.flags.writeable = False
        self.motion = motion
        self.timing = timing
        self.loop_mode = check_loop_mode(loop_mode)

    def frame(self, index: int) -> np.ndarray:
        k = timed_index(index, self.timing, self.motion.count, self.loop_mode)
        return self.still if k is None else self.motion.frame(k)


@dataclass(frozen=True)
class SequenceStep:
    """One step of a sequence as it played ("pops in, then floats" has two): its preset,
    settings and timing, a fade ("in" / "out") played with it over the same span, and a
    second motion (`together`, with its settings) played at the same time ("bobs and spins").

    A clip carries its steps so the project file, the bundle manifest and the timeline
    can say what plays when; the frames are already placed (SequenceSource)."""

    preset: str | None
    timing: Timing
    params: dict[str, Any] = field(default_factory=dict)
    fade: str = ""
    together: str = ""
    together_params: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """The step as the manifests name it: preset, params, fade, phase, start, duration,
        and the motion played with it (only when there is one, so older readers still read it)."""
        together = {"together": self.together, "together_params": dict(self.together_params)} if self.together else {}
        return {"preset": self.preset, "params": dict(self.params), "fade": self.fade, **together,
                **self.timing.fields()}

    @classmethod
    def of(cls, fields: Any) -> "SequenceStep":
        """The step in a manifest entry or a dict of `fields()`."""
        get = fields.get if isinstance(fields, dict) else (lambda name, default=None: getattr(fields, name, default))
        return cls(get("preset"), Timing.of(fields), dict(get("params") or {}), get("fade") or "",
                   get("together") or "", dict(get("together_params") or {}))


class SequenceSource:
    """Motions placed one after another on the timeline: a sequence prompt's steps.

    Inside a step's span the frame is that step's, as `timed_index` places it. Around the
    steps the layer rests as the phases leave it: before an opening entrance it shows
    the entrance's first frame (hidden, for a pop-in); after an exit, the exit's last
    frame (gone) until a later step plays; otherwise the static layer (`still`, shared),
    bit for bit. Each motion is its own lazy source, so nothing holds the whole clip.
    """

    def __init__(self, count: int, still: np.ndarray, parts: "list[tuple[FrameSource, Timing]]") -> None:
        if count < 1:
            raise PosterError("A layer clip needs at least one frame.")
        if not parts:
            raise PosterError("A sequence needs at least one step.")
        cursor = 0
        for motion, timing in parts:
            if (motion.height, motion.width) != still.shape[:2]:
                raise PosterError("A motion's frames must be the size of its static layer.")
            if timing.duration is None or timing.start < cursor or timing.start + timing.duration > count:
                raise PosterError("The steps of a sequence must follow one another inside the timeline, "
                                  f"each with a duration; got {[t for _, t in parts]} on {count} frames.")
            cursor = timing.start + timing.duration
        self.count = int(count)
        self.height, self.width = int(still.shape[0]), int(still.shape[1])
        self.still = still.view()
        self.still.flags.writeable = False
        self.parts = list(parts)

    def frame(self, index: int) -> np.ndarray:
        before = None  # the last step that ended at or before `index`
        for motion, timing in self.parts:
            if index < timing.start:
                break
            if index < timing.start + timing.duration:
                k = timed_index(index, timing, motion.count)
                return self.still if k is None else motion.frame(k)
            before = (motion, timing)
        if before is None:  # before the first step: hidden if it is an entrance
            motion, timing = self.parts[0]
            k = timed_index(index, timing, motion.count)
            return self.still if k is None else motion.frame(k)
        motion, timing = before
        return motion.frame(motion.count - 1) if timing.phase == "out" else self.still


#: Renders clip frames [start, stop) into `out` (stop - start, H, W, 4).
ChunkRenderer = Callable[[int, int, np.ndarray], None]


class LazySource:
    """Frames rendered on demand in fixed chunks, with a small cache of recent chunks.

    Chunks are aligned (chunk k is frames [k·n, (k+1)·n)), so frame i is always rendered
    in the same company and comes out bit for bit the same whatever order frames are
    asked in. Frames before `hold` are the `still` frame itself, never rendered (where a
    motion sits on the timeline is TimedSource's job). Safe to read from several threads (the
    editor's preview and an export may read one clip at once); they take turns rendering.
    """

    def __init__(
        self, count: int, still: np.ndarray, render: ChunkRenderer, *, hold: int = 1, cache_chunks: int = 2
    ) -> None:
        if count < 1:
            raise PosterError("A layer clip needs at least one frame.")
        self.count = int(count)
        self.height, self.width = int(still.shape[0]), int(still.shape[1])
        self.still = still.view()  # a read-only view: the caller's array stays theirs
        self.still.flags.writeable = False
        self.hold = max(0, min(int(hold), self.count))
        self._render = render
        frame_bytes = max(1, self.height * self.width * 4)
        self.chunk = max(1, min(MAX_CHUNK_FRAMES, CHUNK_BYTES // frame_bytes))
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_chunks = max(1, cache_chunks)
        self._lock = threading.Lock()

    def frame(self, index: int) -> np.ndarray:
        if index < self.hold:
            return self.still
        moving = index - self.hold
        key = moving // self.chunk
        with self._lock:
            block = self._cache.get(key)
            if block is None:
                start = key * self.chunk
                stop = min(start + self.chunk, self.count - self.hold)
                block = np.empty((stop - start, self.height, self.width, 4), dtype=np.uint8)
                self._render(start, stop, block)
                block.flags.writeable = False
                self._cache[key] = block
                while len(self._cache) > self._cache_chunks:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
        return block[moving - key * self.chunk]


class LayerClip:
    """An animated layer: straight-alpha RGBA frames of (box.h, box.w, 4) uint8 in box space.

    Frame 0 equals the static layer placed in its box, unless the clip is an entrance
    (`timing.phase` "in": hidden until it enters). `messages` carries notes for the
    designer (e.g. "unknown prompt, used float"). `frames` may be a (T, H, W, 4) array or
    any FrameSource. `loop_mode` (LOOP_MODES) says what the clip shows on a timeline
    longer than itself. `timing` is when its motion plays on the timeline, already in its
    frames (see TimedSource): it is carried so the manifest and the editor can say so.
    A sequence ("pops in, then floats") lists its `steps` (SequenceStep); then `preset`,
    `params` and the phase of `timing` are its first step's and `timing` spans the
    whole sequence, so code that reads one motion reads a true, if partial, answer.
    """

    def __init__(
        self,
        layer_id: int,
        box: Box,
        frames: np.ndarray | FrameSource,
        engine: str = "presets",
        preset: str | None = None,
        params: dict[str, Any] | None = None,
        messages: list[str] | None = None,
        loop_mode: str = "loop",
        timing: Timing | None = None,
        steps: "tuple[SequenceStep, ...] | list[SequenceStep]" = (),
    ) -> None:
        self.layer_id = layer_id
        self.box = box
        self.source: FrameSource = ArraySource(frames) if not isinstance(frames, FrameSource) else frames
        self.engine = engine
        self.preset = preset
        self.params = {} if params is None else params
        self.messages = [] if messages is None else messages
        self.loop_mode = check_loop_mode(loop_mode)
        self.timing = Timing() if timing is None else timing
        self.steps = tuple(steps)
        if (self.source.height, self.source.width) != (box.h, box.w):
            raise PosterError(
                f"Clip frames are {self.source.width}×{self.source.height} but the motion box is "
                f"{box.w}×{box.h}."
            )

    def __repr__(self) -> str:
        return (f"LayerClip(layer_id={self.layer_id}, box={self.box}, frame_count={self.frame_count}, "
                f"engine={self.engine!r}, preset={self.preset!r}, loop_mode={self.loop_mode!r}, timing={self.timing}"
                + (f", steps={[step.preset for step in self.steps]}" if self.steps else "") + ")")

    def with_source(self, source: FrameSource, box: Box | None = None) -> "LayerClip":
        """The same clip (layer, settings, timing) reading its frames from `source`
        (at `box`, for a scaled copy)."""
        return LayerClip(self.layer_id, self.box if box is None else box, source, engine=self.engine,
                         preset=self.preset, params=self.params, messages=self.messages,
                         loop_mode=self.loop_mode, timing=self.timing, steps=self.steps)

    def steps_fields(self) -> dict[str, Any]:
        """`{"steps": [...]}` for a manifest entry, or nothing for a clip of one motion (so
        its entry stays as it was)."""
        return {"steps": [step.fields() for step in self.steps]} if self.steps else {}

    @property
    def frame_count(self) -> int:
        """The clip's own length (the timeline may be longer: see `loop_mode`)."""
        return int(self.source.count)

    def frame(self, index: int) -> np.ndarray:
        """The frame shown at timeline index `index`, following the clip's loop mode.

        The array may be shared with a cache: read it, copy it to keep it, never write to it.
        """
        return self.source.frame(clip_index(index, self.frame_count, self.loop_mode))

    def iter_frames(self, count: int | None = None) -> Iterator[np.ndarray]:
        """The frames of timeline indices 0 … count-1 (default: the clip's own length)."""
        for index in range(self.frame_count if count is None else count):
            yield self.frame(index)

    @property
    def frames(self) -> np.ndarray:
        """The whole clip as one (T, H, W, 4) array.

        Materialises every frame: meant for tests, training data and small clips. Renderers
        and exporters read `frame(i)` / `iter_frames()` so a print-size clip never has to
        fit in memory at once.
        """
        if isinstance(self.source, ArraySource):
            return self.source.frames
        return np.stack([self.source.frame(k) for k in range(self.frame_count)])


def place_static(layer: Layer, box: Box) -> np.ndarray:
    """The static layer drawn into an empty (box.h, box.w, 4) canvas: every clip's frame 0."""
    if not box.contains(layer.box):
        raise PosterError(f"The motion box of '{layer.name}' must contain the layer.")
    out = np.zeros((box.h, box.w, 4), dtype=np.uint8)
    dx, dy = layer.box.x - box.x, layer.box.y - box.y
    out[dy : dy + layer.box.h, dx : dx + layer.box.w] = layer.pixels
    return out
