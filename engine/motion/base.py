"""The Animator interface: layers and prompts in, transparent clips out, one call per batch.

Both motion engines (the procedural presets and the DMDL diffusion model) implement this,
so the editor, the command line and the exporters never care which one made a clip. One
call animates one layer, several layers jointly (each with its own prompt: the paper's
joint mode) or a group under one shared prompt; it reports every step to `progress` and
stops between steps when `cancel` is set, so a long generation never has to run out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

from engine.core.budget import work_limits
from engine.core.clip import LayerClip, check_phase
from engine.core.poster import Box, Layer, LayerKind, PosterError
from engine.motion.params import ParamSpec

#: progress(done, total, message): called after every step of an engine call.
Progress = Callable[[int, int, str], None]


@runtime_checkable
class CancelToken(Protocol):
    """Anything with `is_set()`; a threading.Event qualifies."""

    def is_set(self) -> bool: ...


class Cancelled(PosterError):
    """The designer stopped the call; raised between steps, so nothing half-made is returned."""

    def __init__(self, message: str = "Animation cancelled: the layers keep their previous clips.") -> None:
        super().__init__(message)


def step(progress: Progress | None, cancel: CancelToken | None, done: int, total: int, message: str) -> None:
    """Report one finished step, then stop here if the call was cancelled (the engines' one checkpoint)."""
    if progress is not None:
        progress(done, total, message)
    if cancel is not None and cancel.is_set():
        raise Cancelled()


@dataclass
class MotionRequest:
    """Everything an engine needs to animate one layer.

    `box` is the motion box in poster pixels: the region the moving layer may occupy. It
    always contains the layer's static box, so frame 0 can show the layer exactly in place.
    `params` are the engine's own parameters (JSON values, checked against the engine's
    `param_specs`; the preset engine reads the preset from `params["preset"]`, absent or
    "auto" meaning "chosen from the prompt"); engines ignore nothing silently.

    `phase`, `start` and `duration` (frames) say when the motion plays on the timeline of
    `frames` frames (engine.core.clip.timed_index); None leaves it to the prompt's words,
    else a loop from frame 0 to the end (engine.motion.timing.resolve_timing).
    """

    layer: Layer
    box: Box
    prompt: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    frames: int = 49
    fps: int = 24
    seed: int = 0
    phase: str | None = None
    start: int | None = None
    duration: int | None = None
    #: The poster's canvas, when the caller knows it (the editor and the command line do):
    #: whether the layer covers the poster is then decided once, with it, exactly as the
    #: motion panel and the planner decide it (engine.motion.presets.stage.is_full_bleed).
    canvas: Box | None = None

    def __post_init__(self) -> None:
        self.box = Box.from_any(self.box)
        self.canvas = None if self.canvas is None else Box.from_any(self.canvas)
        if not self.box.contains(self.layer.box):
            raise PosterError(
                f"The motion box of '{self.layer.name}' {self.box.as_tuple()} must contain the "
                f"layer itself {self.layer.box.as_tuple()}: make the box larger."
            )
        if self.frames < 1:
            raise PosterError("An animation needs at least one frame.")
        if self.fps < 1:
            raise PosterError("Frames per second must be at least 1.")
        if self.phase is not None:
            check_phase(self.phase)
        if self.start is not None and self.start < 0:
            raise PosterError("A motion cannot start before the first frame: give a start of 0 or more.")
        if self.duration is not None and self.duration < 1:
            raise PosterError("A motion must last at least one frame: give a longer duration.")
        limits = work_limits()
        limits.check_timeline(self.fps, self.frames)
        limits.check_work(self.box.w, self.box.h, self.frames, f"Animating '{self.layer.name}'")


@runtime_checkable
class Animator(Protocol):
    """A motion engine: one long-lived instance per process, from engine.motion.registry."""

    name: str
    label: str  # what the editor's engine picker shows

    def available(self) -> tuple[bool, str]:
        """Whether the engine can run here, and if not, a sentence saying why."""
        ...

    def param_specs(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> list[ParamSpec]:
        """The parameters that apply to these settings (the preset engine's depend on the
        preset, which for a layer covering the poster, `full_bleed`, is one that moves in place)."""
        ...

    def resolve_params(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> tuple[dict[str, Any], list[str]]:
        """The checked values the next `animate` will use (defaults < prompt < `params`), and notes."""
        ...

    def animate(
        self,
        requests: Sequence[MotionRequest],
        *,
        group_prompt: str | None = None,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> list[LayerClip]:
        """One clip per request, in order. Without `group_prompt` every layer follows its own
        prompt (one layer, or several jointly); with it they move together under that prompt."""
        ...

    def release(self) -> None:
        """Drop loaded models; the next call loads them again."""
        ...
