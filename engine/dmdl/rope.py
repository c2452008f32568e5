"""Layout-conditional 4D rotary position embedding (paper eqs. 6-8).

Every image token has a position (layer, frame, y, x): y and x on the *global* poster grid
taken from its layer's motion box, so two layers that overlap on the poster share spatial
coordinates and the attention logit between two tokens depends only on how far apart
they are on the poster, in time and in the layer stack.

How the layer axis gets rotary channels decides whether fine-tuning starts from the model
HunyuanVideo-I2V was: its head dimension is already split (16 frame, 56 y, 56 x) with
learned uses for every frequency. So the layer axis *shares the frame band*: a token of
layer l at frame t rotates the frame channels by (t + l·spacing)·ω_j, the frame band's own
frequencies ω_j. Layer 0 is then every rotation HunyuanVideo makes, unchanged (a loaded
checkpoint with one layer is HunyuanVideo-I2V exactly), and layers l ≠ 0 sit `spacing`
frame positions apart per layer, farther than any two frames of one clip, so two identical
layers on the same box are told apart. `spacing` 0 is the 3D-RoPE baseline of the ablation
(Table 4): layers indistinguishable.

A separate layer band (a 4-entry `axes_dim`, e.g. (8, 8, 56, 56)) is still accepted for
models trained from scratch; carving it out of a pretrained head changes the frame
frequencies (1, .5, .25 … become 1, .25, .0625 …), so pretrained checkpoints should not.

The cos/sin interleaving follows diffusers' `get_1d_rotary_pos_embed` (use_real,
repeat_interleave) exactly, so with no layer band and layer 0 the embedding is bit-for-bit
HunyuanVideo's 3D-RoPE.
"""

from __future__ import annotations

from typing import Sequence

import torch
from diffusers.models.embeddings import get_1d_rotary_pos_embed
from torch import nn

AXES = ("layer", "frame", "y", "x")


def split_axes_dim(rope_axes_dim: Sequence[int]) -> tuple[int, int, int, int]:
    """(layer, frame, y, x) band sizes from a 3-tuple (HunyuanVideo: no layer band) or a 4-tuple."""
    dims = tuple(int(d) for d in rope_axes_dim)
    if len(dims) == 3:
        dims = (0, *dims)
    if len(dims) != 4:
        raise ValueError(f"rope_axes_dim needs 3 (frame, y, x) or 4 (layer, frame, y, x) entries, got {dims}.")
    if any(d < 0 or d % 2 for d in dims):
        raise ValueError(f"Every rotary band must be an even, non-negative size, got {dims}.")
    return dims  # type: ignore[return-value]


class LayoutRotaryEmbedding(nn.Module):
    """Positions (..., 4) -> (cos, sin) of shape (..., head_dim); no parameters.

    `thetas` gives each axis its own base (eq. 6 uses 10000 everywhere, HunyuanVideo 256).
    `layer_spacing` is how many frame positions apart consecutive layers sit on the shared
    frame band (0: layers share positions, the 3D-RoPE baseline).
    """

    def __init__(self, axes_dim: Sequence[int], thetas: Sequence[float], layer_spacing: float = 0.0) -> None:
        super().__init__()
        self.axes_dim = split_axes_dim(axes_dim)
        self.thetas = tuple(float(t) for t in thetas)
        if len(self.thetas) != 4:
            raise ValueError("One rotary theta per axis (layer, frame, y, x) is needed.")
        if layer_spacing < 0:
            raise ValueError(f"The layer spacing must be 0 or more, got {layer_spacing}.")
        if layer_spacing and not self.axes_dim[1]:
            raise ValueError("A layer spacing needs a frame band to share.")
        self.layer_spacing = float(layer_spacing)

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = positions.reshape(-1, 4).float()  # whole numbers: exact in float32
        if self.layer_spacing:
            flat = flat.clone()
            flat[:, 1] += self.layer_spacing * flat[:, 0]
        cos_parts, sin_parts = [], []
        for axis, (dim, theta) in enumerate(zip(self.axes_dim, self.thetas)):
            if dim == 0:
                continue
            cos, sin = get_1d_rotary_pos_embed(dim, flat[:, axis], theta, use_real=True)
            cos_parts.append(cos)
            sin_parts.append(sin)
        shape = (*positions.shape[:-1], sum(self.axes_dim))
        return torch.cat(cos_parts, dim=-1).reshape(shape), torch.cat(sin_parts, dim=-1).reshape(shape)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x (B, N, heads, D) by per-token angles cos/sin (B, N, D).

    Pairs of adjacent channels (2j, 2j+1) are one complex number, as in diffusers'
    `apply_rotary_emb(use_real_unbind_dim=-1)`; cos/sin here carry a batch axis because
    every sample of a batch has its own layout.
    """
    cos, sin = cos[:, :, None, :], sin[:, :, None, :]
    real, imag = x.float().unflatten(-1, (-1, 2)).unbind(-1)
    rotated = torch.stack([-imag, real], dim=-1).flatten(-2)
    return (x.float() * cos + rotated * sin).to(x.dtype)
