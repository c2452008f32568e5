"""Which presets the planner may suggest, and whether a parameter set is acceptable.

The preset engine owns the registry (engine.motion.presets.PRESETS): its ids, parameter
ranges and defaults. The planner only reads it, so a preset added there becomes
plannable, and validated, with no change here.
"""

from __future__ import annotations

from typing import Any, Mapping

from engine.motion.presets import PRESETS, Preset
from engine.core.poster import PosterError

def preset_catalogue() -> Mapping[str, Preset]:
    """The preset registry, by id, in menu order."""
    return PRESETS


def checked_params(preset_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` validated by the preset, keeping only the names the planner chose.

    Raises PosterError naming the unknown preset or the bad parameter and its range.
    """
    preset = PRESETS.get(preset_id)
    if preset is None:
        raise PosterError(f"'{preset_id}' is not a known preset; known presets are {', '.join(PRESETS)}.")
    validated = preset.validate(dict(params))
    return {name: validated[name] for name in params}


def declared_params(preset_id: str) -> set[str]:
    """The parameter names a preset declares (empty for an unknown id)."""
    preset = PRESETS.get(preset_id)
    return set(preset.params) if preset is not None else set()


def resolved_params(preset_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter the preset takes: the chosen ones over the registry's defaults."""
    preset = PRESETS.get(preset_id)
    return {**(preset.defaults() if preset is not None else {}), **params}
