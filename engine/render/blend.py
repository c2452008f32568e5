"""Blend-mode math: psd-tools' own formulas, applied to premultiplied canvases.

The blend functions B(Cb, Cs) are taken from psd_tools.composite.blend rather than
rewritten, so a poster we render and the composite psd-tools makes of the same file use
the same arithmetic (including its epsilons and edge cases). What we add is the
compositing around them, in premultiplied form:

    P' = (1 - as) * P + as * (1 - ab) * Cs + as * ab * B(Cb, Cs)
    A' = as + ab - as * ab

with P = ab * Cb the premultiplied backdrop and as the source alpha (coverage x opacity).
This is the W3C/PDF formula psd-tools evaluates in straight form in Compositor._apply_source.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from psd_tools.composite import blend as psd_blend
from psd_tools.constants import BlendMode

from engine.core.poster import BLEND_MODES

BlendFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Every mode of BLEND_MODES mapped to psd-tools' function for it (dissolve falls back to
#: normal there too, so static renders keep matching).
BLEND_FUNCTIONS: dict[str, BlendFunction] = {
    name: psd_blend.BLEND_FUNC[BlendMode[name.upper()]] for name in BLEND_MODES
}


def composite_normal(canvas_rgb: np.ndarray, canvas_alpha: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> None:
    """Source-over in place: canvas premultiplied float32, source premultiplied float32.

    `rgb` is already multiplied by `alpha`, which is why a pre-flattened run of static
    layers can be applied with this same call.
    """
    keep = 1.0 - alpha
    canvas_rgb *= keep
    canvas_rgb += rgb
    canvas_alpha *= keep
    canvas_alpha += alpha


def composite_blend(
    mode: str, canvas_rgb: np.ndarray, canvas_alpha: np.ndarray, rgb: np.ndarray, alpha: np.ndarray,
    straight: np.ndarray | None = None,
) -> None:
    """Any blend mode in place; `rgb` premultiplied by `alpha` as in composite_normal.

    `straight` is the source's straight colour (`straight_colour(rgb, alpha)`) when the
    caller keeps it: a static layer re-applied every frame unpremultiplies once, not per frame.
    """
    if mode == "normal" or mode == "dissolve":
        composite_normal(canvas_rgb, canvas_alpha, rgb, alpha)
        return
    backdrop = _unpremultiply(canvas_rgb, canvas_alpha, fill=1.0)
    source = straight_colour(rgb, alpha) if straight is None else straight
    blended = BLEND_FUNCTIONS[mode](backdrop, source)
    mixed = (1.0 - canvas_alpha) * source + canvas_alpha * np.asarray(blended, dtype=np.float32)
    canvas_rgb *= 1.0 - alpha
    canvas_rgb += alpha * mixed
    canvas_alpha += alpha - alpha * canvas_alpha


def straight_colour(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """A blend source's straight colour, as composite_blend computes it."""
    return _unpremultiply(rgb, alpha, fill=1.0)


def _unpremultiply(rgb: np.ndarray, alpha: np.ndarray, fill: float) -> np.ndarray:
    """Straight colour from premultiplied; `fill` where alpha is zero (psd-tools' white canvas)."""
    covered = alpha > 0
    straight = rgb / np.where(covered, alpha, np.float32(1.0))  # float32 throughout, as before
    np.copyto(straight, np.float32(fill), where=~covered)
    return np.clip(straight, 0.0, 1.0, out=straight)
