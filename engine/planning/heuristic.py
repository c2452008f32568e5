"""The offline planner: a prompt -> a preset, its parameters and a motion box.

Deterministic and instant, so it is the default on a fresh machine and the fallback
whenever an LLM answer cannot be trusted. The prompt is read by the preset engine's own
vocabulary (engine.motion.prompts), so the planner and the engine never disagree on what
"the leaf falls" means; this module only turns that reading into geometry: the box follows
from the motion's poses (engine.planning.geometry), sized from the group's extent so that
layers sharing one prompt expand the same way, plus a one-line rationale.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

from engine.motion.prompts import preset_for_prompt
from engine.planning.catalogue import resolved_params
from engine.planning.geometry import (
    Pose,
    box_from_bounds,
    finalize_box,
    margins,
    pivot_point,
    rotation_poses,
    swept_bounds,
    union_all,
)
from engine.poster import Box, Layer, LayerKind

NORMAL_AMPLITUDE = 0.5
_OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}


#: The parameters `motion_poses` reads to place a motion. A plan states them explicitly,
#: so the box and the animation agree even if a preset's default changes later.
PLACEMENT_PARAMS: dict[str, tuple[str, ...]] = {
    "slide_in": ("direction",),
    "fly_away": ("direction",),
    "sway": ("pivot",),
    "spin": ("pivot",),
    "breathe": ("pivot",),
    "zoom": ("pivot",),
}


def with_placement_defaults(preset: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` plus the registry default of every placement parameter not chosen."""
    defaults = resolved_params(preset, {})
    placed = {name: defaults[name] for name in PLACEMENT_PARAMS.get(preset, ()) if name in defaults}
    return {**placed, **params}


def offscreen_shift(group: Box, canvas: Box, edge: str) -> Pose:
    """The shift that carries the whole group just past a canvas edge (leaving or entering)."""
    if edge == "left":
        return Pose(dx=-(group.right - canvas.x))
    if edge == "right":
        return Pose(dx=canvas.right - group.x)
    if edge == "up":
        return Pose(dy=-(group.bottom - canvas.y))
    return Pose(dy=canvas.bottom - group.y)


def motion_poses(preset: str, params: dict[str, Any], group: Box, canvas: Box) -> tuple[list[Pose], str]:
    """The extreme poses of a preset and the pivot they turn about, sized from the group.

    The sizes mirror what each preset in engine/motion draws at full strength (the presets
    shrink a motion to fit its box, so a box this size lets them play it in full).
    Sizes come from the group's extent so layers sharing a prompt get the same motion.
    """
    chosen = resolved_params(preset, params)
    a = float(chosen.get("amplitude", NORMAL_AMPLITUDE))
    w, h = group.w, group.h
    pivot = chosen.get("pivot", "center")
    direction = chosen.get("direction", "up")
    if preset == "bob":
        return [Pose(dy=-0.3 * a * h), Pose(dy=0.3 * a * h)], "center"
    if preset == "float":
        rise, drift = 0.2 * a * h, 0.06 * a * h
        poses = [Pose(angle=r.angle, dx=sx * drift, dy=sy * rise) for r in rotation_poses(8 * a) for sx in (-1, 1) for sy in (-1, 1)]
        return poses, "center"
    if preset == "bounce":
        squash = float(chosen.get("squash", 0.5))
        jump, flat, tall = 0.8 * a * h, 1 - 0.4 * squash, 1 + 0.25 * squash
        return [
            Pose(dy=-jump),
            Pose(scale_x=1 / flat, scale_y=flat),
            Pose(scale_x=1 / tall, scale_y=tall, dy=-jump),
        ], "bottom"
    if preset == "sway":
        return rotation_poses(20 * a), pivot
    if preset == "spin":
        return rotation_poses(180), pivot
    if preset == "text_wave":  # each column rides a sine: vertical only
        return [Pose(dy=-0.5 * a * h), Pose(dy=0.5 * a * h)], "center"
    if preset == "wave_rotate":  # columns lean about the middle line, stretching by 1/cos
        angle = math.radians(30 * a)
        lean, stretch = 0.5 * h * math.tan(angle), 0.5 * h * (1 / math.cos(angle) - 1)
        return [Pose(dx=sx * lean, dy=sy * stretch) for sx in (-1, 1) for sy in (-1, 1)], "center"
    if preset == "flag_wave":  # ripples lift columns; 1.4 bounds the two-harmonic ripple
        lift = a * min(0.35 * h, 0.25 * w / float(chosen.get("waves", 1.5)))
        return [Pose(dy=-1.4 * lift), Pose(dy=1.4 * lift)], "center"
    if preset == "jelly":
        lean, squash = 0.3 * a * min(w, h), 0.2 * a
        return [
            Pose(dx=side * lean, scale_x=1 / stretch, scale_y=stretch) for side in (-1, 1) for stretch in (1 - squash, 1 + squash)
        ], "bottom"
    if preset == "shake":
        reach = 0.15 * a * min(w, h)
        axis = chosen.get("axis", "horizontal")
        rx = reach if axis in ("horizontal", "both") else 0.0
        ry = reach if axis in ("vertical", "both") else 0.15 * reach
        return [Pose(angle=sa * 2 * a, dx=sx * rx, dy=sy * ry) for sa in (-1, 1) for sx in (-1, 1) for sy in (-1, 1)], "center"
    if preset == "breathe":
        return [Pose(scale_x=1 + 0.12 * a, scale_y=1 + 0.12 * a)], pivot
    if preset == "zoom":
        grow = 1 + a if chosen.get("mode", "in") == "in" else 1.0
        return [Pose(scale_x=grow, scale_y=grow)], pivot
    if preset == "fly_away":  # toward the edge it travels to, all the way at amplitude >= 0.5
        shift = offscreen_shift(group, canvas, direction)
        share = min(1.0, 2 * a)
        return [Pose(dx=shift.dx * share, dy=shift.dy * share)], "center"
    if preset == "slide_in":  # from the edge behind its travel, at most 2 x amplitude x its length
        shift = offscreen_shift(group, canvas, _OPPOSITE[direction])
        along = w if direction in ("left", "right") else h
        limit = 2 * a * along
        return [Pose(dx=max(-limit, min(limit, shift.dx)), dy=max(-limit, min(limit, shift.dy)))], "center"
    return [], "center"  # typewriter, fade, and presets without geometry here stay in place


def swept_boxes(static_boxes: Sequence[Box], canvas: Box, preset: str, params: dict[str, Any]) -> list[Box]:
    """The whole-pixel extent each layer's motion reaches, before grid and canvas.

    Each layer's extent holds its motion whether the engine moves the group as one piece
    (about the group's pivot) or each layer about its own pivot: both sweeps are united.
    Translations come from the group, so all layers shift by the same amount.
    """
    group = union_all(list(static_boxes))
    poses, pivot = motion_poses(preset, params, group, canvas)
    boxes = []
    for static in static_boxes:
        as_group = swept_bounds(static, poses, pivot_point(group, pivot))
        on_own = swept_bounds(static, poses, pivot_point(static, pivot))
        boxes.append(box_from_bounds((
            min(as_group[0], on_own[0]),
            min(as_group[1], on_own[1]),
            max(as_group[2], on_own[2]),
            max(as_group[3], on_own[3]),
        )))
    return boxes


def boxes_for_motion(static_boxes: Sequence[Box], canvas: Box, preset: str, params: dict[str, Any]) -> list[Box]:
    """Motion boxes for layers moving together under one preset: swept, snapped, clamped."""
    return finalize_all(swept_boxes(static_boxes, canvas, preset, params), static_boxes, canvas)


def finalize_all(swept: Sequence[Box], static_boxes: Sequence[Box], canvas: Box) -> list[Box]:
    return [finalize_box(box, static, canvas) for box, static in zip(swept, static_boxes)]


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


#: Layer names that mean lettering even when the PSD rasterised the type.
TEXT_NAMES = re.compile(r"\b(?:title|subtitle|headline|heading|text|caption|slogan|tagline|words?|letters?|lettering)\b", re.I)


def reads_as_text(layer: Layer) -> bool:
    """A type layer, or a pixel layer named like lettering ("Title", "Subtitle")."""
    return layer.kind == LayerKind.TEXT or bool(layer.text) or bool(TEXT_NAMES.search(layer.name.replace("_", " ")))


def plan_heuristically(layers: Sequence[Layer], prompt: str, canvas: Box) -> HeuristicPlan:
    """The offline plan for one request (one layer, or several sharing one prompt)."""
    static_boxes = [layer.box for layer in layers]
    kind = LayerKind.TEXT if all(reads_as_text(layer) for layer in layers) else None
    match = preset_for_prompt(prompt, kind)
    params = with_placement_defaults(match.preset, match.params)
    swept = swept_boxes(static_boxes, canvas, match.preset, params)
    boxes = finalize_all(swept, static_boxes, canvas)
    settings = ", ".join(f"{name} {value}" for name, value in params.items())
    how = f"{match.preset} ({settings})" if settings else match.preset
    if not match.cue:
        why = f"no motion word recognised, so the default {how}"
    else:
        why = f"'{match.cue}' reads as {how}"
    room = describe_growth(swept, static_boxes, canvas)
    return HeuristicPlan(match.preset, params, boxes, f"{why}; {room}, on the 16-px grid.")
