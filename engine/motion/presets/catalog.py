"""The preset menu: every preset's id, label, description and parameters, in one table.

The editor builds its preset dropdown and parameter controls from `PRESETS`; the planner
and the prompt mapper read parameter names and ranges from here; `Preset.validate` is the
one place a bad parameter is caught and explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from engine.motion.params import ParamSpec, named, validate
from engine.motion.presets import camera, particles, reveal, surface, transforms, travel, warps
from engine.motion.presets.easing import EASINGS
from engine.motion.presets.resample import FramePlan
from engine.motion.presets.stage import Stage

Builder = Callable[[Stage, dict[str, Any], np.ndarray], FramePlan]


@dataclass(frozen=True)
class Preset:
    """A procedural motion the designer can pick from the menu."""

    name: str
    label: str
    description: str
    params: dict[str, ParamSpec]
    build: Builder = field(repr=False, compare=False)
    for_text: bool = False  # a text-first effect: the prompt mapper prefers it for type layers
    #: The phase a prompt that picks this preset plays it in (an entrance is "in") ...
    default_phase: str = "loop"
    #: ... or, where a setting decides it, the phase per setting: {"in": {"shape": "in"}};
    #: playing the preset in that phase also applies the setting.
    phase_params: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    #: The stretch of the one-shot motion's clip time (loop off) that is the preset's
    #: entrance (hidden .. static) or exit (static .. gone). The other phase plays it
    #: backwards; a preset with neither plays one cycle of its loop, which starts and
    #: ends on the static layer.
    spans: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    #: The settings under which every frame is one affine map of the layer ({} for the
    #: rigid presets, no bend for a sway), so it can play at the same time as another such
    #: motion (engine.motion.presets.compose); None: it bends, reveals or draws, and cannot.
    rigid: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def combines(self) -> bool:
        """Whether this motion can play at the same time as another rigid one."""
        return self.rigid is not None

    def moves_rigidly(self, params: dict[str, Any]) -> bool:
        """Whether these settings move the layer as one piece (a travel that wraps around
        its box does not: the picture leaves one edge while it re-enters at the other)."""
        return self.combines and not any(params.get(name) == value for name, value in NOT_RIGID.get(self.name, ()))

    @property
    def placement_params(self) -> tuple[str, ...]:
        """The parameters that decide where the motion goes (which way, about which point)."""
        return tuple(name for name in PLACEMENT if name in self.params)

    @property
    def phase_is_delay(self) -> bool:
        """Whether `phase` delays a one-shot motion rather than shifting a repeating one."""
        return self.params.get("phase") == DELAY

    def natural_phase(self, params: dict[str, Any] | None = None) -> str:
        """The phase these settings play in when nothing else says (a fade "in" enters)."""
        params = params or {}
        for phase, wanted in self.phase_params.items():
            if all(params.get(name) == value for name, value in wanted.items()):
                return phase
        return self.default_phase

    def span(self, phase: str) -> tuple[float, float] | None:
        """Clip time (from, to) of the one-shot motion that plays `phase` ("in" or "out"):
        an entrance ends on the static layer, an exit starts on it; None: no such stretch."""
        if phase in self.spans:
            return self.spans[phase]
        other = {"in": "out", "out": "in"}[phase]
        if other in self.spans:
            start, end = self.spans[other]
            return end, start
        return None

    def defaults(self) -> dict[str, Any]:
        return {name: spec.default for name, spec in self.params.items()}

    def validate(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults filled in, every value checked; unknown names are an error, not ignored."""
        return validate(self.params.values(), params, f"preset '{self.name}'")


#: Settings under which a rigid preset is not one affine map per frame: (name, value) pairs.
NOT_RIGID: dict[str, tuple[tuple[str, Any], ...]] = {"travel": (("mode", "wrap"),)}


# --- shared parameters: the same name means the same thing in every preset -------------

#: Parameters that decide where a motion carries the layer, so a planned box depends on them.
PLACEMENT: tuple[str, ...] = ("direction", "pivot", "mode")


def amplitude(default: float = 0.5) -> ParamSpec:
    return ParamSpec("float", default, 0.0, 1.0, help="How strong the motion is: 0.5 normal, 1 wild, 0 none.")


def cycles(default: int = 1) -> ParamSpec:
    return ParamSpec("int", default, 1, 8, help="How many times the motion repeats in the clip.")


def easing(default: str = "sine") -> ParamSpec:
    return ParamSpec("choice", default, choices=tuple(EASINGS), help="The speed curve of each movement.")


def pivot(default: str = "center", choices: tuple[str, ...] = ("center", "bottom", "top", "left", "right")) -> ParamSpec:
    return ParamSpec("choice", default, choices=choices, help="The point of the layer the motion turns or grows about.")


def direction(default: str, choices: tuple[str, ...] = ("up", "down", "left", "right"), help: str = "") -> ParamSpec:
    return ParamSpec("choice", default, choices=choices, help=help or "Which way the layer travels.")


def phase(help: str = "Where in its cycle the motion starts (0..1); in a group, layers differ by the stagger.") -> ParamSpec:
    return ParamSpec("float", 0.0, 0.0, 1.0, help=help, label="Cycle offset")  # not the timeline's Phase


#: One-shot motions (reveals, entrances, a spin) read `phase` as a delay, not a cycle shift.
DELAY = ParamSpec("float", 0.0, 0.0, 1.0, help="A delay before the motion starts, as a fraction of the clip (0..1).",
                  name="phase", label="Delay")


def loop(default: bool = True) -> ParamSpec:
    return ParamSpec("bool", default, help="Make the clip loop seamlessly (its end flows into its start).")


def stagger() -> ParamSpec:
    return ParamSpec(
        "float", 0.0, 0.0, 0.5,
        help="For a group sharing one prompt: how much later each layer starts than the one before (0..0.5 of a cycle).",
    )


def waves(default: float = 1.0) -> ParamSpec:
    return ParamSpec("float", default, 0.25, 4.0, help="How many wave crests fit along the layer.")


#: Labels the editor shows where the capitalised name would not say enough.
LABELS = {"face": "Face the way it travels", "preroll": "Already falling at the start", "loop": "Seamless loop", "waves": "Wave crests", "depth": "Fade depth", "axis": "Shake axis"}


def _common(**specific: ParamSpec) -> dict[str, ParamSpec]:
    """A preset's own parameters plus the ones every preset has, named and labelled."""
    return named({**specific, "loop": loop(), "stagger": stagger()}, LABELS)


_PRESET_LIST: tuple[Preset, ...] = (
    Preset("bob", "Bob up and down", "The paper's text effect: a calm vertical up–down oscillation.",
           _common(amplitude=amplitude(), cycles=cycles(2), easing=easing(), phase=phase()),
           transforms.bob, for_text=True, rigid={}),
    Preset("wave_rotate", "Wave rotation", "The paper's text effect: letters rock back and forth in a wave travelling along the text.",
           _common(amplitude=amplitude(), cycles=cycles(1), easing=easing(), waves=waves(1.0),
                   direction=direction("right", ("left", "right"), "Which way the wave travels."), phase=phase()),
           warps.wave_rotate, for_text=True),
    Preset("text_wave", "Text wave", "Columns rise and sink one after another, like a stadium wave running through the letters.",
           _common(amplitude=amplitude(), cycles=cycles(1), easing=easing(), waves=waves(1.0),
                   direction=direction("right", ("left", "right"), "Which way the wave travels."), phase=phase()),
           warps.text_wave, for_text=True),
    Preset("typewriter", "Typewriter", "Letters appear one by one in reading order (a soft wipe for artwork).",
           _common(cycles=cycles(1), easing=easing("linear"),
                   direction=direction("right", help="Reading direction of the reveal: right = left to right."),
                   phase=DELAY),
           reveal.typewriter, for_text=True, default_phase="in", spans={"in": (0.07, 0.8)}),
    Preset("fade", "Fade out and in", "The layer fades away and comes back (or only fades in, or out).",
           _common(depth=ParamSpec("float", 1.0, 0.0, 1.0, help="How far it fades: 1 vanishes completely."),
                   cycles=cycles(1), easing=easing(), phase=DELAY,
                   shape=ParamSpec("choice", "out_in", choices=("out_in", "in", "out"),
                                   help="out_in fades away and back; in is an entrance that stays; out an exit at the end.")),
           reveal.fade, phase_params={"in": {"shape": "in"}, "out": {"shape": "out"}},
           spans={"in": (0.06, 0.45), "out": (0.55, 1.0)}),
    Preset("slide_in", "Slide in", "Enters from the motion box's edge and settles in place.",
           _common(amplitude=amplitude(), easing=easing("ease_out"),
                   direction=direction("right", help="Which way the layer travels: right = enters from the left."),
                   phase=DELAY),
           transforms.slide_in, default_phase="in", spans={"in": (0.14, 1.0)}, rigid={}),
    Preset("float", "Float", "Drifts gently up and down with a slight lazy tilt.",
           _common(amplitude=amplitude(), cycles=cycles(1), easing=easing(), phase=phase()),
           transforms.float_, rigid={}),
    Preset("sway", "Sway", "Rocks about its base like a plant in the breeze, bending toward the top.",
           _common(amplitude=amplitude(), cycles=cycles(1), easing=easing(), pivot=pivot("bottom"),
                   bend=ParamSpec("float", 0.6, 0.0, 1.0, help="0 rocks rigidly, 1 bends like a stem rooted at the pivot."),
                   phase=phase()),
           warps.sway, rigid={"bend": 0.0}),
    Preset("breathe", "Breathe / pulse", "Swells and relaxes in size.",
           _common(amplitude=amplitude(), cycles=cycles(2), easing=easing(), pivot=pivot("center"), phase=phase()),
           transforms.breathe, rigid={}),
    Preset("bounce", "Bounce", "Jumps with squash on take-off and landing and stretch in the air.",
           _common(amplitude=amplitude(), cycles=cycles(1),
                   squash=ParamSpec("float", 0.5, 0.0, 1.0, help="How much it squashes and stretches."),
                   phase=DELAY),
           transforms.bounce, rigid={}),
    Preset("shake", "Shake", "Bursts of trembling.",
           _common(amplitude=amplitude(), cycles=cycles(2),
                   axis=ParamSpec("choice", "horizontal", choices=("horizontal", "vertical", "both"), help="Which way it shakes."),
                   phase=phase()),
           transforms.shake, rigid={}),
    Preset("spin", "Spin", "Turns around its pivot, whole turns per clip.",
           _common(cycles=cycles(1), easing=easing("ease_in_out"), pivot=pivot("center"),
                   direction=direction("right", ("left", "right"), "right = clockwise, left = counter-clockwise."),
                   angle=ParamSpec("float", 360.0, 5.0, 360.0,
                                   help="Degrees per turn: 360 whole turns; less turns that far and swings back (a slow spin)."),
                   phase=DELAY),
           transforms.spin, rigid={}),
    Preset("flag_wave", "Flag wave", "Waves like cloth on a pole: ripples grow toward the free edge.",
           _common(amplitude=amplitude(), cycles=cycles(1), waves=waves(1.5), pivot=pivot("left", ("left", "right")),
                   shading=ParamSpec("bool", True, help="Darken and lighten the folds a little."), phase=phase()),
           warps.flag_wave),
    Preset("jelly", "Jelly wobble", "Wobbles like jelly on its base, squashing and stretching.",
           _common(amplitude=amplitude(), cycles=cycles(2), easing=easing(), phase=phase()),
           warps.jelly),
    Preset("zoom", "Zoom", "Grows toward the viewer (or shrinks away) and comes back in a loop.",
           _common(amplitude=amplitude(), easing=easing("ease_in_out"), pivot=pivot("center"),
                   mode=ParamSpec("choice", "in", choices=("in", "out"), help="in grows, out shrinks."),
                   phase=DELAY),
           transforms.zoom, rigid={}),
    Preset("fly_away", "Fly away", "Accelerates toward an edge of the motion box and fades out; in a loop it pops back.",
           _common(amplitude=amplitude(), easing=easing("ease_in"), direction=direction("up"), phase=DELAY),
           transforms.fly_away, default_phase="out", spans={"out": (0.06, 1.0)}, rigid={}),
    Preset("travel", "Travel (loops)", "Drifts, swims, rises or flies along a direction and loops: swings back, or wraps around its box.",
           _common(amplitude=amplitude(), cycles=cycles(1), easing=easing(), direction=direction("right"),
                   mode=ParamSpec("choice", "swing", choices=("swing", "wrap"),
                                  help="swing goes out and back; wrap leaves one edge of the box and re-enters at the other."),
                   crop=ParamSpec("bool", False, help="A swing may leave its box on the way it travels, cropped there "
                                                      "(set by the planner when that edge is the poster's edge)."),
                   face=ParamSpec("bool", True, help="Mirror a layer drawn facing the other way (a fish, a bird: read "
                                                     "from its silhouette) so it travels head first."),
                   phase=phase()),
           travel.travel, rigid={}),
    Preset("parallax", "Parallax drift", "A gentle sideways drift; far layers (depth 1) move less than near ones.",
           _common(amplitude=amplitude(), cycles=cycles(1), easing=easing(), direction=direction("right", ("left", "right")),
                   depth=ParamSpec("float", 0.5, 0.0, 1.0, help="0 near (moves most) .. 1 far (moves least)."),
                   phase=phase()),
           travel.parallax),
    Preset("flutter", "Flutter / flap", "Wings flapping: a fast squash of the width about the body, with a slight lift.",
           _common(amplitude=amplitude(), cycles=cycles(6), pivot=pivot("center"), phase=phase()),
           transforms.flutter, rigid={}),
    Preset("flicker", "Flicker / twinkle / glow", "Light that flickers, twinkles or pulses; it dims but never vanishes.",
           _common(amplitude=amplitude(), cycles=cycles(2),
                   style=ParamSpec("choice", "pulse", choices=("flicker", "twinkle", "pulse"), help="How the light changes.")),
           reveal.flicker),
    Preset("shimmer", "Shimmer", "Soft waves of light move over the layer; nothing moves.",
           _common(amplitude=amplitude(), cycles=cycles(1)),
           surface.shimmer),
    Preset("ripple", "Ripple", "Water-like ripples run through the picture inside its own frame (no room needed).",
           _common(amplitude=amplitude(), cycles=cycles(1)),
           surface.ripple),
    Preset("caustics", "Water caustics", "Moving net of light and a gentle ripple, as under water.",
           _common(amplitude=amplitude(), cycles=cycles(1)),
           surface.caustics),
    Preset("push_in", "Push in (Ken Burns)", "The camera pushes in toward the pivot and back, cropped at the layer's frame.",
           _common(amplitude=amplitude(), cycles=cycles(1), easing=easing("ease_in_out"), pivot=pivot("center"), phase=phase()),
           camera.push_in),
    Preset("pan", "Pan (Ken Burns)", "The picture pans inside its own frame and back, enlarged just enough to hide the edges.",
           _common(amplitude=amplitude(), cycles=cycles(1), easing=easing("ease_in_out"), direction=direction("right"), phase=phase()),
           camera.pan),
    Preset("pop_in", "Pop in", "An entrance: pops up from small with a little overshoot, then stays.",
           _common(amplitude=amplitude(0.3), pivot=pivot("center"), phase=DELAY),
           transforms.pop_in, default_phase="in", spans={"in": (0.08, 0.4)}, rigid={}),
    Preset("particles", "Particles", "Rain, snow, bubbles, confetti or sparkles drawn over the layer's area.",
           _common(style=ParamSpec("choice", "snow", choices=tuple(particles.LOOKS), help="What falls or rises."),
                   density=ParamSpec("float", 0.5, 0.05, 1.0, help="How many particles."),
                   direction=direction("down"),
                   preroll=ParamSpec("bool", True, help="Already falling on frame 0, drawn over the unchanged layer "
                                                        "(off: frame 0 is the bare layer and they fade in).")),
           particles.particles),
)

#: Every preset by id, in menu order.
PRESETS: dict[str, Preset] = {preset.name: preset for preset in _PRESET_LIST}


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
