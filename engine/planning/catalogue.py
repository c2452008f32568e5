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


def parameter_text() -> str:
    """What the LLM is told about preset parameters, written from the catalogue's specs.

    One line per parameter name (the same name means the same thing in every preset):
    its range or choices, its help text, and where a preset explains it differently
    (slide_in's direction says which edge it enters from) that preset's own words.
    """
    specs: dict[str, list[tuple[str, Any]]] = {}
    for preset in PRESETS.values():
        for name, spec in preset.params.items():
            specs.setdefault(name, []).append((preset.name, spec))
    lines = []
    for name, owners in specs.items():
        first = owners[0][1]
        if first.kind in ("float", "int"):
            allowed = f"{'whole number' if first.kind == 'int' else 'number'} {first.min:g}..{first.max:g}"
        elif first.kind == "choice":
            choices: list[str] = []
            for _, spec in owners:
                choices.extend(c for c in spec.choices if c not in choices)
            allowed = "one of " + ", ".join(choices)
        else:
            allowed = "true or false" if first.kind == "bool" else "text"
        by_help: dict[str, list[str]] = {}
        for preset, spec in owners:
            by_help.setdefault(spec.help.rstrip("."), []).append(preset)
        common = max(by_help, key=lambda text: len(by_help[text]))
        line = f"- {name} ({allowed}): {common}."
        special = [f"in {', '.join(presets)}: {text}" for text, presets in by_help.items() if text != common]
        if special:
            line += " Except " + "; ".join(special) + "."
        lines.append(line)
    return "\n".join(lines)
