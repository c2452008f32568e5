"""Fréchet Video Distance: I3D features of two sets of clips, compared as Gaussians.

The feature network is the one FVD is defined with (Unterthiner et al. 2018: Kinetics-400
I3D, logits before softmax, clips at 224² scaled to [-1, 1]), read from a local TorchScript
file so nothing is downloaded: StyleGAN-V's `i3d_torchscript.pt` (the file cd-fvd and
common-metrics-on-video-quality use) is called as they call it, with
`rescale=False, resize=False, return_features=True`. `EVAL_I3D` or `--i3d` names it; tests
script a tiny 3D-conv network with the same signature.

FVD over a few dozen clips is biased upward (the covariance of 400 features from N clips is
rank ≤ N − 1); the paper's numbers are over its test set, ours over the split at hand, so
compare engines within one run, never with a different split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg

from engine.core.poster import PosterError

#: I3D's input side and the clip length FVD is usually computed on.
I3D_SIDE = 224
I3D_FRAMES = 16


class I3DFeatures:
    """Clips (N, T, 3, H, W) in [0, 1] -> features (N, D), from a TorchScript I3D on disk."""

    def __init__(self, path: str | os.PathLike[str], device: str = "cpu") -> None:
        path = Path(path)
        if not path.is_file():
            raise PosterError(
                f"The I3D feature network {path} does not exist: point EVAL_I3D (or --i3d) at "
                "i3d_torchscript.pt (the StyleGAN-V / cd-fvd file)."
            )
        try:
            self.model = torch.jit.load(str(path), map_location=device).eval()
        except RuntimeError as error:
            raise PosterError(f"{path} is not a TorchScript I3D network ({str(error).splitlines()[0]}).") from None
        self.device = device

    @torch.no_grad()
    def __call__(self, clips: torch.Tensor) -> np.ndarray:
        clips = resample_frames(clips, I3D_FRAMES)
        n, t, c, h, w = clips.shape
        frames = F.interpolate(clips.reshape(n * t, c, h, w).float(), size=(I3D_SIDE, I3D_SIDE),
                               mode="bilinear", align_corners=False, antialias=True)
        video = (frames.reshape(n, t, c, I3D_SIDE, I3D_SIDE).permute(0, 2, 1, 3, 4) * 2 - 1).to(self.device)
        features = self.model(video, rescale=False, resize=False, return_features=True)
        return features.float().cpu().numpy().reshape(n, -1)


def resample_frames(clips: torch.Tensor, count: int) -> torch.Tensor:
    """Pick `count` frames evenly over each clip (repeating frames of shorter clips)."""
    index = torch.linspace(0, clips.shape[1] - 1, count).round().long()
    return clips[:, index]


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature rows of `a` and `b`.

    ||μa − μb||² + Tr(Σa + Σb − 2 (Σa Σb)^½); the matrix square root by scipy, its tiny
    imaginary part (numerical) dropped. Identical sets give ≈ 0.
    """
    if len(a) < 2 or len(b) < 2:
        raise PosterError("FVD needs at least two clips on each side.")
    mu_a, mu_b = a.mean(0), b.mean(0)
    sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = np.real(linalg.sqrtm(sigma_a @ sigma_b))
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(sigma_a + sigma_b - 2 * covmean))
    return max(value, 0.0)
