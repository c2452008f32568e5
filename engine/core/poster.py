"""The poster data model shared by every part of the product.

A `Poster` is what a PSD becomes after import: a canvas size and its leaf layers in paint
order, each holding straight-alpha RGBA pixels cropped to its own bounding box. Everything
downstream (compositor, motion engines, planner, exporters, the editor) speaks only this
model, so none of them needs to know about psd-tools.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace

import numpy as np

from engine.core.style import LayerStyle


class PosterError(Exception):
    """A problem with a poster or a request about it, phrased for a designer.

    The message says what is wrong and what to do; it is shown as-is in the editor and on
    the command line, so it never contains a traceback or internal jargon.
    """


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in poster pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        for name in ("x", "y", "w", "h"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise PosterError(f"Box {name} must be a whole number of pixels, got {value!r}.")
            object.__setattr__(self, name, int(value))
        if self.w < 0 or self.h < 0:
            raise PosterError(f"A box cannot have a negative size ({self.w}×{self.h}).")

    @classmethod
    def from_any(cls, value: "Box | tuple | list | str") -> "Box":
        """Accept a Box, an (x, y, w, h) sequence, or the text "x,y,w,h" a designer types."""
        if isinstance(value, Box):
            return value
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
        else:
            parts = list(value)
        if len(parts) != 4:
            raise PosterError(f"A box needs four numbers x, y, width, height; got {value!r}.")
        try:
            numbers = [float(p) for p in parts]
        except (TypeError, ValueError):
            raise PosterError(f"A box needs four numbers x, y, width, height; got {value!r}.") from None
        if not all(math.isfinite(n) for n in numbers):
            raise PosterError(f"Box values must be finite numbers; got {value!r}.")
        return cls(*(int(round(n)) for n in numbers))

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def is_empty(self) -> bool:
        return self.w == 0 or self.h == 0

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    def contains(self, other: "Box") -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def intersection(self, other: "Box") -> "Box":
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1, y1 = min(self.right, other.right), min(self.bottom, other.bottom)
        return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def union(self, other: "Box") -> "Box":
        if self.is_empty:
            return other
        if other.is_empty:
            return self
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1, y1 = max(self.right, other.right), max(self.bottom, other.bottom)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def clamp_to(self, width: int, height: int) -> "Box":
        """The part of this box that lies on a width×height canvas."""
        return self.intersection(Box(0, 0, width, height))

    def expand(self, left: int = 0, top: int = 0, right: int = 0, bottom: int = 0) -> "Box":
        return Box(self.x - left, self.y - top, self.w + left + right, self.h + top + bottom)

    def snap_out(self, grid: int) -> "Box":
        """Grow to the smallest box on a `grid`-pixel lattice that contains this one.

        The diffusion model works on latent tokens of 16×16 poster pixels, so motion boxes
        live on that lattice.
        """
        x0 = (self.x // grid) * grid
        y0 = (self.y // grid) * grid
        x1 = -(-self.right // grid) * grid
        y1 = -(-self.bottom // grid) * grid
        return Box(x0, y0, x1 - x0, y1 - y0)


class LayerKind(str, enum.Enum):
    PIXEL = "pixel"
    TEXT = "text"
    SHAPE = "shape"
    SMART_OBJECT = "smart_object"
    FILL = "fill"
    BAKED = "baked"  # several PSD layers flattened into one (adjustments, clipping, groups)


#: The blend modes the compositor implements, named as in Photoshop's menu.
BLEND_MODES: tuple[str, ...] = (
    "normal",
    "dissolve",
    "darken",
    "multiply",
    "color_burn",
    "linear_burn",
    "darker_color",
    "lighten",
    "screen",
    "color_dodge",
    "linear_dodge",
    "lighter_color",
    "overlay",
    "soft_light",
    "hard_light",
    "vivid_light",
    "linear_light",
    "pin_light",
    "hard_mix",
    "difference",
    "exclusion",
    "subtract",
    "divide",
    "hue",
    "saturation",
    "color",
    "luminosity",
)


@dataclass
class Layer:
    """One leaf layer, ready to composite.

    `pixels` is straight-alpha RGBA uint8 of shape (box.h, box.w, 4) in sRGB. `opacity`
    already folds in fill opacity and every enclosing group's opacity, and `visible`
    every enclosing group's visibility, so consumers never walk the group tree. A layer
    with a `style` keeps its pixels unstyled and its fill opacity in the style (which
    fades the pixels but not the effects); the compositor draws the style from the
    pixels, or from each frame of the layer's clip, so motion moves the content and the
    style follows.
    """

    id: int
    name: str
    pixels: np.ndarray
    box: Box
    kind: LayerKind = LayerKind.PIXEL
    group_path: tuple[str, ...] = ()
    opacity: float = 1.0
    blend_mode: str = "normal"
    visible: bool = True
    text: str | None = None
    fonts: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()  # features of this layer the render cannot reproduce
    style: LayerStyle | None = None  # effects drawn from `pixels` by the compositor (engine.render.effects)

    def __post_init__(self) -> None:
        if self.pixels.dtype != np.uint8 or self.pixels.ndim != 3 or self.pixels.shape[2] != 4:
            raise PosterError(f"Layer '{self.name}' must hold RGBA uint8 pixels.")
        if self.pixels.shape[:2] != (self.box.h, self.box.w):
            raise PosterError(
                f"Layer '{self.name}' pixels are {self.pixels.shape[1]}×{self.pixels.shape[0]} "
                f"but its box is {self.box.w}×{self.box.h}."
            )
        if self.blend_mode not in BLEND_MODES:
            raise PosterError(f"Layer '{self.name}' has an unknown blend mode '{self.blend_mode}'.")
        if not 0.0 <= self.opacity <= 1.0:
            raise PosterError(f"Layer '{self.name}' opacity must be between 0 and 1.")

    @property
    def group(self) -> str:
        """The group path as one readable string, e.g. "Title / Words"."""
        return " / ".join(self.group_path)

    def with_pixels(self, pixels: np.ndarray, box: Box) -> "Layer":
        return replace(self, pixels=pixels, box=box)


@dataclass
class Poster:
    """A canvas and its leaf layers in paint order (bottom first)."""

    width: int
    height: int
    layers: list[Layer]
    name: str = "poster"
    unsupported: list[str] = field(default_factory=list)  # file-level notices for the UI

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise PosterError("A poster needs a canvas at least one pixel wide and tall.")
        ids = [layer.id for layer in self.layers]
        if len(set(ids)) != len(ids):
            raise PosterError("Two layers of this poster share an id.")

    @property
    def canvas(self) -> Box:
        return Box(0, 0, self.width, self.height)

    def layer(self, key: int | str) -> Layer:
        """Find a layer by id or by name (names are matched exactly, then case-insensitively)."""
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            for layer in self.layers:
                if layer.id == key:
                    return layer
            raise PosterError(f"This poster has no layer with id {key}.")
        matches = [layer for layer in self.layers if layer.name == key]
        if not matches:
            matches = [layer for layer in self.layers if layer.name.lower() == str(key).lower()]
        if not matches:
            names = ", ".join(f"'{layer.name}'" for layer in self.layers[:12])
            raise PosterError(f"This poster has no layer named '{key}'. Its layers are: {names}.")
        if len(matches) > 1:
            raise PosterError(
                f"Several layers are named '{key}'; pick one by id "
                f"({', '.join(str(m.id) for m in matches)})."
            )
        return matches[0]
