"""The procedural preset engine: the embedded default Animator that runs on any CPU.

A request names a preset in `params["preset"]`, or leaves it "auto" and gives a prompt
that maps to one (engine.motion.presets.prompts), or neither (then a sensible default by
layer kind). The chosen preset turns its parameters
into a FramePlan (engine.motion.presets.transforms / warps / reveal) which the sampler renders in
premultiplied alpha. The motion is placed on the timeline by its timing (phase, start,
duration: engine.motion.timing): a loop's first frame and an entrance's last frame are the
static layer placed in the motion box, bit for bit, and so is every frame the timing holds
it (engine.core.clip.timed_index). An entrance or exit plays its preset once over its
duration (catalog.Preset.span), never a loop that blinks the layer away. The one exception
is drawn over the layer, not made of it: pre-rolled particles are already falling on a
loop's first frame (engine.motion.presets.particles).
"""

from __future__ import annotations

import difflib
from typing import Any, Mapping, Sequence

import numpy as np

from engine.core.clip import LayerClip, LazySource, TimedSource, Timing, place_static
from engine.motion.base import CancelToken, MotionRequest, Progress, step
from engine.motion.presets.easing import delayed
from engine.motion.timing import TimingCue, motion_frames, resolve_timing, seconds
from engine.motion.params import ParamSpec
from engine.motion.presets.catalog import PRESETS, Preset
from engine.motion.presets.prompts import default_preset, explain, params_from_prompt, preset_for_prompt, read_timing
from engine.motion.presets.resample import FramePlan, premultiplied, render_motion
from engine.motion.presets.stage import Stage, is_full_bleed, looks_full_bleed
from engine.core.poster import LayerKind, PosterError

__all__ = ["AUTO", "PRESET_PARAM", "PRESETS", "ParamSpec", "Preset", "PresetAnimator", "animate", "motion_times"]

PRESET_PARAM = "preset"  # the engine parameter that names the preset
AUTO = "auto"  # ... when the prompt (or the layer kind) should choose it


def motion_times(frames: int, start: int, loop: bool) -> np.ndarray:
    """Clip time u of each frame from `start` on; u = 0 is the rest pose.

    A loop spreads its frames over [0, 1) so the frame after the last would be frame 0
    again; a one-shot spreads them over [0, 1] so its last frame lands on the end pose.
    """
    count = frames - min(start, frames)
    if count <= 0:
        return np.zeros(0)
    if loop or count == 1:
        return np.arange(count) / count
    return np.arange(count) / (count - 1)


def phase_times(preset: Preset, params: dict[str, Any], phase: str, count: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Clip times of the `count` motion frames of `phase`, and the settings to build them with.

    A loop is the preset's loop (or one-shot, with `loop` off). An entrance or exit plays
    the preset's own stretch of its one-shot motion once (Preset.span), after the preset's
    delay if it has one (a group's stagger); a preset with no such stretch plays one
    cycle, which starts and ends on the static layer.
    """
    if phase == "loop":
        return motion_times(count, 0, params.get("loop", True)), params
    build = {**params, **preset.phase_params.get(phase, {})}
    s = np.linspace(0.0, 1.0, count) if count > 1 else np.array([0.0 if phase == "in" else 1.0])
    if preset.phase_is_delay:
        s, build["phase"] = delayed(s, params.get("phase", 0.0)), 0.0
    span = preset.span(phase)
    if span is None:
        return s, build
    build["loop"] = False
    if "cycles" in build:
        build["cycles"] = 1
    begin, end = span
    return begin + (end - begin) * s, build


def _lookup(name: str) -> Preset:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key in PRESETS:
        return PRESETS[key]
    close = difflib.get_close_matches(key, list(PRESETS), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise PosterError(f"There is no motion preset called '{name}'.{hint} Presets: {', '.join(PRESETS)}.")


def preset_spec() -> ParamSpec:
    """The `preset` parameter: Auto (from the prompt) or one preset of the catalogue."""
    menu = sorted(PRESETS.values(), key=lambda preset: preset.label)
    return ParamSpec(
        "choice", AUTO, choices=(AUTO, *(p.name for p in menu)), name=PRESET_PARAM, label="Preset",
        choice_labels=("Auto (from the prompt)", *(p.label for p in menu)),
        help="Which procedural motion to use; auto picks it from the prompt.",
    )


def _preset_name(params: Mapping[str, Any] | None) -> str:
    """The preset named in `params` ("auto" when none); a clear error for an unknown one."""
    value = (params or {}).get(PRESET_PARAM)
    if value is None or str(value).strip().lower() in ("", AUTO):
        return AUTO
    return _lookup(str(value)).name


class PresetAnimator:
    """Closed-set procedural motions: instant, deterministic, identity-preserving."""

    name = "presets"
    label = "Presets (CPU, instant)"

    def available(self) -> tuple[bool, str]:
        return True, "Procedural presets run on any CPU, no model needed."

    def release(self) -> None:
        """Nothing is loaded: presets are code."""

    def param_specs(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> list[ParamSpec]:
        """`preset` first, then the parameters of the preset these settings use (under Auto:
        the one the prompt picks; on a layer covering the poster, the in-place one)."""
        preset, _, _ = self.choose(params, prompt=prompt, layer_kind=layer_kind, check=False, full_bleed=full_bleed)
        return [preset_spec(), *preset.params.values()]

    def resolve_params(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> tuple[dict[str, Any], list[str]]:
        """`preset` as given ("auto" stays auto) plus the chosen preset's checked values."""
        preset, values, notes = self.choose(params, prompt=prompt, layer_kind=layer_kind, full_bleed=full_bleed)
        return {PRESET_PARAM: _preset_name(params), **values}, notes

    def timing(self, request: MotionRequest, preset: Preset, values: dict[str, Any], prompt: str) -> Timing:
        """When this request's motion plays: what it sets, else what the prompt says (the
        preset's own phase when the prompt picked or named it), else a loop from frame 0."""
        cue, _ = read_timing(prompt, preset.name, values) if prompt.strip() else (TimingCue(), {})
        return resolve_timing(request, cue)

    def choose(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        check: bool = True, full_bleed: bool = False,
    ) -> tuple[Preset, dict[str, Any], list[str]]:
        """The preset and its checked values: defaults < prompt adverbs < explicit `params`.

        With `check=False` only the preset is resolved (parameter values are not checked),
        which is what listing the specs for a half-edited panel needs.
        """
        messages: list[str] = []
        prompt = (prompt or "").strip()
        explicit = {k: v for k, v in (params or {}).items() if k != PRESET_PARAM}
        name = _preset_name(params)
        if name != AUTO:
            preset = PRESETS[name]
            tuned = params_from_prompt(prompt, preset.name) if check else {}
            if check and prompt:  # a chosen or planned preset: still say what the prompt was understood as
                reading = explain(prompt, preset.name, layer_kind, full_bleed=full_bleed)
                messages.extend(m for m in (reading.message, reading.understood) if m)
        elif prompt:
            match = preset_for_prompt(prompt, layer_kind, full_bleed=full_bleed)
            preset, tuned = PRESETS[match.preset], match.params
            # The prompt decides the preset here, so settings kept for another reading of it
            # (the panel read "drift" as travel; this full-bleed layer pans) are left out, not refused.
            foreign = sorted(set(explicit) - set(preset.params))
            if foreign:
                explicit = {k: v for k, v in explicit.items() if k in preset.params}
                if check:
                    messages.append(f"'{preset.name}' has no {', '.join(foreign)} setting, so "
                                    f"{'that was' if len(foreign) == 1 else 'those were'} left out.")
            # say what was understood (motion, parameters, the words that chose them)
            messages.append(match.message or match.understood)
            if match.message and match.cue:
                messages.append(match.understood)
        else:
            preset, tuned = PRESETS[default_preset(layer_kind, full_bleed)], {}
            messages.append(f"No motion prompt or preset was given, so '{preset.name}' was used.")
        values = preset.validate({**tuned, **explicit}) if check else {}
        return preset, values, messages

    def animate(
        self,
        requests: Sequence[MotionRequest],
        *,
        group_prompt: str | None = None,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> list[LayerClip]:
        """Each layer after its own prompt, or (with `group_prompt`) all under one: the same
        preset and parameters for every layer, with phases `phase + i * stagger` so the layers
        move together or in a deliberate ripple (for one-shot presets the phase is a delay:
        each layer starts a little later). Progress after every layer; cancel between layers."""
        requests = list(requests)
        if not requests:
            raise PosterError("Pick at least one layer to animate.")
        if group_prompt is not None:
            jobs = self._group(requests, group_prompt)
        else:
            jobs = []
            for request in requests:
                preset, params, messages = self.choose(
                    request.params, prompt=request.prompt, layer_kind=request.layer.kind,
                    full_bleed=_full_bleed(request),
                )
                jobs.append((request, preset, params, messages, self.timing(request, preset, params, request.prompt)))
        clips = []
        step(None, cancel, 0, len(jobs), "")
        for index, (request, preset, params, messages, timing) in enumerate(jobs):
            clips.append(self._render(request, preset, params, messages, timing))
            step(progress, cancel, index + 1, len(jobs), f"Animated {request.layer.name} ({preset.name})")
        return clips

    def _group(self, requests: list[MotionRequest], prompt: str) -> list[tuple[MotionRequest, Preset, dict, list, Timing]]:
        lead = requests[0]
        kinds = {r.layer.kind for r in requests}
        kind = kinds.pop() if len(kinds) == 1 else None
        preset, params, messages = self.choose(
            lead.params, prompt=prompt, layer_kind=kind, full_bleed=all(_full_bleed(r) for r in requests)
        )
        overridden = [r.layer.name for r in requests[1:] if r.params and r.params != lead.params]
        if overridden:
            messages.append(
                f"A group shares one set of parameters, those of '{lead.layer.name}'; the different "
                f"parameters set on {', '.join(repr(n) for n in overridden)} were not used."
            )
        step_size = params.get("stagger", 0.0)
        jobs = []
        for i, request in enumerate(requests):
            layer_params = dict(params)
            if "phase" in layer_params:
                shifted = params["phase"] + i * step_size
                # a cycle wraps around; a delay must keep growing down the group (capped)
                layer_params["phase"] = min(shifted, 0.9) if preset.phase_is_delay else shifted % 1.0
            timed = MotionRequest(
                layer=request.layer, box=request.box, prompt=prompt,
                params={PRESET_PARAM: preset.name, **layer_params}, frames=request.frames, fps=request.fps,
                seed=lead.seed, phase=request.phase, start=request.start, duration=request.duration,
                canvas=request.canvas,
            )
            jobs.append((timed, preset, layer_params, list(messages), self.timing(timed, preset, params, prompt)))
        return jobs

    def _render(self, request: MotionRequest, preset: Preset, params: dict[str, Any], messages: list[str],
                timing: Timing) -> LayerClip:
        """A lazy clip: the preset's FramePlan is built now (cheap, and it carries the notes);
        its frames are resampled only when read (see LazySource), and placed on the
        timeline by `timing` (TimedSource)."""
        static = place_static(request.layer, request.box)
        count = motion_frames(timing, request.frames)
        times, build = phase_times(preset, params, timing.phase, count)
        stage = Stage.from_static(static, request.seed)
        if stage.is_empty:
            messages.append(f"Layer '{request.layer.name}' is fully transparent, so there is nothing to move.")
            source = LazySource(request.frames, static, _never, hold=request.frames)
        else:
            motion: FramePlan = preset.build(stage, build, times)
            motion.still = motion.still_frames().copy()
            # the ends the timing rule needs are the static layer by construction; keep them exact
            # (pre-rolled particles, drawn over the layer, are already falling on a loop's first frame)
            if timing.phase == "in" or motion.rests_at_start:
                motion.still[-1 if timing.phase == "in" else 0] = True
            messages.extend(note for note in motion.notes if note not in messages)
            moving = LazySource(count, static, _MotionChunks(static, motion), hold=0)
            # a loop over the whole timeline is its own placement: no wrapper to read through
            source = moving if count == request.frames and timing == Timing() else TimedSource(
                request.frames, static, moving, timing)
        if timing != Timing():
            messages.append(_when(timing, request.fps))
        return LayerClip(
            layer_id=request.layer.id, box=request.box, frames=source, engine=self.name,
            preset=preset.name, params=params, messages=messages, timing=timing,
        )


#: Keep the premultiplied float copy of a layer between chunks up to this size; a bigger
#: layer recomputes it per chunk rather than hold 4 bytes a channel for the whole clip.
_KEEP_PREMULTIPLIED_BYTES = 64 << 20


class _MotionChunks:
    """Renders chunks of a FramePlan for a LazySource (frame k of the source's moving part)."""

    def __init__(self, static: np.ndarray, motion: FramePlan) -> None:
        self.static = static
        self.motion = motion
        self._image = None

    def __call__(self, start: int, stop: int, out: np.ndarray) -> None:
        image = self._image
        if image is None:
            image = premultiplied(self.static)
            if image.numel() * image.element_size() <= _KEEP_PREMULTIPLIED_BYTES:
                self._image = image
        render_motion(self.static, self.motion, out=out, start=start, stop=stop, image=image)


def _when(timing: Timing, fps: int) -> str:
    """The timing in a sentence: "Plays as an entrance from 0.5 s, lasting 0.75 s."."""
    what = {"in": "an entrance", "out": "an exit", "loop": "a loop"}[timing.phase]
    lasting = f", lasting {seconds(timing.duration, fps)}" if timing.duration is not None else ", to the end"
    return f"Plays as {what} from {seconds(timing.start, fps)}{lasting}."


def _never(start: int, stop: int, out: np.ndarray) -> None:  # pragma: no cover - every frame is held
    raise AssertionError("a clip without motion has nothing to render")


def animate(request: MotionRequest) -> LayerClip:
    """Animate one layer with the preset engine (the `engine.animate` shortcut)."""
    from engine.motion.registry import get_engine

    return get_engine("presets").animate([request])[0]


def _full_bleed(request: MotionRequest) -> bool:
    """Whether the layer covers the poster: decided with the canvas when the request carries
    it (the editor and the command line), as the panel and the planner decide it; without
    one, the animator's guess from the motion box."""
    if request.canvas is not None:
        return is_full_bleed(request.layer.box, request.canvas)
    return looks_full_bleed(request.layer.box, request.box)
