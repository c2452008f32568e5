"""Gray-background video -> transparent layer frames: the matte behind the image-to-video
engines and the TDL builder (paper section 3, stage II).

An image-to-video model only draws RGB, so a layer goes in composited over 50 % gray and its
video comes back over that same gray. The background is known exactly, which makes the
matte a per-pixel equation, C = a*F + (1 - a)*G, with the foreground colour F unknown: three
equations, four unknowns. Two closed-form answers, one table (`MATTING_METHODS`):

- ``color_to_alpha``: the least alpha that keeps F inside [0, 1]. Exact for saturated and
  very dark or light colours, but a muted colour (a beige, a slate blue) comes out half
  transparent, because it is close to gray.
- ``palette`` (default): the static layer tells us which colours the foreground is made of.
  Each pixel takes the palette colour that explains it best along the line from gray, with
  the alpha that colour implies; where no palette colour explains it (the model drew
  something new: a splash, a spark), it falls back to ``color_to_alpha``.

A third, ``vitmatte``, is offered when a learned model is configured (`I2V_MATTING_MODEL`,
engine.motion.matting_model): the palette matte's sure foreground and sure background,
each shrunk by `TRIMAP_BAND` pixels, make a trimap; ViTMatte, fed the frame over gray,
decides the unknown band between them (soft edges, blur, new shapes) and the sure regions
keep the closed-form alpha, which is exact there.

In all, colour is un-premultiplied from the gray (F = G + (C - G) / a), codec noise around
the gray is treated as background, and frame 0 is the static layer itself, bit for bit: the
model's first frame is only a re-encoding of it. Quality against ground truth is measured by
`matte_quality` (tests/test_matting.py, benchmarks/matting.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, NamedTuple

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.ndimage import binary_erosion

from engine.core.poster import PosterError
from engine.motion import matting_model

#: The background the layer is composited on before generation, as a fraction of white.
GRAY = 0.5
#: Differences from the gray below this (per channel, 0..1) are codec noise, not foreground.
NOISE_FLOOR = 3.0 / 255.0
#: Palette colours closer than this to the gray cannot be told from the background.
MIN_CONTRAST = 0.06
#: A palette colour explains a pixel when it leaves at most this much colour unexplained.
FIT_TOLERANCE = 0.05
#: At most this many palette colours: enough for a poster layer, cheap per pixel.
PALETTE_SIZE = 32
#: Alpha at or above this is sure foreground, at or below 1 - this sure background (trimap).
SURE_ALPHA = 0.95
#: Pixels each sure region loses at its edge: the unknown band a learned matte decides.
TRIMAP_BAND = 3
#: Pixels of context the learned model sees round the unknown band (its crop of the frame).
MODEL_CONTEXT = 32


def over_gray(rgba: np.ndarray, background: float = GRAY) -> np.ndarray:
    """Straight-alpha RGBA uint8 (..., 4) laid over the gray: RGB uint8 (..., 3), as a model sees it."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) / 255.0 * alpha + np.float32(background) * (1.0 - alpha)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _to_rgba(difference: np.ndarray, alpha: np.ndarray, background: float) -> np.ndarray:
    """Alpha and the gray-relative difference -> straight RGBA uint8, colour zero where clear."""
    alpha = np.where(np.abs(difference).max(axis=-1) < NOISE_FLOOR, 0.0, alpha)
    alpha8 = np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
    safe = np.maximum(alpha, 1e-6)[..., None]
    colour = np.clip(background + difference / safe, 0.0, 1.0)
    colour = np.where(alpha8[..., None] > 0, colour, 0.0)
    out = np.empty(alpha.shape + (4,), dtype=np.uint8)
    out[..., :3] = np.clip(colour * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out[..., 3] = alpha8
    return out


def least_alpha(difference: np.ndarray, background: float = GRAY) -> np.ndarray:
    """Per pixel, the least alpha that keeps every channel of F inside [0, 1]."""
    room = np.where(difference >= 0, 1.0 - background, background)
    return np.clip((np.abs(difference) / room).max(axis=-1), 0.0, 1.0)


@dataclass(frozen=True)
class Palette:
    """The foreground colours of a static layer, relative to the gray: (K, 3) float32."""

    offsets: np.ndarray

    @classmethod
    def of_layer(cls, static: np.ndarray, background: float = GRAY, size: int = PALETTE_SIZE) -> "Palette":
        """K-means over the layer's solid pixels (deterministic), minus colours too close to gray."""
        alpha = static[..., 3]
        solid = static[alpha >= 242][:, :3]
        if solid.shape[0] == 0:
            solid = static[alpha > 0][:, :3]
        if solid.shape[0] == 0:
            return cls(np.zeros((0, 3), np.float32))
        colours = solid.astype(np.float32) / 255.0
        if colours.shape[0] > 20_000:  # plenty for a palette, and k-means stays instant
            colours = colours[np.random.default_rng(0).choice(colours.shape[0], 20_000, replace=False)]
        unique = np.unique(np.round(colours * 64), axis=0).shape[0]
        count = max(1, min(size, unique))
        centres, _ = kmeans2(colours.astype(np.float64), count, minit="++", seed=0)
        offsets = (centres - background).astype(np.float32)
        keep = np.linalg.norm(offsets, axis=1) >= MIN_CONTRAST
        return cls(offsets[keep])

    def matte(self, difference: np.ndarray, background: float = GRAY) -> np.ndarray:
        """Alpha per pixel from the best-fitting palette colour, or the least alpha where none fits."""
        fallback = least_alpha(difference, background)
        if self.offsets.shape[0] == 0:
            return fallback
        # Most of a motion box is plain gray: fit the palette only where something is drawn.
        drawn = np.abs(difference).max(axis=-1) >= NOISE_FLOOR
        alpha = np.zeros(difference.shape[:-1], np.float32)
        alpha[drawn] = self._fit(difference[drawn], fallback[drawn])
        return alpha

    def _fit(self, flat: np.ndarray, fallback: np.ndarray) -> np.ndarray:
        """Alpha of (N, 3) gray-relative colours: the best palette colour's, or `fallback`."""
        norms = (self.offsets ** 2).sum(axis=1)  # (K,)
        dots = flat @ self.offsets.T  # (N, K)
        alphas = np.clip(dots / norms, 0.0, 1.0)
        # |D - a d|^2 = |D|^2 - 2 a (D.d) + a^2 |d|^2, without building (N, K, 3)
        residual = (flat ** 2).sum(axis=1, keepdims=True) - 2 * alphas * dots + alphas ** 2 * norms
        best = residual.argmin(axis=1)
        rows = np.arange(flat.shape[0])
        fits = residual[rows, best] <= FIT_TOLERANCE ** 2
        return np.where(fits, alphas[rows, best], fallback)


def _matte_frames(
    frames: Iterable[np.ndarray], static: np.ndarray, background: float, alpha_of: Callable[[np.ndarray], np.ndarray]
) -> Iterator[np.ndarray]:
    for index, frame in enumerate(frames):
        if frame.shape[:2] != static.shape[:2] or frame.ndim != 3 or frame.shape[2] < 3:
            raise PosterError(
                f"The generated video is {frame.shape[1]}×{frame.shape[0]} but the layer is "
                f"{static.shape[1]}×{static.shape[0]}: the matte needs them the same size."
            )
        if index == 0:
            yield static.copy()  # the model's first frame only re-encodes the static layer
            continue
        difference = frame[..., :3].astype(np.float32) / 255.0 - np.float32(background)
        yield _to_rgba(difference, alpha_of(difference), background)


def matte_color_to_alpha(frames: Iterable[np.ndarray], static: np.ndarray, background: float = GRAY) -> Iterator[np.ndarray]:
    """The least-alpha matte of every frame (RGB uint8 over gray -> RGBA uint8)."""
    return _matte_frames(frames, static, background, lambda d: least_alpha(d, background))


def matte_palette(frames: Iterable[np.ndarray], static: np.ndarray, background: float = GRAY) -> Iterator[np.ndarray]:
    """The matte guided by the static layer's own colours (RGB uint8 over gray -> RGBA uint8)."""
    palette = Palette.of_layer(static, background)
    return _matte_frames(frames, static, background, lambda d: palette.matte(d, background))


def trimap(alpha: np.ndarray, band: int = TRIMAP_BAND) -> np.ndarray:
    """A matting trimap (H, W) uint8 from an alpha (H, W): 255 sure foreground, 0 sure
    background, each eroded by `band` pixels, and 128 for the unknown band between them."""
    out = np.full(alpha.shape, 128, np.uint8)
    if band > 0:
        out[binary_erosion(alpha >= SURE_ALPHA, iterations=band, border_value=1)] = 255
        out[binary_erosion(alpha <= 1.0 - SURE_ALPHA, iterations=band, border_value=1)] = 0
    else:
        out[alpha >= SURE_ALPHA] = 255
        out[alpha <= 1.0 - SURE_ALPHA] = 0
    return out


def matte_vitmatte(
    frames: Iterable[np.ndarray], static: np.ndarray, background: float = GRAY, folder: str | None = None
) -> Iterator[np.ndarray]:
    """The palette matte with its unsure band decided by the learned model (RGB -> RGBA uint8).

    The model (`folder`, default `I2V_MATTING_MODEL`) is loaded before the first frame is
    asked for, so a missing or broken one is reported at once, not mid-stream.
    """
    model = matting_model.matting_model(folder)
    palette = Palette.of_layer(static, background)

    def alpha_of(difference: np.ndarray) -> np.ndarray:
        alpha = palette.matte(difference, background)
        regions = trimap(alpha)
        unknown = regions == 128
        if not unknown.any():
            return alpha
        # the model sees the band and some context round it, not the whole (mostly gray) box
        rows, cols = np.nonzero(unknown)
        y0, y1 = max(rows.min() - MODEL_CONTEXT, 0), rows.max() + 1 + MODEL_CONTEXT
        x0, x1 = max(cols.min() - MODEL_CONTEXT, 0), cols.max() + 1 + MODEL_CONTEXT
        crop = (slice(y0, y1), slice(x0, x1))
        over_gray_rgb = np.clip((difference[crop] + background) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        alpha = alpha.copy()
        alpha[crop] = np.where(unknown[crop], model.alpha(over_gray_rgb, regions[crop]), alpha[crop])
        return alpha

    return _matte_frames(frames, static, background, alpha_of)


MattingMethod = Callable[[Iterable[np.ndarray], np.ndarray, float], Iterator[np.ndarray]]


class MethodInfo(NamedTuple):
    """One matting method: the function, its menu label, one line of help, and the
    variable that configures it (None: always available)."""

    function: MattingMethod
    label: str
    help: str
    needs: str | None = None


#: The matting methods, for the engine parameter, the CLI and the docs. The first is the default.
MATTING_METHODS: dict[str, MethodInfo] = {
    "palette": MethodInfo(matte_palette, "Palette",
                          "Known gray background, foreground colours taken from the static layer (default)."),
    "color_to_alpha": MethodInfo(matte_color_to_alpha, "Color to alpha",
                                 "Known gray background, least alpha per pixel: exact for saturated colours."),
    "vitmatte": MethodInfo(matte_vitmatte, "ViTMatte (learned)",
                           "The palette matte with its uncertain edges decided by a ViTMatte model.",
                           needs=matting_model.MODEL_ENV),
}


def available_methods() -> dict[str, MethodInfo]:
    """The methods that can run here: those needing a model only when its variable is set."""
    return {name: info for name, info in MATTING_METHODS.items()
            if info.needs is None or os.environ.get(info.needs, "").strip()}


def matte(
    frames: Iterable[np.ndarray], static: np.ndarray, method: str = "palette", background: float = GRAY
) -> Iterator[np.ndarray]:
    """Stream RGBA frames matted out of RGB frames generated over `background` gray.

    `frames` are (H, W, 3) uint8 of the same size as `static` (H, W, 4), the layer that was
    composited over gray to make the model's input; frames are consumed one at a time.
    """
    if method not in MATTING_METHODS:
        raise PosterError(f"There is no matting method called '{method}'. Methods: {', '.join(MATTING_METHODS)}.")
    return MATTING_METHODS[method].function(frames, static, background)


def matte_quality(truth: Iterable[np.ndarray], matted: Iterable[np.ndarray]) -> dict[str, float]:
    """How close a matte is to the true RGBA frames, over all frames.

    `alpha_sad`: mean absolute alpha error (0..1, lower is better); `alpha_iou`: intersection
    over union of the opaque-ish (alpha > 0.5) regions; `rgba_psnr`: PSNR of premultiplied
    RGBA in dB, so colour errors count only where there is something to see.
    """
    sad = squared = 0.0
    inter = union = 0
    pixels = 0
    for true_frame, frame in zip(truth, matted, strict=True):
        a_true = true_frame[..., 3].astype(np.float32) / 255.0
        a_est = frame[..., 3].astype(np.float32) / 255.0
        sad += float(np.abs(a_true - a_est).sum())
        inter += int(((a_true > 0.5) & (a_est > 0.5)).sum())
        union += int(((a_true > 0.5) | (a_est > 0.5)).sum())
        pre_true = np.concatenate([true_frame[..., :3] / 255.0 * a_true[..., None], a_true[..., None]], axis=-1)
        pre_est = np.concatenate([frame[..., :3] / 255.0 * a_est[..., None], a_est[..., None]], axis=-1)
        squared += float(((pre_true - pre_est) ** 2).sum())
        pixels += a_true.size
    if pixels == 0:
        raise PosterError("There are no frames to compare.")
    mse = squared / (pixels * 4)
    return {
        "alpha_sad": sad / pixels,
        "alpha_iou": inter / union if union else 1.0,
        "rgba_psnr": float("inf") if mse == 0 else 10.0 * float(np.log10(1.0 / mse)),
    }
