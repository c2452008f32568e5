"""Small layered PSDs written with psd-tools itself, so tests need no binary fixtures.

The layers are drawn with soft-edged gradients rather than flat colours so blend modes
and opacities are exercised over the whole 0..255 range, including partial alpha.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image
from psd_tools import PSDImage
from psd_tools.api.layers import Group, PixelLayer
from psd_tools.constants import BlendMode, Compression


def gradient_rgba(width: int, height: int, seed: int, soft_alpha: bool = True) -> Image.Image:
    """A colourful RGBA image: diagonal gradients per channel, a soft round alpha."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for _ in range(3):
        a, b, c = rng.uniform(-1, 1, 3)
        value = (a * xs / max(width - 1, 1) + b * ys / max(height - 1, 1) + c) % 1.0
        channels.append(value * 255)
    if soft_alpha:
        cx, cy = width / 2, height / 2
        radius = np.hypot((xs - cx) / (width / 2), (ys - cy) / (height / 2))
        alpha = np.clip((1.1 - radius) * 2.5, 0, 1) * 255
    else:
        alpha = np.full((height, width), 255.0)
    array = np.stack(channels + [alpha], axis=-1).round().astype(np.uint8)
    return Image.fromarray(array, "RGBA")


def write_layered_psd(
    path: Path,
    blend_modes: tuple[str, ...] = ("multiply", "screen", "overlay"),
    compression: Compression = Compression.RLE,
) -> Path:
    """A 96×80 RGB PSD: opaque background, normal/blended layers, a group with opacity, a hidden layer."""
    psd = PSDImage.new("RGB", (96, 80))
    PixelLayer.frompil(gradient_rgba(96, 80, 1, soft_alpha=False), psd, "Background", 0, 0, compression)
    sun = PixelLayer.frompil(gradient_rgba(40, 40, 2), psd, "Sun", 6, 8)
    sun.opacity = 200
    for index, mode in enumerate(blend_modes):
        layer = PixelLayer.frompil(gradient_rgba(36, 30, 10 + index), psd, mode.title(), 20 + index * 6, 30 + index * 9)
        layer.blend_mode = BlendMode[mode.upper()]
    title = PixelLayer.frompil(gradient_rgba(30, 12, 20), psd, "Title", 60, 10)
    shadow = PixelLayer.frompil(gradient_rgba(30, 12, 21), psd, "Title shadow", 62, 12)
    group = Group.group_layers(psd, [title, shadow], name="Words")
    group.opacity = 180
    hidden = PixelLayer.frompil(gradient_rgba(20, 20, 30), psd, "Hidden star", 4, 70)
    hidden.visible = False
    psd.save(path)
    return path


@functools.lru_cache(maxsize=None)
def load_once(path: Path):
    """The default (isolated) import of a file, shared by the corpus and fidelity tests."""
    from engine import load_psd  # noqa: PLC0415

    return load_psd(path)
