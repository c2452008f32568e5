"""The model's spatial grid in poster pixels, and the plain box the model package speaks.

The grid is the model's, not the poster's: the HunyuanVideo VAE compresses 8× in space
(one latent cell covers 8×8 poster pixels) and the transformer packs 2×2 latent cells
into one token (16×16 poster pixels). Motion boxes are planned on the token lattice so
that a layer's latent tokens line up with the poster's global grid (4D-RoPE positions).
One name per number, here, so the planner, the poster model and the data chain cannot
drift apart; the module is pure Python (no torch), so importing it costs nothing.

`GridBox` exists so that engine.dmdl needs nothing of engine.core: the rest of the engine
hands in its own Box (anything with x, y, w, h) or an (x, y, w, h) tuple.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from engine.dmdl.errors import DMDLError

#: Poster pixels per latent cell side: the VAE's spatial compression.
LATENT_PIXELS = 8
#: Latent cells per token side: the transformer's spatial patch.
PATCH_CELLS = 2
#: Poster pixels per token side: the lattice motion boxes are planned on.
TOKEN_PIXELS = LATENT_PIXELS * PATCH_CELLS


class GridBox(NamedTuple):
    """A rectangle in poster pixels (left, top, width, height), as the model reads boxes."""

    x: int
    y: int
    w: int
    h: int

    @classmethod
    def from_any(cls, value: Any) -> "GridBox":
        """Accept a GridBox, anything with integer x, y, w, h (the engine's Box), or a 4-sequence."""
        if isinstance(value, GridBox):
            return value
        if all(hasattr(value, name) for name in ("x", "y", "w", "h")):
            parts = [value.x, value.y, value.w, value.h]
        else:
            parts = list(value) if isinstance(value, (tuple, list)) else []
        try:
            numbers = [float(p) for p in parts if not isinstance(p, bool)]
        except (TypeError, ValueError):
            numbers = []
        if len(numbers) != 4 or not all(n.is_integer() for n in numbers):
            raise DMDLError(f"A box is four whole numbers x, y, width, height; got {value!r}.")
        x, y, w, h = (int(n) for n in numbers)
        if w < 0 or h < 0:
            raise DMDLError(f"A box cannot have a negative size ({w}×{h}).")
        return cls(x, y, w, h)

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def is_empty(self) -> bool:
        return self.w == 0 or self.h == 0

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    def contains(self, other: "GridBox") -> bool:
        return self.x <= other.x and self.y <= other.y and other.right <= self.right and other.bottom <= self.bottom

