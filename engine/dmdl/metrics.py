"""Reconstruction metrics of Table 5: PSNR and SSIM on straight-alpha RGBA video.

Both compare (T, H, W, C) tensors in [0, 1]. For RGBA, colour is compared premultiplied by
alpha (`premultiply`): a fully transparent pixel has no colour, so the RGB a decoder puts
under alpha 0 must not count, and a half-transparent pixel's colour counts half, as it
does on screen. SSIM is the standard Gaussian-window form
(Wang et al. 2004: σ = 1.5, 11 taps, K1 = 0.01, K2 = 0.03) computed per frame and channel
and averaged, as skimage's `structural_similarity(..., gaussian_weights=True)` does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def premultiply(rgba: torch.Tensor) -> torch.Tensor:
    """Straight-alpha (…, 4) → (…, 4) with RGB multiplied by alpha."""
    return torch.cat([rgba[..., :3] * rgba[..., 3:4], rgba[..., 3:4]], dim=-1)


def rgba_psnr(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR of straight-alpha RGBA clips, compared premultiplied."""
    return psnr(premultiply(prediction.float()), premultiply(target.float()))


def rgba_ssim(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """SSIM of straight-alpha RGBA clips, compared premultiplied."""
    return ssim(premultiply(prediction.float()), premultiply(target.float()))


def psnr(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for signals in [0, 1]."""
    mse = F.mse_loss(prediction.float(), target.float()).item()
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def ssim(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean SSIM over frames and channels of (T, H, W, C) tensors in [0, 1]."""
    x = prediction.float().permute(0, 3, 1, 2).reshape(-1, 1, *prediction.shape[1:3])
    y = target.float().permute(0, 3, 1, 2).reshape(-1, 1, *target.shape[1:3])
    size = min(11, x.shape[-2], x.shape[-1])
    size -= 1 - size % 2  # odd
    g = _gaussian_window(size)

    def blur(image: torch.Tensor) -> torch.Tensor:
        image = F.conv2d(image, g.view(1, 1, -1, 1))
        return F.conv2d(image, g.view(1, 1, 1, -1))

    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return float((numerator / denominator).mean())
