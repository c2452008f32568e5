"""The offline planner: motion words in a prompt -> a preset, its parameters and a motion box.

Deterministic and instant, so it is the default on a fresh machine and the fallback
whenever an LLM answer cannot be trusted. It reads three things from the prompt: the motion
(a vocabulary of verbs mapped to presets), the direction (to the right, from the top, up),
and the amplitude and speed (gently, wildly, slowly, fast). The box then follows from the
motion's geometry (engine.planning.geometry), sized from the group's extent so that layers
sharing one prompt expand the same way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from engine.planning.catalogue import declared_params, resolved_params
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

GENTLE_AMPLITUDE = 0.25
NORMAL_AMPLITUDE = 0.5
WILD_AMPLITUDE = 0.9
SLOW_CYCLES = 1
FAST_CYCLES = 4


@dataclass(frozen=True)
class MotionWord:
    """A vocabulary entry: words (regex) that name a motion, and the preset they mean.

    `text_preset` applies to type layers when it differs (a title that "waves" ripples
    letter by letter; a hand that waves sways). `params` are fixed by the word itself
    (a pendulum swings about its top).
    """

    pattern: str
    preset: str
    text_preset: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    direction: str | None = None  # default direction for travelling verbs


def _words(*stems: str) -> str:
    return r"\b(?:" + "|".join(stems) + r")\b"


#: Checked in order; the first entry whose words appear decides the motion.
VOCABULARY: tuple[MotionWord, ...] = (
    MotionWord(r"up and down|up-and-down", "bob"),
    MotionWord(r"side to side|side-to-side|back and forth|to and fro|left and right", "sway", "wave_rotate", {"pivot": "bottom"}),
    MotionWord(_words(r"type[sd]?", "typing", "typewriter", "typewritten") + r"|letter by letter|one letter at a time", "typewriter"),
    MotionWord(_words(r"slides? in", "sliding in", "in from", r"enters?", "entering", r"arrives?", r"comes? in", "swoops? in"), "slide_in"),
    MotionWord(_words(r"fade[sd]?", "fading", r"(?:dis)?appears?", r"(?:dis)?appearing", r"dissolves?", r"blinks?", "blinking", r"flickers?", "flickering"), "fade"),
    MotionWord(r"wave[- ]?(?:like )?rotat\w*|" + _words(r"rocks?", "rocking", r"seesaws?", r"teeters?", r"tilts?", "tilting"), "sway", "wave_rotate", {"pivot": "bottom"}),
    MotionWord(_words(r"spins?", "spinning", r"rotates?", "rotating", r"revolves?", "revolving", r"twirls?", "twirling", r"whirls?", "whirling", r"turns? around", "cartwheels?"), "spin"),
    MotionWord(_words(r"bounces?", "bouncing", "bouncy", r"jumps?", "jumping", r"hops?", "hopping", r"leaps?", "leaping", r"springs?", "springing"), "bounce"),
    MotionWord(_words(r"swings?", "swinging", "pendulum", r"dangles?", "dangling", r"hangs?", "hanging"), "sway", params={"pivot": "top"}),
    MotionWord(r"\b(?:flags?|banners?|cloth|curtains?|capes?|sails?|ribbons?|scarf|scarves)\b.*\b(?:waves?|waving|flutters?|ripples?|billows?)\b|" + _words(r"flutters?", "fluttering", r"billows?", "billowing", r"flaps?", "flapping"), "flag_wave"),
    MotionWord(_words(r"waves?", "waving", "wavy", r"undulates?", "undulating", r"ripples?", "rippling"), "sway", "text_wave", {"pivot": "bottom"}),
    MotionWord(_words(r"sways?", "swaying", "in the wind", "breeze", r"rustles?", "rustling", r"leans?", r"bends?", "bending"), "sway", params={"pivot": "bottom"}),
    MotionWord(_words(r"breathes?", "breathing", r"pulses?", "pulsing", r"pulsates?", "pulsating", r"throbs?", "throbbing", "heartbeat", r"beats?", "beating", r"glows?", "glowing", r"twinkles?", "twinkling", r"shimmers?"), "breathe"),
    MotionWord(_words(r"zooms?", "zooming", r"grows?", "growing", r"enlarges?", r"expands?", "expanding", r"pops?", "popping", r"scales? up", r"approaches", "approaching", r"shrinks?", "shrinking"), "zoom"),
    MotionWord(_words(r"shakes?", "shaking", r"trembles?", "trembling", r"shivers?", "shivering", r"vibrates?", "vibrating", r"jitters?", r"rattles?", "rattling", r"quakes?", "buzz", "buzzes", "buzzing"), "shake"),
    MotionWord(_words(r"wobbles?", "wobbling", r"jiggles?", "jiggling", "jelly", r"squish(?:es)?", r"wiggles?", "wiggling", r"squash(?:es)?", "squashing"), "jelly"),
    MotionWord(_words("bob", "bobs", "bobbing", r"nods?", "nodding"), "bob"),
    MotionWord(_words(r"floats?", "floating", r"hovers?", "hovering", r"drifts?", "drifting", r"levitates?", "levitating"), "float"),
    MotionWord(_words(r"falls?", "falling", r"drops?", "dropping", r"sinks?", "sinking", r"rains?", "raining"), "fly_away", direction="down"),
    MotionWord(_words(r"rises?", "rising", r"ascends?", "ascending", r"takes? off", r"lifts? off", r"launch(?:es)?", r"rockets?", r"soars?", "soaring", "fly", r"flies", "flying", "fly away", "flies away"), "fly_away", direction="up"),
    MotionWord(_words(r"leaves?", "leaving", r"exits?", "exiting", r"departs?", r"walks?", "walking", r"runs?", "running", r"drives?", "driving", r"sails? away", r"moves?", "moving", r"travels?", "travelling", "traveling", r"glides?", "gliding", r"races?", "racing", r"rides?", "riding", r"rolls?", "rolling", r"swims?", "swimming", r"dives?", "diving"), "fly_away", direction="right"),
)

_EDGE_WORDS = {"left": "left", "right": "right", "top": "up", "bottom": "down", "above": "up", "below": "down"}
_TRAVEL_WORDS = {
    "left": "left", "leftward": "left", "leftwards": "left",
    "right": "right", "rightward": "right", "rightwards": "right",
    "up": "up", "upward": "up", "upwards": "up", "top": "up", "sky": "up", "skyward": "up", "skywards": "up", "heaven": "up",
    "down": "down", "downward": "down", "downwards": "down", "bottom": "down", "ground": "down", "floor": "down",
}
_OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}
_GENTLE = re.compile(_words(r"gentl[ey]", "gently", r"slight(?:ly)?", r"soft(?:ly)?", r"subtl[ey]", r"calm(?:ly)?", "a little", "a bit", "lightly", r"faint(?:ly)?", "barely", r"mild(?:ly)?", "lazily", "lazy", r"delicate(?:ly)?", "tenderly"))
_WILD = re.compile(_words(r"wild(?:ly)?", r"violent(?:ly)?", r"vigorous(?:ly)?", "crazy", "crazily", r"strong(?:ly)?", "hard", "high", r"energetic(?:ally)?", r"frantic(?:ally)?", r"intense(?:ly)?", "a lot", r"dramatic(?:ally)?", r"powerful(?:ly)?", r"furious(?:ly)?", "madly", "like crazy"))
_FAST = re.compile(_words("fast", "quickly", "quick", "rapidly", "rapid", "swiftly", "briskly"))
_SLOW = re.compile(_words("slowly", "slow", "leisurely"))


@dataclass(frozen=True)
class MotionIntent:
    """What the prompt asks for: a preset with parameters, and the words that decided it."""

    preset: str
    params: dict[str, Any]
    cue: str | None  # the motion word found, None when the default was used


def read_prompt(prompt: str, kind: LayerKind | None = None) -> MotionIntent:
    """The motion a prompt describes, read from its words (no model, no network)."""
    text = " ".join(prompt.lower().split())
    is_text = kind == LayerKind.TEXT
    for word in VOCABULARY:
        match = re.search(word.pattern, text)
        if match is None:
            continue
        preset = word.text_preset if (is_text and word.text_preset) else word.preset
        params = dict(word.params) if preset == word.preset else {}
        direction = _direction(text, preset, word.direction)
        if preset == "float" and direction is not None:
            preset = "fly_away"  # "the balloon floats up and away" travels, it does not hover
        if direction is not None:
            params["direction"] = direction
        params.update(_strength(text))
        return MotionIntent(preset, with_placement_defaults(preset, _declared_only(preset, params)), match.group(0))
    preset = "bob" if is_text else "float"
    return MotionIntent(preset, with_placement_defaults(preset, _declared_only(preset, _strength(text))), None)


def _direction(text: str, preset: str, default: str | None) -> str | None:
    """The direction param: which way a travelling layer goes ("from the left" travels right)."""
    if preset not in ("slide_in", "fly_away", "float"):
        return None
    origin = re.search(r"\bfrom (?:the )?(left|right|top|bottom|above|below)\b", text)
    if origin:
        return _OPPOSITE[_EDGE_WORDS[origin.group(1)]]
    travel = re.search(r"\b(" + "|".join(_TRAVEL_WORDS) + r")\b", text)
    if travel:
        return _TRAVEL_WORDS[travel.group(1)]
    return "right" if preset == "slide_in" else default


def _strength(text: str) -> dict[str, Any]:
    """Amplitude and cycle count from adverbs ("gently", "wildly", "slowly", "fast")."""
    params: dict[str, Any] = {}
    gentle, wild = bool(_GENTLE.search(text)), bool(_WILD.search(text))
    if gentle != wild:
        params["amplitude"] = GENTLE_AMPLITUDE if gentle else WILD_AMPLITUDE
    fast, slow = bool(_FAST.search(text)), bool(_SLOW.search(text))
    if fast != slow:
        params["cycles"] = FAST_CYCLES if fast else SLOW_CYCLES
    return params


def _declared_only(preset: str, params: dict[str, Any]) -> dict[str, Any]:
    """Keep the parameters this preset takes (the registry decides, not the vocabulary)."""
    declared = declared_params(preset)
    return {name: value for name, value in params.items() if name in declared}


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
    intent = read_prompt(prompt, kind)
    swept = swept_boxes(static_boxes, canvas, intent.preset, intent.params)
    boxes = finalize_all(swept, static_boxes, canvas)
    settings = ", ".join(f"{name} {value}" for name, value in intent.params.items())
    how = f"{intent.preset} ({settings})" if settings else intent.preset
    if intent.cue is None:
        why = f"no motion word recognised, so the default {how}"
    else:
        why = f"'{intent.cue}' reads as {how}"
    room = describe_growth(swept, static_boxes, canvas)
    return HeuristicPlan(intent.preset, intent.params, boxes, f"{why}; {room}, on the 16-px grid.")
