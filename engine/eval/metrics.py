"""Per-clip scores of the paper's tables, on RGBA composited over 50 % gray.

The paper compares every engine on its layers over a gray background (the I2V baselines
see nothing else), so a transparent pixel counts as gray and a half-transparent one half
its colour, half gray: exactly what a viewer of the layer over gray would see. PSNR and
SSIM come from engine.dmdl.metrics (one implementation for training and evaluation);
LPIPS per frame, averaged over the clip; FVD is over the set of clips (engine.eval.fvd).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.dmdl.metrics import over_gray, psnr, ssim
#: Metric name -> whether higher is better (drives arrows and "worst sample" ordering).
HIGHER_IS_BETTER = {"FVD": False, "PSNR": True, "SSIM": True, "LPIPS": False}


@dataclass
class ClipScore:
    """One generated clip against its reference; LPIPS is None without a backbone."""

    psnr: float
    ssim: float
    lpips: float | None


def score_clip(generated: np.ndarray, reference: np.ndarray, lpips=None) -> ClipScore:
    """Scores of two RGBA clips of the same shape, over gray."""
    if generated.shape != reference.shape:
        raise ValueError(f"Clips differ in shape: {generated.shape} vs {reference.shape}.")
    a, b = over_gray(generated), over_gray(reference)
    perceptual = None
    if lpips is not None:
        perceptual = float(lpips(a.permute(0, 3, 1, 2), b.permute(0, 3, 1, 2)).mean())
    return ClipScore(psnr=psnr(a, b), ssim=ssim(a, b), lpips=perceptual)


def mean_finite(values: list[float]) -> float:
    """The mean of scores, PSNR's ∞ (identical clips) kept as ∞ only when every clip is identical."""
    finite = [v for v in values if math.isfinite(v)]
    if not values:
        return float("nan")
    if not finite:
        return float("inf")
    # an identical clip is capped at 100 dB so one perfect sample does not make the mean ∞
    return float(np.mean([v if math.isfinite(v) else 100.0 for v in values]))
