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

A prompt naming steps one after another ("pops in, then floats") plays each step so, on
its own span (engine.motion.timing.resolve_sequence, engine.core.clip.SequenceSource);
a motion named with a fade ("spins while fading out") plays with the fade's opacity.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from engine.core.clip import LayerClip, LazySource, SequenceSource, SequenceStep, TimedSource, Timing, place_static
from engine.motion.base import CancelToken, MotionRequest, Progress, step
from engine.motion.presets.easing import delayed, ease
from engine.motion.timing import Timed, TimingCue, motion_frames, resolve_sequence, resolve_timing, seconds
from engine.motion.params import ParamSpec
from engine.motion.presets.catalog import PRESETS, Preset
from engine.motion.presets.compose import play_together
from engine.motion.presets.prompts import (default_preset, explain, params_from_prompt, preset_for_prompt, read_timing,
                                           step_text)
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


@dataclass(frozen=True)
class Step:
    """One motion to render: its preset, checked settings, what the words say about when
    it plays, a fade ("in" / "out") played with it over the same span, and a second rigid
    motion with its checked settings played at the same time ("bobs and spins")."""

    preset: Preset
    params: dict[str, Any]
    cue: TimingCue
    fade: str = ""
    together: tuple[Preset, dict[str, Any]] | None = None

    @property
    def together_fields(self) -> tuple[str, dict[str, Any]]:
        """(preset name, settings) of the motion played at the same time, as a clip records it."""
        return (self.together[0].name, dict(self.together[1])) if self.together else ("", {})


def step_plan(stage: Stage, step: Step, phase: str, count: int) -> FramePlan:
    """The FramePlan of one step's `count` frames in `phase`: its preset's, or with a
    motion played at the same time, the two composed (engine.motion.presets.compose).

    Together, each plays as one rigid map per frame (a sway without its bend), and in an
    entrance or exit each plays one cycle over the span, so both end (or start) on the
    layer as it stands: "spins in" turns once while it grows into place.
    """
    if step.together is None:
        times, build = phase_times(step.preset, step.params, phase, count)
        return step.preset.build(stage, build, times)
    plans, notes = [], []
    for preset, params in ((step.preset, step.params), step.together):
        rigid = {**params, **(preset.rigid or {})}
        if phase != "loop" and "cycles" in rigid:
            rigid["cycles"] = 1
        changed = [name for name in (preset.rigid or {}) if params.get(name) != rigid[name]]
        if changed:
            notes.append(f"'{preset.name}' plays without its {', '.join(changed)} while another motion plays "
                         "with it, so both move the layer as one piece.")
        times, build = phase_times(preset, rigid, phase, count)
        plans.append(preset.build(stage, build, times))
    plan = play_together(stage, plans[0], plans[1], (step.preset.name, step.together[0].name))
    plan.notes = [*plan.notes, *notes]
    return plan


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

    def timing(self, request: Timed, preset: Preset, values: dict[str, Any], prompt: str) -> Timing:
        """When this request's motion plays: what it sets, else what the prompt says (the
        preset's own phase when the prompt picked or named it), else a loop from frame 0.
        A chosen preset with a sequence prompt takes the timing words of its own step."""
        prompt = step_text(prompt, preset.name)
        cue, _ = read_timing(prompt, preset.name, values) if prompt.strip() else (TimingCue(), {})
        return resolve_timing(request, cue)

    def steps(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> list[Step] | None:
        """Under Auto, what a prompt plays when one preset cannot say it alone: the steps of
        a sequence ("pops in, then floats"), or a motion with a fade ("spins while fading
        out"). None when `choose` says it all (one motion, or a chosen preset). Settings
        set in the panel tune the first step, whose parameters the panel shows."""
        if _preset_name(params) != AUTO or not (prompt or "").strip():
            return None
        match = preset_for_prompt(prompt, layer_kind, full_bleed=full_bleed)
        if not match.then and not match.fade and not match.together:
            return None
        explicit = {k: v for k, v in (params or {}).items() if k != PRESET_PARAM}
        steps = []
        for index, step in enumerate(match.steps):
            preset = PRESETS[step.preset]
            mine = {k: v for k, v in explicit.items() if k in preset.params} if index == 0 else {}
            together = None
            if step.together is not None:
                companion = PRESETS[step.together.preset]
                together = (companion, companion.validate(step.together.params))
            steps.append(Step(preset, preset.validate({**step.params, **mine}), step.timing, step.fade, together))
        return steps

    def step_timings(self, request: Timed, steps: Sequence[Step]) -> list[Timing]:
        """When each step plays (engine.motion.timing: one motion as always; a sequence one
        step after another inside the window the request sets)."""
        if len(steps) == 1:
            return [resolve_timing(request, steps[0].cue)]
        return resolve_sequence(request, [step.cue for step in steps])

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
            tuned = params_from_prompt(step_text(prompt, preset.name, layer_kind), preset.name) if check else {}
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
                kind, bleed = request.layer.kind, _full_bleed(request)
                preset, params, messages = self.choose(request.params, prompt=request.prompt, layer_kind=kind,
                                                       full_bleed=bleed)
                steps = self.steps(request.params, prompt=request.prompt, layer_kind=kind, full_bleed=bleed)
                if steps is None:
                    steps = [Step(preset, params, TimingCue())]
                    timings = [self.timing(request, preset, params, request.prompt)]
                else:
                    timings = self.step_timings(request, steps)
                jobs.append((request, steps, messages, timings))
        clips = []
        step(None, cancel, 0, len(jobs), "")
        for index, (request, steps, messages, timings) in enumerate(jobs):
            if len(steps) == 1:
                clips.append(self._render(request, steps[0].preset, steps[0].params, messages, timings[0],
                                          steps[0].fade, steps[0].together))
            else:
                clips.append(self._render_sequence(request, steps, messages, timings))
            names = ", then ".join(s.preset.name + (f" with {s.together[0].name}" if s.together else "") for s in steps)
            step(progress, cancel, index + 1, len(jobs), f"Animated {request.layer.name} ({names})")
        return clips

    def _group(self, requests: list[MotionRequest], prompt: str
               ) -> list[tuple[MotionRequest, list[Step], list[str], list[Timing]]]:
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
        steps = self.steps(lead.params, prompt=prompt, layer_kind=kind,
                           full_bleed=all(_full_bleed(r) for r in requests))
        jobs = []
        for i, request in enumerate(requests):
            layer_params = _staggered(preset, params, i)
            timed = MotionRequest(
                layer=request.layer, box=request.box, prompt=prompt,
                params={PRESET_PARAM: preset.name, **layer_params}, frames=request.frames, fps=request.fps,
                seed=lead.seed, phase=request.phase, start=request.start, duration=request.duration,
                canvas=request.canvas,
            )
            if steps is None:  # one motion: every layer plays it, staggered
                jobs.append((timed, [Step(preset, layer_params, TimingCue())], list(messages),
                             [self.timing(timed, preset, params, prompt)]))
            else:  # the same steps for every layer of the group, each staggered as one motion would be
                mine = [Step(s.preset, _staggered(s.preset, s.params, i), s.cue, s.fade,
                             s.together and (s.together[0], _staggered(*s.together, i))) for s in steps]
                jobs.append((timed, mine, list(messages), self.step_timings(timed, mine)))
        return jobs

    def _render(self, request: MotionRequest, preset: Preset, params: dict[str, Any], messages: list[str],
                timing: Timing, fade: str = "", together: tuple[Preset, dict[str, Any]] | None = None) -> LayerClip:
        """A lazy clip: the preset's FramePlan is built now (cheap, and it carries the notes);
        its frames are resampled only when read (see LazySource), and placed on the
        timeline by `timing` (TimedSource)."""
        played = Step(preset, params, TimingCue(), fade, together)
        static, stage, source = _staged(request, messages)
        if source is None:
            count = motion_frames(timing, request.frames)
            moving = _moving(static, stage, played, timing, count, messages)
            # a loop over the whole timeline is its own placement: no wrapper to read through
            source = moving if count == request.frames and timing == Timing() else TimedSource(
                request.frames, static, moving, timing)
        if timing != Timing():
            messages.append(_when(timing, request.fps))
        return LayerClip(
            layer_id=request.layer.id, box=request.box, frames=source, engine=self.name,
            preset=preset.name, params=params, messages=messages, timing=timing,
            steps=(SequenceStep(preset.name, timing, params, fade, *played.together_fields),)
            if fade or together else (),
        )

    def _render_sequence(self, request: MotionRequest, steps: Sequence[Step], messages: list[str],
                         timings: Sequence[Timing]) -> LayerClip:
        """A lazy clip of several steps one after another (SequenceSource): each step is
        rendered as one motion is, on its own span; the clip records every step."""
        static, stage, source = _staged(request, messages)
        if source is None:
            parts = [(_moving(static, stage, step, timing, timing.duration or 1, messages), timing)
                     for step, timing in zip(steps, timings)]
            source = SequenceSource(request.frames, static, parts)
        if request.phase is not None:
            messages.append("The panel's Phase is for one motion; each step of a sequence plays in its own phase.")
        messages.append(" ".join(f"Step {n} ({step.preset.name}): {_when(timing, request.fps)[0].lower()}"
                                 f"{_when(timing, request.fps)[1:]}" for n, (step, timing) in
                                 enumerate(zip(steps, timings), 1)))
        end = timings[-1].start + (timings[-1].duration or 1)
        whole = Timing(timings[0].phase, timings[0].start, end - timings[0].start)
        return LayerClip(
            layer_id=request.layer.id, box=request.box, frames=source, engine=self.name,
            preset=steps[0].preset.name, params=steps[0].params, messages=messages, timing=whole,
            steps=tuple(SequenceStep(step.preset.name, timing, step.params, step.fade, *step.together_fields)
                        for step, timing in zip(steps, timings)),
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


def _moving(static: np.ndarray, stage: Stage, step: Step, timing: Timing, count: int,
            messages: list[str]) -> LazySource:
    """The `count` motion frames of one step in its phase, rendered lazily: the ends the
    timing rule needs are the static layer, exactly; a fade with the motion multiplies
    its opacity over the same frames."""
    motion = step_plan(stage, step, timing.phase, count)
    motion.still = motion.still_frames().copy()
    # the ends the timing rule needs are the static layer by construction; keep them exact
    # (pre-rolled particles, drawn over the layer, are already falling on a loop's first frame)
    if timing.phase == "in" or motion.rests_at_start:
        motion.still[-1 if timing.phase == "in" else 0] = True
    with_fade(motion, step.fade)
    messages.extend(note for note in motion.notes if note not in messages)
    return LazySource(count, static, _MotionChunks(static, motion), hold=0)


def with_fade(motion: FramePlan, fade: str) -> FramePlan:
    """`motion` with a fade ("in" / "out"; "" none) over all its frames: its opacity
    multiplied by the fade's ramp, and no frame the ramp dims kept as the static layer."""
    if fade:
        ramp = fade_ramp(fade, motion.frame_count)
        motion.opacity = ramp if motion.opacity is None else motion.opacity * ramp
        motion.still = motion.still_frames() & (ramp >= 1.0)
    return motion


def fade_ramp(fade: str, count: int) -> np.ndarray:
    """The opacity of a fade played with a motion over `count` frames: "out" from 1 to 0
    (its last frame gone), "in" from 0 to 1 (its last frame whole)."""
    s = np.linspace(0.0, 1.0, count) if count > 1 else np.ones(1)
    rising = ease("ease_in_out", s)
    return np.asarray(rising if fade == "in" else 1.0 - rising, dtype=np.float64)


def _staggered(preset: Preset, params: dict[str, Any], index: int) -> dict[str, Any]:
    """The settings of the group's `index`-th layer: its phase shifted by `index` staggers."""
    shifted = dict(params)
    if "phase" in shifted:
        moved = params["phase"] + index * params.get("stagger", 0.0)
        # a cycle wraps around; a delay must keep growing down the group (capped)
        shifted["phase"] = min(moved, 0.9) if preset.phase_is_delay else moved % 1.0
    return shifted


def _when(timing: Timing, fps: int) -> str:
    """The timing in a sentence: "Plays as an entrance from 0.5 s, lasting 0.75 s."."""
    what = {"in": "an entrance", "out": "an exit", "loop": "a loop"}[timing.phase]
    lasting = f", lasting {seconds(timing.duration, fps)}" if timing.duration is not None else ", to the end"
    return f"Plays as {what} from {seconds(timing.start, fps)}{lasting}."


def _staged(request: MotionRequest, messages: list[str]) -> tuple[np.ndarray, Stage, LazySource | None]:
    """The static layer placed in its motion box and its stage; for a fully transparent
    layer also the clip that holds it (and a message why nothing moves), else None."""
    static = place_static(request.layer, request.box)
    stage = Stage.from_static(static, request.seed)
    if not stage.is_empty:
        return static, stage, None
    messages.append(f"Layer '{request.layer.name}' is fully transparent, so there is nothing to move.")
    return static, stage, LazySource(request.frames, static, _never, hold=request.frames)


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
