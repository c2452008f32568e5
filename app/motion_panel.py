"""The motion panel's fields <-> a layer's motion, through the selected engine's ParamSpecs.

The panel has no parameter of its own: it shows the specs the layer's engine declares
for the current settings (the preset engine: `preset`, then that preset's amplitude,
cycles, easing…; the generative engine: steps, guidance, resolution), so a new engine
parameter appears in the editor without a change here, and a designer never moves a
slider that does nothing. A choice parameter set to "auto" means "chosen from the
prompt": while one is, a new prompt re-suggests every parameter. The timing fields (phase,
start, duration) work the same way: left on auto (empty), the prompt's words decide them,
and the panel says what they will be.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, fields as dataclass_fields
from typing import Any, Iterable

from engine.core.clip import PHASES, Timing, check_phase
from engine.core.poster import Box, Layer, PosterError
from engine.core.project import AUTO_PRESET, Motion, check_prompt
from engine.motion.params import ParamSpec
from engine.motion.presets.prompts import preset_for_prompt
from engine.motion.presets.stage import is_full_bleed
from engine.motion.timing import resolve_timing, seconds

AUTO = "auto"  # a choice value meaning "from the prompt"


#: The phase menu: auto (the prompt decides) or one of the phases, in words.
PHASE_LABELS = {"in": "In: an entrance, ends on the layer", "loop": "Loop", "out": "Out: an exit, starts on the layer"}


@dataclass
class MotionFields:
    """What the motion panel sends: engine, prompt, timing (phase, or "auto"; start and
    duration in seconds, None: from the prompt), and the parameter widgets' values by
    parameter name, as Gradio hands them over. `auto` (sent to the panel, not back) says
    what each timing field left on auto will be: {"phase": "in", "start": "0 s", …}."""

    engine: str = "presets"
    prompt: str = ""
    phase: str = AUTO
    start_s: float | None = None
    duration_s: float | None = None
    seed: int | None = None  # the motion's own seed (every engine takes one; Re-roll adds 1)
    params: dict[str, Any] = field(default_factory=dict)
    auto: dict[str, str] = field(default_factory=dict)


def phase_choices(auto: str | None = None) -> list[tuple[str, str]]:
    """The phase menu, its auto entry naming what the prompt reads as."""
    said = f"Auto: {auto} (from the prompt)" if auto else "Auto (from the prompt)"
    return [(said, AUTO), *((PHASE_LABELS[p], p) for p in PHASES)]


@dataclass
class Resolved:
    """What the next Animate will use for a layer: the specs that apply, their values, notes."""

    specs: list[ParamSpec]
    values: dict[str, Any]
    notes: list[str]


def engine_of(name: str):
    from engine.motion.registry import get_engine

    return get_engine(name)


# The two functions that know how a motion stores its engine parameters.

def engine_params(motion: Motion) -> dict[str, Any]:
    """The motion's engine parameters, as the engine reads them (the preset included)."""
    return dict(motion.params)


def store_params(motion: Motion, params: dict[str, Any]) -> None:
    """Keep `params` (engine parameters) on the motion; a preset left on auto is not stored
    (absent means auto, so the project file says only what the designer chose)."""
    params = dict(params)
    if str(params.get("preset") or AUTO_PRESET) == AUTO_PRESET:
        params.pop("preset", None)
    motion.params = params


def resolve(layer: Layer, motion: Motion, canvas: Box) -> Resolved:
    """The specs for the motion's settings and the checked values the next Animate uses.

    Values left over from other settings (the amplitude of a preset no longer chosen) are
    dropped, not refused; a value out of range is a PosterError naming the parameter.
    Whether the layer covers the poster is decided here, with the canvas, so the widgets,
    the "Understood…" line and Animate all read a full-bleed layer the same way (a
    background that "drifts" pans: pan's widgets, not travel's).
    """
    engine = engine_of(motion.engine)
    params = engine_params(motion)
    bleed = is_full_bleed(layer.box, canvas)
    specs = engine.param_specs(params, prompt=motion.prompt, layer_kind=layer.kind, full_bleed=bleed)
    names = {spec.name for spec in specs}
    values, notes = engine.resolve_params(
        {k: v for k, v in params.items() if k in names}, prompt=motion.prompt, layer_kind=layer.kind, full_bleed=bleed
    )
    return Resolved(specs, values, notes)


def follows_prompt(resolved: Resolved) -> bool:
    """Whether a choice is on "auto", so the prompt decides the parameters."""
    return any(spec.kind == "choice" and resolved.values.get(spec.name) == AUTO for spec in resolved.specs)


def preset_in_use(layer: Layer, motion: Motion, canvas: Box) -> tuple[str, dict[str, Any]]:
    """The preset and parameters the preset engine would use for this motion.

    Motion boxes are sized by the room a preset sweeps; a generative engine's motion is not
    known before it runs, so its box is sized for the preset its prompt reads as.
    """
    presets = engine_of("presets")
    params = engine_params(motion) if motion.engine == "presets" else {}
    preset, values, _ = presets.choose(params, prompt=motion.prompt, layer_kind=layer.kind,
                                       full_bleed=is_full_bleed(layer.box, canvas))
    return preset.name, values


def steps_in_use(layer: Layer, motion: Motion, canvas: Box
                 ) -> list[tuple[str, dict[str, Any], tuple[str, dict[str, Any]] | None]]:
    """Every preset, with its parameters and the motion played at the same time (or None),
    the preset engine would play for this motion: the one of `preset_in_use`, or each step
    of a sequence prompt (a box holds them all)."""
    params = engine_params(motion) if motion.engine == "presets" else {}
    steps = engine_of("presets").steps(params, prompt=motion.prompt, layer_kind=layer.kind,
                                       full_bleed=is_full_bleed(layer.box, canvas))
    if steps:
        return [(step.preset.name, step.params, step.together_fields if step.together else None) for step in steps]
    return [(*preset_in_use(layer, motion, canvas), None)]


def prompt_reading(layer: Layer, motion: Motion, canvas: Box) -> tuple[str, bool, list[str]]:
    """What the presets engine will play for this motion, shown before Animate: the preset,
    whether words of the prompt chose it, and what was understood (the motion, its
    parameters and the words behind each; or that no word names a motion, with close
    presets; or that the motion needs a generative engine). The same `choose` the engine
    runs, so the panel never promises what Animate will not do."""
    full_bleed = is_full_bleed(layer.box, canvas)
    params = engine_params(motion) if motion.engine == "presets" else {}
    preset, _, messages = engine_of("presets").choose(
        params, prompt=motion.prompt, layer_kind=layer.kind, full_bleed=full_bleed
    )
    picked = bool(motion.prompt.strip()) and bool(preset_for_prompt(motion.prompt, layer.kind, full_bleed).cue)
    return preset.name, picked, messages


def timing_in_use(layer: Layer, motion: Motion, frames: int, fps: int, canvas: Box) -> Timing:
    """When the next Animate plays this motion: what the designer set, else the prompt's
    reading (the presets engine's, the same call Animate makes), else a loop from 0."""
    asked = _Asked(motion.phase, motion.start, motion.duration, frames, fps)
    if motion.engine != "presets":
        return resolve_timing(asked)
    presets = engine_of("presets")
    try:
        preset, values, _ = presets.choose(engine_params(motion), prompt=motion.prompt, layer_kind=layer.kind,
                                           full_bleed=is_full_bleed(layer.box, canvas))
        steps = step_timings_in_use(layer, motion, frames, fps, canvas)
    except PosterError:  # a half-edited value, or a timeline too short for the steps: the panel says so
        return resolve_timing(asked)
    if len(steps) > 1:  # a sequence: the span of all its steps, in the first step's phase
        first, last = steps[0][1], steps[-1][1]
        return Timing(first.phase, first.start, last.start + (last.duration or 1) - first.start)
    one = presets.steps(engine_params(motion), prompt=motion.prompt, layer_kind=layer.kind,
                        full_bleed=is_full_bleed(layer.box, canvas))
    if one:  # a motion with a fade or another motion: the phase they give it ("spins in" enters)
        return presets.step_timings(asked, one)[0]
    return presets.timing(asked, preset, values, motion.prompt)


def step_timings_in_use(layer: Layer, motion: Motion, frames: int, fps: int, canvas: Box) -> list[tuple[str, Timing]]:
    """Each step of a sequence prompt and when the next Animate plays it (the presets
    engine's own layout); [] for one motion. PosterError when the timeline is too short."""
    if motion.engine != "presets":
        return []
    presets = engine_of("presets")
    steps = presets.steps(engine_params(motion), prompt=motion.prompt, layer_kind=layer.kind,
                          full_bleed=is_full_bleed(layer.box, canvas))
    if not steps or len(steps) < 2:
        return []
    asked = _Asked(motion.phase, motion.start, motion.duration, frames, fps)
    return [(step.preset.name, timing) for step, timing in zip(steps, presets.step_timings(asked, steps))]


@dataclass
class _Asked:
    phase: str | None
    start: int | None
    duration: int | None
    frames: int
    fps: int


def _frames(value: Any, fps: int, what: str, least: int) -> int | None:
    """A typed number of seconds -> frames; empty -> None (from the prompt)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        secs = float(value)
    except (TypeError, ValueError):
        raise PosterError(f"The {what} is a number of seconds, e.g. 0.5; leave it empty to follow the prompt.") from None
    if not math.isfinite(secs) or secs < 0 or (least > 0 and secs <= 0):
        raise PosterError(f"The {what} must be more than {'0 s' if least else 'or equal to 0 s'}; "
                          "leave it empty to follow the prompt.")
    return max(least, int(round(secs * fps)))


#: The fields a designer types; a button press carries them because their own events may
#: still be on the way (a slider or menu change arrives long before the click).
TYPED_FIELDS: tuple[str, ...] = ("engine", "prompt", "phase", "start", "motion_duration")


def apply_fields(layer: Layer, motion: Motion, fields: MotionFields, fps: int,
                 only: Iterable[str] | None = None, *, canvas: Box) -> tuple[bool, list[str]]:
    """Store the panel's values in `motion`, all or nothing; returns (parameters were reset, notes).

    The values are tried on a copy: a refused value (out of range, a bad phase) leaves the
    motion as it was, so it never reaches the autosave, the undo history or the next render.
    """
    draft = copy.deepcopy(motion)
    outcome = _apply_fields(layer, draft, fields, fps, only, canvas=canvas)
    for spec in dataclass_fields(Motion):
        setattr(motion, spec.name, getattr(draft, spec.name))
    return outcome


def _apply_fields(layer: Layer, motion: Motion, fields: MotionFields, fps: int,
                  only: Iterable[str] | None, *, canvas: Box) -> tuple[bool, list[str]]:
    """apply_fields' work on a draft motion.

    `only` names the widgets to take (TYPED_FIELDS or a parameter name: each widget's own event sends just itself, so two events racing through the
    queue never undo each other); None takes them all. Another engine, a new prompt while
    a choice is on auto, or a new value of an auto-capable choice (the preset) resets the
    parameters to what the engine suggests; any other parameter is set and checked.
    """
    take = set(only) if only is not None else {*TYPED_FIELDS, "seed", *fields.params}
    notes: list[str] = []
    reset = False
    if "engine" in take and fields.engine and fields.engine != motion.engine:
        engine_of(fields.engine)  # an unknown engine is refused before anything changes
        motion.engine = fields.engine
        store_params(motion, {})
        reset = True
    if "phase" in take:
        motion.phase = None if fields.phase in (None, "", AUTO) else check_phase(str(fields.phase))
    if "start" in take:
        motion.start = _frames(fields.start_s, fps, "start", least=0)
    if "motion_duration" in take:
        motion.duration = _frames(fields.duration_s, fps, "duration", least=1)
    if "seed" in take and fields.seed is not None:
        motion.seed = check_seed(fields.seed)
    before = resolve(layer, motion, canvas)
    switch_names = {s.name for s in before.specs if s.kind == "choice" and AUTO in s.choices}
    if "prompt" in take:
        prompt = check_prompt((fields.prompt or "").strip())
        if prompt != motion.prompt:
            motion.group = None  # an individual prompt takes the layer out of its group
            motion.prompt = prompt
            reset = reset or follows_prompt(before)
    moved = {name: fields.params[name] for name in take if name in fields.params}
    current = engine_params(motion)
    switched = {name: value for name, value in moved.items()
                if name in switch_names and str(value) != str(current.get(name, AUTO))}
    if reset or switched:
        kept = {name: value for name, value in {**current, **switched}.items() if name in switch_names}
        store_params(motion, kept)
        resolved = resolve(layer, motion, canvas)
        store_params(motion, resolved.values)
        notes.extend(resolved.notes)
        return True, notes
    if moved:
        names = {spec.name for spec in before.specs}
        store_params(motion, {**before.values, **{n: v for n, v in moved.items() if n in names}})
        store_params(motion, resolve(layer, motion, canvas).values)  # checked: a bad value names its range
    return False, notes


def check_seed(value: Any) -> int:
    """The seed as a whole number from 0, or a PosterError saying so."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number.is_integer() or not 0 <= number < 2**63:
        raise PosterError(f"The seed is a whole number from 0 (each gives another take); got {value!r}.")
    return int(number)


def fields_of(layer: Layer, motion: Motion, fps: int, frames: int, canvas: Box) -> tuple[MotionFields, list[ParamSpec]]:
    """The panel values for `motion` and the specs of the parameter widgets to show."""
    resolved = resolve(layer, motion, canvas)
    fps = max(fps, 1)
    fields = MotionFields(
        engine=motion.engine,
        prompt=motion.prompt,
        phase=motion.phase or AUTO,
        start_s=None if motion.start is None else round(motion.start / fps, 3),
        duration_s=None if motion.duration is None else round(motion.duration / fps, 3),
        seed=motion.seed,
        params=dict(resolved.values),
        auto=timing_auto(layer, motion, frames, fps, canvas),
    )
    return fields, resolved.specs


def timing_auto(layer: Layer, motion: Motion, frames: int, fps: int, canvas: Box) -> dict[str, str]:
    """What the timing fields will be when Animate runs, in the panel's words."""
    timing = timing_in_use(layer, motion, frames, fps, canvas)
    lasting = seconds(timing.duration, fps) if timing.duration is not None else "to the end"
    return {"phase": timing.phase, "start": seconds(timing.start, fps), "motion_duration": lasting}
