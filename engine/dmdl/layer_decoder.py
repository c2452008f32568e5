"""The transparent dynamic-layer decoder: VAE latents in, straight-alpha RGBA video out.

Paper §4.1, eqs. 2–3 (SM variant):

    ẑ = ViT_1(TS(Linear_in(z)), P_1)
    z̄ = Linear_out(ViT_2(TS(ẑ), P_2))          every token → one 8×8 RGBA patch

Decoding straight to RGBA replaces the two-step "VAE decode to RGB over gray, then matte"
of the data pipeline, which is slower and loses gray-ish foreground pixels to the matte.

Where the two temporal-scale (TS) blocks sit is the paper's Table 5 ablation (§5.2):

- ``"SM"`` (default, best in the paper): one TS block at the start, one in the middle of
  the ViT, so attention sees two stages of different lengths: t1 = 2T'−1 with P_1, then
  T = 4T'−3 with P_2.
- ``"SE"``: one TS block before the ViT and one after it; all ViT blocks run at t1 with
  one set of positions, the second TS block upsamples the ViT's output.
- ``"EE"``: both TS blocks appended after the ViT; attention runs only at the latent's
  own length T'.
- ``"VIT"``: our reading of Table 5's plain "ViT" row: no learned TS blocks; the tokens
  are stretched to T frames by the same parameter-free temporal interpolation and all
  blocks run at full length.

Each TS block maps t frames to 2t−1 (the HunyuanVideo VAE keeps frame 0 and packs each
later group of four frames into one latent frame), so two of them give T = 4(T'−1)+1:
13 → 25 → 49, and a still (T' = 1) stays one frame.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from engine.dmdl.decoder_rope import apply_rope, batch_positions, default_axes_dim, rope_angles
from engine.dmdl.errors import DMDLError
from engine.dmdl.grid import LATENT_PIXELS, GridBox

#: Where the temporal-scale blocks sit, per variant: "ts" a learned temporal-scale block,
#: "up" the parameter-free temporal upsampling alone, "vit1"/"vit2" the first/second half
#: of the ViT blocks, "vit" all of them.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "SM": ("ts", "vit1", "ts", "vit2"),
    "SE": ("ts", "vit", "ts"),
    "EE": ("vit", "ts", "ts"),
    "VIT": ("up", "up", "vit"),
}


def decoded_frame_count(latent_frames: int) -> int:
    """Video frames T that T' latent frames decode to: 4(T'−1)+1."""
    return 4 * (latent_frames - 1) + 1


def upsample_time(grid: torch.Tensor) -> torch.Tensor:
    """(B, C, t, h, w) → (B, C, 2t−1, h, w): keep every frame, put the mean between neighbours."""
    frames = grid.shape[2]
    if frames == 1:
        return grid
    return F.interpolate(grid, size=(2 * frames - 1, *grid.shape[3:]), mode="trilinear", align_corners=True)


class TemporalScaleBlock(nn.Module):
    """Temporal upsampling, then a residual 3×1×1 temporal and 1×3×3 spatial convolution.

    The interpolation gives the new in-between frames a sensible start; the convolutions
    learn the motion detail interpolation cannot. The spatial convolution starts at zero
    so an untrained block is exactly the interpolation.
    """

    def __init__(self, dim: int, norm_groups: int = 32):
        super().__init__()
        self.norm = nn.GroupNorm(min(norm_groups, dim), dim)
        self.temporal = nn.Conv3d(dim, dim, kernel_size=(3, 1, 1), padding=(1, 0, 0))
        self.spatial = nn.Conv3d(dim, dim, kernel_size=(1, 3, 3), padding=(0, 1, 1))
        nn.init.zeros_(self.spatial.weight)
        nn.init.zeros_(self.spatial.bias)

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        grid = upsample_time(grid)
        return grid + self.spatial(F.silu(self.temporal(self.norm(grid))))


class DecoderBlock(nn.Module):
    """A pre-norm ViT block: self-attention with 3D-RoPE and QK-norm, then an MLP."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.q_norm = nn.RMSNorm(head_dim, eps=1e-6)
        self.k_norm = nn.RMSNorm(head_dim, eps=1e-6)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))

    def forward(self, tokens: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
        batch, length, dim = tokens.shape
        qkv = self.qkv(self.norm1(tokens)).view(batch, length, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, heads, N, head_dim)
        q = apply_rope(self.q_norm(q), angles)
        k = apply_rope(self.k_norm(k), angles)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, length, dim)
        tokens = tokens + self.proj(attended)
        return tokens + self.mlp(self.norm2(tokens))


def _to_tokens(grid: torch.Tensor) -> torch.Tensor:
    """(B, D, t, h, w) → (B, t·h·w, D)."""
    return grid.flatten(2).transpose(1, 2)


def _to_grid(tokens: torch.Tensor, frames: int, rows: int, cols: int) -> torch.Tensor:
    """(B, t·h·w, D) → (B, D, t, h, w)."""
    return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], frames, rows, cols)


class LayerDecoder(ModelMixin, ConfigMixin):
    """ViT decoder from cropped HunyuanVideo latents to straight-alpha RGBA layer video.

    The default configuration is the paper's: SM layout, 12 blocks, width 768, 12 heads.
    `forward` takes a batch of equally sized latents and returns unclamped RGBA (the L1
    training target); `decode` is the inference entry: any number of layers of one poster,
    each its own size, clamped to [0, 1].
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(
        self,
        latent_channels: int = 16,
        patch_size: int = LATENT_PIXELS,
        out_channels: int = 4,
        hidden_size: int = 768,
        num_layers: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        variant: str = "SM",
        rope_theta: float = 10000.0,
        rope_axes_dim: tuple[int, int, int] | None = None,
        norm_groups: int = 32,
    ):
        super().__init__()
        if variant not in LAYOUTS:
            raise ValueError(f"Unknown decoder variant {variant!r}; choose one of {', '.join(LAYOUTS)}.")
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size {hidden_size} must be divisible by num_heads {num_heads}.")
        if num_layers < 2:
            raise ValueError("The decoder needs at least two ViT blocks (one per stage).")
        head_dim = hidden_size // num_heads
        self.axes_dim = tuple(rope_axes_dim) if rope_axes_dim else default_axes_dim(head_dim)
        if sum(self.axes_dim) != head_dim:
            raise ValueError(f"rope_axes_dim {self.axes_dim} must add up to the head dimension {head_dim}.")
        self.layout = LAYOUTS[variant]
        self.linear_in = nn.Linear(latent_channels, hidden_size)
        self.ts_blocks = nn.ModuleList(
            TemporalScaleBlock(hidden_size, norm_groups) for _ in range(self.layout.count("ts"))
        )
        self.blocks = nn.ModuleList(DecoderBlock(hidden_size, num_heads, mlp_ratio) for _ in range(num_layers))
        self.norm_out = nn.LayerNorm(hidden_size, eps=1e-6)
        self.linear_out = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.gradient_checkpointing = False

    def _block_range(self, step: str) -> range:
        half = self.config.num_layers // 2
        return {"vit1": range(0, half), "vit2": range(half, self.config.num_layers)}.get(
            step, range(self.config.num_layers)
        )

    def forward(self, latents: torch.Tensor, boxes: Sequence[GridBox]) -> torch.Tensor:
        """(B, 16, T', h/8, w/8) latents of boxes (all h×w) → (B, T, h, w, 4) raw RGBA."""
        batch, _, frames, rows, cols = latents.shape
        grid = _to_grid(self.linear_in(_to_tokens(latents)), frames, rows, cols)
        ts_index = 0
        for step in self.layout:
            if step == "ts":
                grid = self.ts_blocks[ts_index](grid)
                ts_index += 1
            elif step == "up":
                grid = upsample_time(grid)
            else:
                frames = grid.shape[2]
                angles = rope_angles(
                    batch_positions(boxes, frames, latents.device), self.axes_dim, self.config.rope_theta
                )
                tokens = _to_tokens(grid)
                for index in self._block_range(step):
                    block = self.blocks[index]
                    if torch.is_grad_enabled() and self.gradient_checkpointing:
                        tokens = self._gradient_checkpointing_func(block, tokens, angles)
                    else:
                        tokens = block(tokens, angles)
                grid = _to_grid(tokens, frames, rows, cols)
        patches = self.linear_out(self.norm_out(_to_tokens(grid)))
        return self._unpatchify(patches, grid.shape[2], rows, cols)

    def _unpatchify(self, patches: torch.Tensor, frames: int, rows: int, cols: int) -> torch.Tensor:
        """(B, t·h·w, p·p·c) → (B, t, h·p, w·p, c)."""
        p, c = self.config.patch_size, self.config.out_channels
        video = patches.view(patches.shape[0], frames, rows, cols, p, p, c)
        return video.permute(0, 1, 2, 4, 3, 5, 6).reshape(patches.shape[0], frames, rows * p, cols * p, c)

    @torch.no_grad()
    def decode(
        self, latents: Sequence[torch.Tensor], boxes: Sequence[GridBox | tuple], device: torch.device | None = None
    ) -> list[torch.Tensor]:
        """Decode the layers of one poster: one (16, T', h/8, w/8) latent and motion box each.

        `device`: where the latents go, when it is not where the weights are (an offloaded
        decoder's weights wait on the CPU, or on "meta", until its hook runs).

        Returns one (T, h, w, 4) straight-alpha RGBA float tensor in [0, 1] per layer, in
        order, T = 4(T'−1)+1. Layers of equal latent shape run as one batch.
        """
        boxes = [GridBox.from_any(box) for box in boxes]
        if len(latents) != len(boxes):
            raise DMDLError(f"Got {len(latents)} layer latents but {len(boxes)} motion boxes; give one box per layer.")
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for index, (latent, box) in enumerate(zip(latents, boxes)):
            check_latent_matches_box(latent, box, self.config.latent_channels)
            groups[tuple(latent.shape)].append(index)
        results: list[torch.Tensor | None] = [None] * len(latents)
        for indices in groups.values():
            batch = torch.stack([latents[i] for i in indices]).to(device or self.device, self.dtype)
            video = self(batch, [boxes[i] for i in indices]).clamp(0, 1).float()
            for index, clip in zip(indices, video):
                results[index] = clip
        return results  # type: ignore[return-value]


def check_latent_matches_box(latent: torch.Tensor, box: GridBox, channels: int = 16) -> None:
    """Raise a DMDLError unless the latent is (channels, T', box.h/8, box.w/8) and the box is on the 8-px grid."""
    check_box_on_grid(box)
    expected = (channels, box.h // LATENT_PIXELS, box.w // LATENT_PIXELS)
    if latent.ndim != 4 or (latent.shape[0], *latent.shape[2:]) != expected:
        raise DMDLError(
            f"A layer latent of shape {tuple(latent.shape)} does not fit its motion box {box.as_tuple()}: "
            f"expected ({channels}, frames, {expected[1]}, {expected[2]})."
        )


def check_box_on_grid(box: GridBox) -> None:
    """Motion boxes must sit on the 8-pixel latent grid and be non-empty."""
    if box.is_empty or any(value % LATENT_PIXELS for value in box.as_tuple()):
        raise DMDLError(
            f"The motion box {box.as_tuple()} must be non-empty with x, y, width and height multiples of "
            f"{LATENT_PIXELS} pixels (the latent grid); snap it outward to multiples of {LATENT_PIXELS}."
        )
