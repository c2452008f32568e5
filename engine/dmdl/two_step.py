"""The two-step baseline the paper's RGBA decoder replaces: VAE-decode RGB, then matte.

The TDL data pipeline (paper §3) decodes gray-background RGB video and runs a matting
model. We have no matting network here, but the background is known exactly (50 % gray),
so the matte is solved in closed form: the least alpha that keeps the foreground colour in
[0, 1] ("colour to alpha"). It is exact for saturated colours and fails where the
foreground itself is gray — the ambiguity that motivates decoding RGBA directly.
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKLHunyuanVideo

from engine.dmdl.autoencoder import GRAY


@torch.no_grad()
def vae_decode_gray_rgb(vae: AutoencoderKLHunyuanVideo, latent: torch.Tensor) -> torch.Tensor:
    """One scaled latent (16, T', h/8, w/8) → RGB over gray (T, h, w, 3) in [0, 1]."""
    z = latent[None].to(vae.device, vae.dtype) / vae.config.scaling_factor
    video = vae.decode(z).sample[0]  # (3, T, h, w) in [-1, 1]
    return ((video.float() + 1.0) / 2.0).clamp(0, 1).permute(1, 2, 3, 0)


def matte_known_background(rgb: torch.Tensor, background: float = GRAY, eps: float = 1e-4) -> torch.Tensor:
    """RGB composited over a known flat background → straight-alpha RGBA, (…, 3) → (…, 4).

    With C = αF + (1−α)G, each channel bounds α from below by how far C strays from G
    relative to the room F has on that side; the largest bound is the alpha, and
    F = G + (C − G)/α.
    """
    diff = rgb - background
    room = torch.where(diff >= 0, torch.full_like(rgb, 1.0 - background), torch.full_like(rgb, background))
    alpha = (diff.abs() / room).amax(dim=-1, keepdim=True).clamp(0, 1)
    colour = (background + diff / alpha.clamp_min(eps)).clamp(0, 1)
    colour = torch.where(alpha > eps, colour, torch.zeros_like(colour))
    return torch.cat([colour, alpha], dim=-1)


def two_step_decode(vae: AutoencoderKLHunyuanVideo, latent: torch.Tensor) -> torch.Tensor:
    """The baseline end to end: (16, T', h/8, w/8) → (T, h, w, 4) straight-alpha RGBA in [0, 1]."""
    return matte_known_background(vae_decode_gray_rgb(vae, latent))
