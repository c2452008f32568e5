"""The motion panel's fields <-> a layer's Motion, through the preset contract.

The panel shows one fixed set of widgets for the parameters presets share (amplitude,
cycles, easing, pivot, direction, phase, loop) and hides the ones the chosen preset does
not use, so a designer never moves a slider that does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from engine.core.poster import Layer, PosterError
from engine.core.project import AUTO_PRESET, Motion

SHARED_PARAMS: tuple[str, ...] = ("amplitude", "cycles", "easing", "pivot", "direction", "phase", "loop")


@dataclass
class MotionFields:
    """What the motion panel sends: one value per widget, as Gradio hands them over."""

    engine: str = "presets"
    prompt: str = ""
    preset: str = AUTO_PRESET
    amplitude: float = 0.5
    cycles: int = 1
    easing: str = "sine"
    pivot: str = "center"
    direction: str = "up"
    phase: float = 0.0
    loop: bool = True
    start_offset_s: float = 0.0

    def param_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SHARED_PARAMS}


def presets():
    from engine.motion.presets import PRESETS

    return PRESETS


def preset_choices() -> list[tuple[str, str]]:
    """Dropdown entries: Auto first, then every preset by its menu label."""
    return [("Auto (from the prompt)", AUTO_PRESET)] + [
        (preset.label, name) for name, preset in sorted(presets().items(), key=lambda kv: kv[1].label)
    ]


def resolve(layer: Layer, motion: Motion) -> tuple[str, dict[str, Any], str]:
    """The preset and parameters the next Animate will use, and a note for the designer.

    With Auto, the prompt picks the preset (engine.motion.presets.prompts); the panel's values
    then override the prompt's suggestions for the parameters that preset declares.
    """
    note = ""
    base: dict[str, Any] = {}
    if motion.preset == AUTO_PRESET:
        from engine.motion.presets.prompts import preset_for_prompt

        match = preset_for_prompt(motion.prompt, layer.kind)
        name, base, note = match.preset, dict(match.params), match.message
    else:
        name = motion.preset
    catalogue = presets()
    if name not in catalogue:
        raise PosterError(f"There is no motion preset called '{name}'. Pick one from the Preset menu.")
    preset = catalogue[name]
    chosen = {key: value for key, value in motion.params.items() if key in preset.params}
    return name, preset.validate({**base, **chosen}), note


def set_preset(motion: Motion, preset: str) -> None:
    """Ask for `preset` (or AUTO_PRESET): the engine reads it from `params["preset"]`."""
    if preset == AUTO_PRESET:
        motion.params.pop("preset", None)
    else:
        motion.params["preset"] = preset


def set_params(motion: Motion, params: dict[str, Any]) -> None:
    """Replace the preset's parameters, keeping which preset was asked for."""
    preset = motion.preset
    motion.params = dict(params)
    set_preset(motion, preset)


def params_for(preset_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters `preset_name` declares, validated (PosterError names a bad one)."""
    preset = presets()[preset_name]
    return preset.validate({key: value for key, value in values.items() if key in preset.params})


#: The fields a designer types; a button press carries them because their own events may
#: still be on the way (a slider or menu change arrives long before the click).
TYPED_FIELDS: tuple[str, ...] = ("engine", "prompt", "start_offset")


def apply_fields(layer: Layer, motion: Motion, fields: MotionFields, fps: int,
                 only: Iterable[str] | None = None) -> tuple[bool, list[str]]:
    """Store the panel's values in `motion`; returns (parameters were reset, notes to show).

    `only` names the widgets to take (each widget's own event sends just itself, so two
    events racing through the queue never undo each other); None takes them all.
    A new prompt under Auto, or a newly chosen preset, resets the parameters to what the
    prompt or preset suggests; otherwise a moved slider sets its parameter.
    """
    take = set(only) if only is not None else {"engine", "prompt", "preset", "start_offset", *SHARED_PARAMS}
    notes: list[str] = []
    reset = False
    if "engine" in take and fields.engine:
        motion.engine = fields.engine
    if "start_offset" in take:
        try:
            offset = float(fields.start_offset_s or 0.0)
        except (TypeError, ValueError):
            raise PosterError("The start offset is a number of seconds, e.g. 0.5.") from None
        if offset < 0:
            raise PosterError("The start offset cannot be negative: use 0 to start at once.")
        motion.start_offset = int(round(offset * fps))
    if "prompt" in take:
        prompt = (fields.prompt or "").strip()
        if prompt != motion.prompt:
            motion.group = None  # an individual prompt takes the layer out of its group
            motion.prompt = prompt
            reset = motion.preset == AUTO_PRESET
    if "preset" in take:
        preset = fields.preset or AUTO_PRESET
        if preset != motion.preset:
            set_preset(motion, preset)
            reset = True
    if reset:
        set_params(motion, {})
        _, params, note = resolve(layer, motion)
        set_params(motion, params)
        if note:
            notes.append(note)
    elif take & set(SHARED_PARAMS):
        name, _, _ = resolve(layer, motion)
        moved = {key: getattr(fields, key) for key in take & set(SHARED_PARAMS)}
        set_params(motion, params_for(name, {**motion.params, **moved}))
    return reset, notes


def fields_of(layer: Layer, motion: Motion, fps: int) -> tuple[MotionFields, str, set[str]]:
    """The panel values for `motion`, the effective preset name, and which params it uses."""
    name, params, _ = resolve(layer, motion)
    declared = set(presets()[name].params)
    defaults = MotionFields()
    values = {key: params.get(key, getattr(defaults, key)) for key in SHARED_PARAMS}
    fields = MotionFields(
        engine=motion.engine,
        prompt=motion.prompt,
        preset=motion.preset,
        start_offset_s=round(motion.start_offset / max(fps, 1), 3),
        **values,
    )
    return fields, name, declared & set(SHARED_PARAMS)
