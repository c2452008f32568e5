"""Test helpers: synthetic poster frames that are hard enough for a codec, and real decoding.

Frames are decoded by the same bundled ffmpeg binary the exporters use (VP9 alpha needs
the libvpx-vp9 decoder: ffmpeg's built-in one drops alpha) with accurate chroma
upsampling, so PSNR measures the encoder, not a sloppy decoder.
"""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import numpy as np


def poster_frames(count: int, height: int, width: int, transparent: bool = False) -> np.ndarray:
    """Gradients, a drifting wave pattern and an anti-aliased moving disc, as RGBA uint8.

    With `transparent`, alpha falls off radially to fully transparent corners, like a
    layer with a soft vignette.
    """
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((count, height, width, 4), np.float32)
    for t in range(count):
        out[t, ..., 0] = 40 + 150 * x / width
        out[t, ..., 1] = 60 + 120 * y / height
        out[t, ..., 2] = 150 + 50 * np.sin((x + 2 * y) / 23 + t / 3)
        cx = width * (0.2 + 0.05 * t)
        cy = height * (0.5 + 0.2 * np.sin(t / 2))
        coverage = np.clip(height * 0.18 - np.hypot(x - cx, y - cy) + 0.5, 0, 1)[..., None]
        out[t, ..., :3] = out[t, ..., :3] * (1 - coverage) + np.array([240, 200, 60]) * coverage
        if transparent:
            radius = np.hypot(x / width - 0.5, y / height - 0.5) * 2
            out[t, ..., 3] = np.clip(255 * (1.2 - radius), 0, 255)
        else:
            out[t, ..., 3] = 255
    return np.round(out).astype(np.uint8)


def decode(path: Path | str, decoder: str | None = None) -> np.ndarray:
    """All frames of a video or animated image as (F, H, W, 4) RGBA uint8."""
    frames = imageio_ffmpeg.read_frames(
        str(path),
        pix_fmt="rgba",
        bits_per_pixel=32,
        input_params=["-c:v", decoder] if decoder else None,
        output_params=["-sws_flags", "accurate_rnd+full_chroma_int+bicubic", "-fps_mode", "passthrough"],
    )
    width, height = next(frames)["size"]
    return np.array([np.frombuffer(raw, np.uint8).reshape(height, width, 4) for raw in frames])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))
