"""Reconstruction metrics of Table 5: PSNR and SSIM on straight-alpha RGBA video.

Both compare (T, H, W, C) tensors in [0, 1]. For RGBA, colour is compared premultiplied by
alpha (`premultiply`): a fully transparent pixel has no colour, so the RGB a decoder puts
under alpha 0 must not count, and a half-transparent pixel's colour counts half, as it
does on screen. SSIM is the standard Gaussian-window form
(Wang et al. 2004: σ = 1.5, 11 taps, K1 = 0.01, K2 = 0.03) computed per frame and channel
and averaged, by torchmetrics.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


#: The paper's background for RGBA layers seen as RGB (I2V input, evaluation, filtering).
GRAY = 0.5


def over_gray(frames) -> torch.Tensor:
    """Straight-alpha RGBA uint8 (T, H, W, 4) array -> RGB float (T, H, W, 3) over 50 % gray."""
    import numpy as np  # noqa: PLC0415

    rgba = torch.from_numpy(np.ascontiguousarray(frames)).float() / 255.0
    alpha = rgba[..., 3:4]
    return rgba[..., :3] * alpha + GRAY * (1.0 - alpha)


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


def ssim(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean SSIM over frames and channels of (T, H, W, C) tensors in [0, 1].

    torchmetrics' implementation (the evaluation harness's LPIPS and FVD come from the same
    package), each frame and channel a grey image. The window shrinks to the largest odd
    size that fits a clip smaller than 11 pixels (a thin text layer's box).
    """
    from torchmetrics.functional.image import structural_similarity_index_measure  # noqa: PLC0415 (slow import)

    x = prediction.float().permute(0, 3, 1, 2).reshape(-1, 1, *prediction.shape[1:3])
    y = target.float().permute(0, 3, 1, 2).reshape(-1, 1, *target.shape[1:3])
    size = min(11, x.shape[-2], x.shape[-1])
    size -= 1 - size % 2  # odd
    value = structural_similarity_index_measure(
        x, y, gaussian_kernel=True, sigma=1.5, kernel_size=size, data_range=1.0, k1=0.01, k2=0.03
    )
    return float(value)
