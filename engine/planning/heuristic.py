"""The offline planner: a prompt -> a preset, its parameters and a motion box.

Deterministic and instant, so it is the default on a fresh machine and the fallback
whenever an LLM answer cannot be trusted. The prompt is read by the preset engine's own
vocabulary (engine.motion.presets.prompts), so the planner and the engine never disagree on what
"the leaf falls" means; and the room a motion needs is measured by the preset itself
(engine.motion.presets.room), so they never disagree on how far it goes either. This module only
snaps that room to the grid and the canvas, and writes a one-line rationale. Both planners
check a plan's parameters against the preset registry here (`checked_params`,
`with_placement_defaults`), so an LLM's answer and the heuristic's obey the same ranges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from engine.motion.presets import PRESETS
from engine.motion.presets.prompts import preset_for_prompt
from engine.motion.presets.room import swept_bounds
from engine.motion.presets.stage import is_full_bleed
from engine.dmdl.grid import TOKEN_PIXELS
from engine.planning.geometry import allowed_region, box_from_bounds, fit_motion_box, margins, union_all
from engine.core.poster import Box, Layer, LayerKind, PosterError

def with_placement_defaults(preset: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` plus the catalogue default of every placement parameter not chosen.

    Placement parameters (which way, about which point: `Preset.placement_params`) decide
    where a motion goes, so a plan states them explicitly and the box and the animation
    agree even if a preset's default changes later.
    """
    if preset not in PRESETS:
        return dict(params)
    defaults = PRESETS[preset].defaults()
    placed = {name: defaults[name] for name in PRESETS[preset].placement_params}
    return {**placed, **params}


def checked_params(preset_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` validated by the preset engine's registry, keeping only the names chosen.

    The registry (engine.motion.presets.PRESETS) owns ids, ranges and defaults; a preset
    added there is plannable, and validated, with no change here. Raises PosterError
    naming the unknown preset or the bad parameter and its range.
    """
    preset = PRESETS.get(preset_id)
    if preset is None:
        raise PosterError(f"'{preset_id}' is not a known preset; known presets are {', '.join(PRESETS)}.")
    validated = preset.validate(dict(params))
    return {name: validated[name] for name in params}


def swept_boxes(static_boxes: Sequence[Box], canvas: Box, preset: str, params: dict[str, Any],
                together: tuple[str, dict[str, Any]] | None = None) -> list[Box]:
    """The whole-pixel extent each layer's motion reaches, before grid and canvas.

    The preset itself says where its motion carries a layer (engine.motion.presets.room): the same
    trajectory it checks against the box before shrinking, so the planned box is exactly
    the room it needs. Layers sharing one prompt also grow by the room the group would
    sweep as one piece, so they all expand the same way (a group jumps one height).
    """
    own = [_reach(preset, params, static, canvas, together) for static in static_boxes]
    if len(static_boxes) == 1:
        return own
    group = union_all(list(static_boxes))
    group_reach = margins(_reach(preset, params, group, canvas, together), group)
    return [reach.union(static.expand(*group_reach)) for reach, static in zip(own, static_boxes)]


def _reach(preset: str, params: dict[str, Any], static: Box, canvas: Box,
           together: tuple[str, dict[str, Any]] | None = None) -> Box:
    """Where `preset` (with `together` played at the same time) carries `static` with all
    the room the poster allows."""
    return box_from_bounds(swept_bounds(preset, static, params, allowed_region(canvas, static), together=together))


def boxes_for_motion(static_boxes: Sequence[Box], canvas: Box, preset: str, params: dict[str, Any],
                     together: tuple[str, dict[str, Any]] | None = None) -> list[Box]:
    """Motion boxes for layers moving together under one preset (with `together` played at
    the same time): swept, snapped, clamped."""
    return finalize_all(swept_boxes(static_boxes, canvas, preset, params, together), static_boxes, canvas)


def finalize_all(swept: Sequence[Box], static_boxes: Sequence[Box], canvas: Box) -> list[Box]:
    return [fit_motion_box(box, static, canvas, grid=TOKEN_PIXELS) for box, static in zip(swept, static_boxes)]


def describe_growth(boxes: Sequence[Box], static_boxes: Sequence[Box], canvas: Box) -> str:
    """"room +58 px up, +6 px left" for the group's motion inside the canvas: the rationale's tail."""
    reach = union_all(list(boxes)).intersection(canvas)
    left, top, right, bottom = margins(reach, union_all(list(static_boxes)))
    parts = [f"+{amount} px {side}" for amount, side in ((top, "up"), (bottom, "down"), (left, "left"), (right, "right")) if amount > 0]
    return "room " + ", ".join(parts) if parts else "no room needed beyond the layer"


@dataclass(frozen=True)
class HeuristicPlan:
    preset: str
    params: dict[str, Any]
    boxes: list[Box]
    rationale: str
    #: The presets of a sequence prompt's steps, in order ("pops in, then floats"); empty
    #: for one motion. Then `preset` and `params` are the first step's, and the prompt
    #: (preset Auto) must decide the motion, or the later steps would not play. A motion
    #: with another played at the same time ("bobs and spins") lists its step the same way.
    steps: tuple[str, ...] = ()


#: Layer names that mean lettering even when the PSD rasterised the type.
TEXT_NAMES = re.compile(r"\b(?:title|subtitle|headline|heading|text|caption|slogan|tagline|words?|letters?|lettering)\b", re.I)


def reads_as_text(layer: Layer) -> bool:
    """A type layer, or a pixel layer named like lettering ("Title", "Subtitle")."""
    return layer.kind == LayerKind.TEXT or bool(layer.text) or bool(TEXT_NAMES.search(layer.name.replace("_", " ")))


def _hangs_off_the_canvas(static_boxes: Sequence[Box], canvas: Box, params: dict[str, Any]) -> bool:
    """Whether a swing would carry a layer past the canvas edge it travels toward: then it
    travels out through that edge, cropped by the poster, rather than shrinking its swing
    to the little room left (a cloud near the edge that drifts off it)."""
    from engine.motion.presets.travel import SWING_REACH

    chosen = {**PRESETS["travel"].defaults(), **params}
    if chosen["mode"] != "swing":
        return False
    direction = chosen["direction"]
    group = union_all(list(static_boxes))
    along = group.w if direction in ("left", "right") else group.h
    room = {"left": group.x - canvas.x, "right": canvas.right - group.right,
            "up": group.y - canvas.y, "down": canvas.bottom - group.bottom}[direction]
    return room < SWING_REACH * chosen["amplitude"] * along


def plan_heuristically(layers: Sequence[Layer], prompt: str, canvas: Box) -> HeuristicPlan:
    """The offline plan for one request (one layer, or several sharing one prompt)."""
    static_boxes = [layer.box for layer in layers]
    kind = LayerKind.TEXT if all(reads_as_text(layer) for layer in layers) else None
    full_bleed = all(is_full_bleed(layer.box, canvas) for layer in layers)
    match = preset_for_prompt(prompt, kind, full_bleed=full_bleed)
    readings, swept = [], None
    for step in match.steps:  # a sequence needs room for every step: the union of their sweeps
        params = with_placement_defaults(step.preset, step.params)
        if step.preset == "travel" and _hangs_off_the_canvas(static_boxes, canvas, params):
            params["crop"] = True
        together = (step.together.preset, step.together.params) if step.together else None
        reach = swept_boxes(static_boxes, canvas, step.preset, params, together)
        swept = reach if swept is None else [a.union(b) for a, b in zip(swept, reach)]
        readings.append((step, params))
    boxes = finalize_all(swept, static_boxes, canvas)
    whys = []
    for step, params in readings:
        settings = ", ".join(f"{name} {value}" for name, value in params.items())
        how = f"{step.preset} ({settings})" if settings else step.preset
        if not step.cue:
            why = f"no motion word recognised, so the default {how}"
            if step.suggestions:
                why += f" (closest presets: {', '.join(step.suggestions)})"
        else:
            why = f"'{step.cue}' reads as {how}"
        if step.together:
            why += f" together with {step.together.preset} (from '{step.together.cue}')"
        whys.append(why)
    why = ", then ".join(whys)
    if match.in_place:
        why += " inside the layer's own frame (it covers the poster)"
    room = describe_growth(swept, static_boxes, canvas)
    first = readings[0][1]
    several = match.then or any(step.together for step in match.steps)
    steps = tuple(step.preset for step in match.steps) if several else ()
    return HeuristicPlan(match.preset, first, boxes, f"{why}; {room}, on the {TOKEN_PIXELS}-px grid.", steps)


def reads_as_sequence(layers: Sequence[Layer], prompt: str, canvas: Box) -> bool:
    """Whether the prompt names steps one after another, or two motions at once, for these
    layers (the heuristic's reading, the one the preset engine plays)."""
    kind = LayerKind.TEXT if all(reads_as_text(layer) for layer in layers) else None
    full_bleed = all(is_full_bleed(layer.box, canvas) for layer in layers)
    match = preset_for_prompt(prompt, kind, full_bleed=full_bleed)
    return bool(match.then or any(step.together for step in match.steps))
