"""How close our static render is to psd-tools' own composite of the same file.

Both images are compared premultiplied: (R·a, G·a, B·a, a) with a in [0, 1], all four
channels on the 0..255 scale. That weighs alpha errors like colour errors and ignores the
colour of fully transparent pixels, which is undefined in straight alpha (psd-tools leaves
its white backdrop there, we leave zero).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PERFECT_PSNR = 99.0  # reported for identical images, where PSNR is infinite


def premultiplied(image: np.ndarray) -> np.ndarray:
    image = image.astype(np.float64)
    return np.concatenate([image[..., :3] * image[..., 3:] / 255.0, image[..., 3:]], axis=-1)


def psnr(ours: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB of two (H, W, 4) straight-alpha uint8 images, compared premultiplied."""
    if ours.shape != reference.shape:
        raise ValueError(f"Cannot compare images of shapes {ours.shape} and {reference.shape}.")
    mse = float(np.mean((premultiplied(ours) - premultiplied(reference)) ** 2))
    return PERFECT_PSNR if mse == 0 else min(PERFECT_PSNR, 10 * np.log10(255.0**2 / mse))


def psd_tools_render(path: Path) -> np.ndarray:
    """psd-tools' composite of the layers (never the stored preview), as sRGB RGBA uint8."""
    from psd_tools import PSDImage  # noqa: PLC0415

    from engine.psd.color import pil_to_rgba  # noqa: PLC0415

    return pil_to_rgba(PSDImage.open(path).composite(ignore_preview=True))


def photoshop_preview(path: Path) -> np.ndarray | None:
    """The merged image Photoshop stored in the file, as sRGB RGBA uint8, if there is one."""
    from psd_tools import PSDImage  # noqa: PLC0415

    from engine.psd.color import pil_to_rgba  # noqa: PLC0415

    psd = PSDImage.open(path)
    if not psd.has_preview():
        return None
    image = psd.topil()
    return None if image is None else pil_to_rgba(image)
