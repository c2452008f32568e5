"""Layout-conditional 3D-RoPE for the transparent-layer decoder (paper eq. 4).

Each decoder stage sees its own temporal length (the temporal-scale blocks double it), so
positions are rebuilt per stage: P = PE(t_stage, box). Spatial positions are taken on the
*global* poster grid (the box's offset in latent cells plus the token's cell inside the
box), the same frame of reference as the diffusion transformer's 4D-RoPE, and the grid
follows each box's own size, which is what lets one decoder take boxes of any size.

RoPE only ever sees position differences, and the decoder attends within one layer, so a
layer decodes identically wherever its box sits (a moved layer should look the same);
the offsets would matter only if layers attended to each other.

This is the decoder's own 3-axis RoPE; the diffusion transformer's 4D-RoPE (layer, frame,
y, x) lives in engine/dmdl/rope.py and is a separate, larger thing.
"""

from __future__ import annotations

from typing import Sequence

import torch

from engine.dmdl.grid import LATENT_PIXELS, GridBox


def default_axes_dim(head_dim: int) -> tuple[int, int, int]:
    """Split a head's channels between (frame, y, x) rotations: 1/4 time, 3/8 each space.

    HunyuanVideo gives time the smaller share too (16 of 128); every share must be even
    because RoPE rotates channel pairs.
    """
    spatial = (head_dim * 3 // 8) // 2 * 2
    temporal = head_dim - 2 * spatial
    if temporal <= 0 or temporal % 2 or spatial <= 0:
        raise ValueError(f"A head dimension of {head_dim} cannot be split into three even RoPE axes.")
    return temporal, spatial, spatial


def box_positions(box: GridBox, frames: int, device: torch.device | None = None) -> torch.Tensor:
    """(frames·h·w, 3) float positions (frame, y, x) of a box's tokens, in token order.

    Token order is frame-major then row-major, the order of `grid.flatten(2)` on a
    (D, t, h, w) grid. y and x count latent cells from the poster's top-left corner.
    """
    rows, cols = box.h // LATENT_PIXELS, box.w // LATENT_PIXELS
    top, left = box.y // LATENT_PIXELS, box.x // LATENT_PIXELS
    f, y, x = torch.meshgrid(
        torch.arange(frames, device=device),
        torch.arange(top, top + rows, device=device),
        torch.arange(left, left + cols, device=device),
        indexing="ij",
    )
    return torch.stack([f, y, x], dim=-1).reshape(-1, 3).float()


def batch_positions(boxes: Sequence[GridBox], frames: int, device: torch.device | None = None) -> torch.Tensor:
    """(B, N, 3) positions for a batch of equally sized boxes at one stage length."""
    return torch.stack([box_positions(box, frames, device) for box in boxes])


def rope_angles(positions: torch.Tensor, axes_dim: Sequence[int], theta: float = 10000.0) -> torch.Tensor:
    """Rotation angles (..., sum(axes_dim) / 2): position × θ_j with θ_j = theta^(−2j/d) per axis."""
    angles = []
    for axis, dim in enumerate(axes_dim):
        freqs = theta ** (-torch.arange(0, dim, 2, device=positions.device, dtype=torch.float64) / dim)
        angles.append(positions[..., axis : axis + 1].double() * freqs)
    return torch.cat(angles, dim=-1).float()


def apply_rope(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs of x (B, heads, N, head_dim) by angles (B, N, head_dim / 2)."""
    pairs = x.float().reshape(*x.shape[:-1], -1, 2)
    cos, sin = angles.cos()[:, None], angles.sin()[:, None]
    real = pairs[..., 0] * cos - pairs[..., 1] * sin
    imag = pairs[..., 0] * sin + pairs[..., 1] * cos
    return torch.stack([real, imag], dim=-1).flatten(-2).type_as(x)
