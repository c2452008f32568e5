"""Which presets the planner may suggest, and whether a parameter set is acceptable.

The preset engine (engine/motion/presets.py) owns the real registry. The planner reads it
when it is importable, so a preset added there becomes plannable with no change here.
Until that module exists in this checkout, `CONTRACT_PRESETS` mirrors the registry
contract the lead fixed (ids, shared parameter names and ranges), so planning and
validation work the same way on both sides of the merge.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from engine.poster import PosterError


class ParamLike(Protocol):
    kind: str
    default: Any
    min: float | None
    max: float | None
    choices: tuple[str, ...] | None


class PresetLike(Protocol):
    name: str
    description: str
    params: Mapping[str, ParamLike]

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ContractParam:
    """One shared parameter as the contract defines it (kind, default, range or choices)."""

    kind: str
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    help: str = ""

    def check(self, name: str, value: Any) -> Any:
        """The value in its proper type, or a PosterError naming the parameter and its range."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise PosterError(f"Parameter '{name}' must be true or false, got {value!r}.")
            return value
        if self.kind == "choice":
            if value not in (self.choices or ()):
                raise PosterError(
                    f"Parameter '{name}' must be one of {', '.join(self.choices or ())}; got {value!r}."
                )
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise PosterError(f"Parameter '{name}' must be a number from {self.min} to {self.max}; got {value!r}.")
        if self.kind == "int":
            if float(value) != int(value):
                raise PosterError(f"Parameter '{name}' must be a whole number from {self.min} to {self.max}.")
            value = int(value)
        else:
            value = float(value)
        if not (self.min <= value <= self.max):
            raise PosterError(f"Parameter '{name}' must be from {self.min} to {self.max}; got {value}.")
        return value


#: The shared parameters of the preset contract (each preset uses the subset that fits).
CONTRACT_PARAMS: dict[str, ContractParam] = {
    "amplitude": ContractParam("float", 0.5, 0.0, 1.0, help="0.5 normal, 1 wild"),
    "cycles": ContractParam("int", 2, 1, 8, help="motion periods per clip"),
    "easing": ContractParam("choice", "sine", choices=("linear", "sine", "ease_in", "ease_out", "ease_in_out")),
    "pivot": ContractParam("choice", "center", choices=("center", "bottom", "top", "left", "right")),
    "direction": ContractParam("choice", "up", choices=("up", "down", "left", "right")),
    "phase": ContractParam("float", 0.0, 0.0, 1.0),
    "loop": ContractParam("bool", True),
}


@dataclass(frozen=True)
class ContractPreset:
    """A preset as the contract names it; stands in for engine.motion.presets.Preset."""

    name: str
    description: str
    params: Mapping[str, ContractParam] = field(default_factory=lambda: CONTRACT_PARAMS)

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise PosterError(
                f"Preset '{self.name}' has no parameter {', '.join(unknown)}; "
                f"its parameters are {', '.join(self.params)}."
            )
        return {name: self.params[name].check(name, value) for name, value in params.items()}


#: Preset ids and one-line descriptions fixed by the contract (mirrors presets.PRESETS).
CONTRACT_PRESETS: dict[str, ContractPreset] = {
    preset.name: preset
    for preset in (
        ContractPreset("bob", "vertical up-down oscillation (text effect i)"),
        ContractPreset("wave_rotate", "rocking rotation that travels along the layer (text effect ii)"),
        ContractPreset("text_wave", "per-column sine wave"),
        ContractPreset("typewriter", "left-to-right reveal"),
        ContractPreset("fade", "fade in / out"),
        ContractPreset("slide_in", "enter from an edge"),
        ContractPreset("float", "gentle drift up and down with slight rotation"),
        ContractPreset("sway", "rotation about a pivot (bottom for plants, top for hanging things)"),
        ContractPreset("breathe", "scale pulse"),
        ContractPreset("bounce", "jump with squash and stretch"),
        ContractPreset("shake", "quick small jitter"),
        ContractPreset("spin", "full rotation about the centre"),
        ContractPreset("flag_wave", "smooth cloth displacement field"),
        ContractPreset("jelly", "wobble"),
        ContractPreset("zoom", "scale toward / away from the viewer"),
        ContractPreset("fly_away", "leave toward an edge"),
    )
}


@functools.lru_cache(maxsize=1)
def preset_catalogue() -> Mapping[str, PresetLike]:
    """The preset registry: the engine's PRESETS when present, else the contract's mirror.

    Cached: a failed import searches the whole path again on every call.
    """
    try:
        from engine.motion.presets import PRESETS
    except ModuleNotFoundError as error:
        if error.name != "engine.motion.presets":
            raise
        return CONTRACT_PRESETS
    return PRESETS


def checked_params(preset_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` validated against the preset, keeping only the names the planner chose.

    Raises PosterError naming the unknown preset or the bad parameter and its range.
    """
    catalogue = preset_catalogue()
    preset = catalogue.get(preset_id)
    if preset is None:
        raise PosterError(f"'{preset_id}' is not a known preset; known presets are {', '.join(catalogue)}.")
    validated = preset.validate(dict(params))
    return {name: validated[name] for name in params}


def declared_params(preset_id: str) -> set[str]:
    """The parameter names a preset declares (empty for an unknown id)."""
    preset = preset_catalogue().get(preset_id)
    return set(preset.params) if preset is not None else set()
