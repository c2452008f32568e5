"""Layer styles as data: what a Photoshop layer effect *is*, not how it is drawn.

A styled layer keeps its own (unstyled) pixels and a `LayerStyle` beside them, so a
motion moves the content and the style is drawn again from each frame's alpha: a
spinning badge keeps its shadow falling down-right. The parameters are plain numbers,
colours and names in Photoshop's units (pixels, degrees, 0..1 opacities, sRGB 0..1
colours), so they go into project files and bundle manifests as JSON, and a tool that
rebuilds a poster from a bundle can redraw them. Parsing lives in engine.psd.effects,
drawing in engine.render.effects; this module is shared by both and by the Layer model.

Each effect is its own frozen dataclass with a `kind` literal, which is what lets a
manifest read back into the right class.
"""

from __future__ import annotations

import base64
import io
import math
from functools import lru_cache
from dataclasses import dataclass, field, fields, replace
from typing import Literal, Union

import numpy as np

RGB = tuple[float, float, float]

#: Photoshop's paint order of effects, bottom first: outer effects under the layer, the
#: layer's own pixels ("content"), then the inner effects over it.
EFFECT_ORDER: tuple[str, ...] = (
    "drop_shadow",
    "outer_glow",
    "content",
    "pattern_overlay",
    "gradient_overlay",
    "color_overlay",
    "satin",
    "inner_glow",
    "inner_shadow",
    "stroke",
    "bevel_emboss",
)

#: The words the import notice uses for each effect.
EFFECT_WORDS: dict[str, str] = {
    "drop_shadow": "drop shadow",
    "inner_shadow": "inner shadow",
    "outer_glow": "outer glow",
    "inner_glow": "inner glow",
    "color_overlay": "colour overlay",
    "gradient_overlay": "gradient overlay",
    "pattern_overlay": "pattern overlay",
    "stroke": "stroke",
    "satin": "satin",
    "bevel_emboss": "bevel and emboss",
}


@dataclass(frozen=True)
class GradientStop:
    """One colour stop: `location` 0..1 along the gradient, sRGB `color`, `opacity` 0..1."""

    location: float
    color: RGB = (0.0, 0.0, 0.0)
    opacity: float = 1.0


@dataclass(frozen=True)
class Gradient:
    """A gradient's stops and geometry, as a gradient overlay or a gradient stroke uses it.

    `style` is Photoshop's: linear, radial, angle, reflected, diamond. `angle` in degrees
    counter-clockwise from 3 o'clock, `scale` 1 = the layer's box, `offset` the centre's
    shift as a fraction of the box (Photoshop's percent / 100).
    `align` True lays the gradient across the layer's box, False across the canvas.
    """

    stops: tuple[GradientStop, ...]
    style: Literal["linear", "radial", "angle", "reflected", "diamond"] = "linear"
    angle: float = 90.0
    scale: float = 1.0
    reverse: bool = False
    align: bool = True
    offset: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class DropShadow:
    kind: Literal["drop_shadow"] = "drop_shadow"
    color: RGB = (0.0, 0.0, 0.0)
    opacity: float = 0.75
    blend_mode: str = "multiply"
    angle: float = 120.0  # light direction in degrees; the shadow falls the opposite way
    distance: float = 5.0
    spread: float = 0.0  # 0..1 of size grown hard before the blur
    size: float = 5.0
    knocked_out: bool = True  # Photoshop's "Layer knocks out drop shadow"


@dataclass(frozen=True)
class InnerShadow:
    kind: Literal["inner_shadow"] = "inner_shadow"
    color: RGB = (0.0, 0.0, 0.0)
    opacity: float = 0.75
    blend_mode: str = "multiply"
    angle: float = 120.0
    distance: float = 5.0
    spread: float = 0.0  # Photoshop's "choke"
    size: float = 5.0


@dataclass(frozen=True)
class OuterGlow:
    kind: Literal["outer_glow"] = "outer_glow"
    color: RGB = (1.0, 1.0, 0.745)
    opacity: float = 0.75
    blend_mode: str = "screen"
    spread: float = 0.0
    size: float = 5.0
    precise: bool = False  # technique "precise" (a hard distance) rather than "softer" (a blur)
    range: float = 0.5  # Photoshop's "range": the share of the glow the contour spans


@dataclass(frozen=True)
class InnerGlow:
    kind: Literal["inner_glow"] = "inner_glow"
    color: RGB = (1.0, 1.0, 0.745)
    opacity: float = 0.75
    blend_mode: str = "screen"
    spread: float = 0.0  # Photoshop's "choke"
    size: float = 5.0
    source: Literal["edge", "center"] = "edge"
    precise: bool = False
    range: float = 0.5


@dataclass(frozen=True)
class ColorOverlay:
    kind: Literal["color_overlay"] = "color_overlay"
    color: RGB = (1.0, 0.0, 0.0)
    opacity: float = 1.0
    blend_mode: str = "normal"


@dataclass(frozen=True)
class GradientOverlay:
    gradient: Gradient
    kind: Literal["gradient_overlay"] = "gradient_overlay"
    opacity: float = 1.0
    blend_mode: str = "normal"


@dataclass(frozen=True)
class PatternOverlay:
    """`tile` is the pattern's pixels, one tile, as a PNG in base64 (kept JSON-able)."""

    tile: str
    kind: Literal["pattern_overlay"] = "pattern_overlay"
    name: str = ""
    opacity: float = 1.0
    blend_mode: str = "normal"
    scale: float = 1.0
    phase: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Stroke:
    """A band around the layer's edge: `position` outside, inside or center of it."""

    kind: Literal["stroke"] = "stroke"
    size: float = 3.0
    position: Literal["outside", "inside", "center"] = "outside"
    color: RGB = (0.0, 0.0, 0.0)
    gradient: Gradient | None = None  # a gradient paint instead of the colour
    opacity: float = 1.0
    blend_mode: str = "normal"


@dataclass(frozen=True)
class Satin:
    kind: Literal["satin"] = "satin"
    color: RGB = (0.0, 0.0, 0.0)
    opacity: float = 0.5
    blend_mode: str = "multiply"
    angle: float = 19.0
    distance: float = 11.0
    size: float = 14.0
    invert: bool = True


@dataclass(frozen=True)
class BevelEmboss:
    """Bevel and emboss, the smooth technique: inner bevel, outer bevel, emboss, pillow emboss."""

    kind: Literal["bevel_emboss"] = "bevel_emboss"
    style: Literal["inner_bevel", "outer_bevel", "emboss", "pillow_emboss"] = "inner_bevel"
    direction_up: bool = True
    depth: float = 1.0  # 1 = 100 %
    size: float = 5.0
    soften: float = 0.0
    angle: float = 120.0
    altitude: float = 30.0
    highlight_color: RGB = (1.0, 1.0, 1.0)
    highlight_opacity: float = 0.75
    highlight_mode: str = "screen"
    shadow_color: RGB = (0.0, 0.0, 0.0)
    shadow_opacity: float = 0.75
    shadow_mode: str = "multiply"


Effect = Union[
    DropShadow, InnerShadow, OuterGlow, InnerGlow, ColorOverlay, GradientOverlay, PatternOverlay, Stroke, Satin,
    BevelEmboss,
]


@dataclass(frozen=True)
class LayerStyle:
    """A layer's enabled effects plus the fill opacity that fades its pixels but not them.

    `effects` may be in any order; renderers paint them in EFFECT_ORDER.
    """

    effects: tuple[Effect, ...] = field(default_factory=tuple)
    fill_opacity: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.fill_opacity <= 1.0:
            raise ValueError("A style's fill opacity must be between 0 and 1.")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(effect.kind for effect in self.effects)

    def ordered(self) -> list[Effect]:
        """The effects in Photoshop's paint order, bottom first."""
        return sorted(self.effects, key=lambda effect: EFFECT_ORDER.index(effect.kind))

    def reach(self) -> int:
        """How many pixels beyond the layer's own pixels the style can paint, on any side."""
        far = 0.0
        for effect in self.effects:
            if isinstance(effect, DropShadow):
                far = max(far, effect.distance + effect.size)
            elif isinstance(effect, OuterGlow):
                far = max(far, effect.size)
            elif isinstance(effect, Stroke) and effect.position != "inside":
                far = max(far, effect.size if effect.position == "outside" else effect.size / 2)
            elif isinstance(effect, BevelEmboss) and effect.style != "inner_bevel":
                far = max(far, effect.size + effect.soften)
        # Two pixels more for every style: an edge is measured against a clear pixel, so a
        # layer that fills its box still gets its inside stroke, inner shadow and bevel.
        return int(math.ceil(far)) + 2 if self.effects else 0

    def scaled(self, factor: float) -> "LayerStyle":
        """The same style for the layer drawn `factor` times as large (previews)."""
        if factor == 1:
            return self
        return replace(self, effects=tuple(_scaled_effect(effect, factor) for effect in self.effects))


_LENGTHS = ("distance", "size", "soften")


def _scaled_effect(effect: Effect, factor: float) -> Effect:
    changes = {f.name: getattr(effect, f.name) * factor for f in fields(effect) if f.name in _LENGTHS}
    if isinstance(effect, PatternOverlay):
        changes["scale"] = effect.scale * factor
    return replace(effect, **changes)


@lru_cache(maxsize=16)
def decode_tile(tile: str) -> np.ndarray:
    """A pattern tile (base64 PNG) as straight RGBA float32 0..1 (cached: frames reuse it)."""
    from PIL import Image  # noqa: PLC0415

    image = Image.open(io.BytesIO(base64.b64decode(tile))).convert("RGBA")
    return np.asarray(image, np.float32) / 255.0


def encode_tile(rgba: np.ndarray) -> str:
    """Straight RGBA uint8 -> the base64 PNG a PatternOverlay keeps (JSON-able, lossless)."""
    from PIL import Image  # noqa: PLC0415

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), "RGBA").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
