"""Several layers' latents <-> one token sequence per sample.

Each layer arrives as its own latent (C, T', h_i, w_i), already cropped to its motion box
on the 16-pixel poster grid (VAE 8x8 times patch 2x2 = one token per 16x16 pixels). Its
patches become tokens; a sample's tokens form ONE sequence so that every layer can attend
to every other (the paper's cross-layer interaction). Layout of a sample's sequence:

    [frame-0 tokens of layer 0, of layer 1, ... | pad] [later-frame tokens of all layers | pad]

All frame-0 tokens come first because the stock HunyuanVideo token-replace blocks modulate
the first `first_frame_tokens` tokens with the clean-frame (t = 0) embedding: with them
grouped, the blocks need no change. Each section is padded to the longest in the batch, so
samples with different layer sizes share one tensor; `layer_slot == -1` marks padding.

A token's patch vector is ordered (C, pt, p, p), the order of the patch-embedding Conv3d
weight and of HunyuanVideo's output projection, so one matrix product embeds the whole
packed sequence and the output unpacks with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import torch

from engine.dmdl.grid import TOKEN_PIXELS


@dataclass(frozen=True)
class LayerPlacement:
    """A layer's place in the 4D position space.

    `index` is its coordinate on the layer rotary axis (its order in the poster's layer
    stack); `top`/`left` are the token-grid row/column of its motion box on the poster.
    """

    index: int
    top: int
    left: int


@dataclass
class PackedLayers:
    """A batch of multi-layer samples as one padded token tensor plus what undoes it."""

    tokens: torch.Tensor  # (B, N, C*pt*p*p)
    positions: torch.Tensor  # (B, N, 4) float: layer, frame, y, x
    layer_slot: torch.Tensor  # (B, N) long: position of the token's layer in its sample's list, -1 = padding
    first_frame_tokens: int  # length of the frame-0 section (padded)
    grids: list[list[tuple[int, int, int]]]  # per sample, per layer: post-patch (frames, rows, cols)
    starts: list[list[tuple[int, int]]]  # per sample, per layer: start in frame-0 section, start in the rest
    channels: int
    patch_size: int
    patch_size_t: int

    @property
    def valid(self) -> torch.Tensor:
        """(B, N) bool: real tokens, not padding."""
        return self.layer_slot >= 0

    @property
    def first_frame(self) -> torch.Tensor:
        """(B, N) bool: tokens of the clean conditioning frame (token replace)."""
        mask = torch.zeros_like(self.valid)
        mask[:, : self.first_frame_tokens] = True
        return mask & self.valid

    def with_tokens(self, tokens: torch.Tensor) -> "PackedLayers":
        """The same layout carrying other values (noisy latents, velocities)."""
        return replace(self, tokens=tokens)

    def unpack(self, tokens: torch.Tensor | None = None) -> list[list[torch.Tensor]]:
        """Per-sample lists of per-layer latents (C, T', h, w); exact inverse of `pack_layers`."""
        tokens = self.tokens if tokens is None else tokens
        channels = tokens.shape[-1] // (self.patch_size_t * self.patch_size**2)
        out = []
        for b, (grids, starts) in enumerate(zip(self.grids, self.starts)):
            layers = []
            for (frames, rows, cols), (first, rest) in zip(grids, starts):
                per_frame = rows * cols
                first_part = tokens[b, first : first + per_frame]
                rest_at = self.first_frame_tokens + rest
                rest_part = tokens[b, rest_at : rest_at + (frames - 1) * per_frame]
                grid = torch.cat([first_part, rest_part]).reshape(frames, rows, cols, -1)
                layers.append(unpatchify(grid, channels, self.patch_size, self.patch_size_t))
            out.append(layers)
        return out


    def pack(self, layers: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
        """Per-sample lists of per-layer latents shaped like this batch's -> tokens in its layout;
        the inverse of `unpack` (padding zero)."""
        dim = self.tokens.shape[-1]
        tokens = layers[0][0].new_zeros(*self.tokens.shape[:2], dim)
        for b, (latents, grids, starts) in enumerate(zip(layers, self.grids, self.starts)):
            for latent, (frames, rows, cols), (first, rest) in zip(latents, grids, starts):
                grid = patchify(latent, self.patch_size, self.patch_size_t).reshape(frames, rows * cols, dim)
                tokens[b, first : first + rows * cols] = grid[0]
                rest_at = self.first_frame_tokens + rest
                tokens[b, rest_at : rest_at + (frames - 1) * rows * cols] = grid[1:].reshape(-1, dim)
        return tokens

    def layer_shapes(self) -> list[list[tuple[int, int, int, int]]]:
        """Per sample, per layer: the latent shape (C, T', h, w) its tokens unpack to."""
        p, pt = self.patch_size, self.patch_size_t
        return [[(self.channels, f * pt, r * p, c * p) for f, r, c in grids] for grids in self.grids]


def patchify(latent: torch.Tensor, patch_size: int, patch_size_t: int) -> torch.Tensor:
    """(C, T, H, W) -> (T/pt, H/p, W/p, C*pt*p*p)."""
    c, t, h, w = latent.shape
    p, pt = patch_size, patch_size_t
    x = latent.reshape(c, t // pt, pt, h // p, p, w // p, p)
    return x.permute(1, 3, 5, 0, 2, 4, 6).reshape(t // pt, h // p, w // p, c * pt * p * p)


def unpatchify(grid: torch.Tensor, channels: int, patch_size: int, patch_size_t: int) -> torch.Tensor:
    """(T', h, w, C*pt*p*p) -> (C, T'*pt, h*p, w*p)."""
    t, h, w, _ = grid.shape
    p, pt = patch_size, patch_size_t
    x = grid.reshape(t, h, w, channels, pt, p, p).permute(3, 0, 4, 1, 5, 2, 6)
    return x.reshape(channels, t * pt, h * p, w * p)


def _check_latent(latent: torch.Tensor, patch_size: int, patch_size_t: int, where: str) -> None:
    if latent.ndim != 4:
        raise ValueError(f"{where}: a layer latent must be (C, T, H, W), got shape {tuple(latent.shape)}.")
    _, t, h, w = latent.shape
    if h % patch_size or w % patch_size or t % patch_size_t:
        raise ValueError(
            f"{where}: latent {tuple(latent.shape)} does not divide into {patch_size_t}x{patch_size}x{patch_size} "
            "patches; snap the motion box to the 16-pixel grid."
        )
    if t // patch_size_t < 1:
        raise ValueError(f"{where}: a layer needs at least its clean first frame.")


def pack_layers(
    latents: Sequence[Sequence[torch.Tensor]],
    placements: Sequence[Sequence[LayerPlacement]],
    patch_size: int = 2,
    patch_size_t: int = 1,
) -> PackedLayers:
    """Pack a batch (list of samples, each a list of layer latents) into one token tensor."""
    if len(latents) != len(placements) or not latents:
        raise ValueError("Give one list of placements per sample, and at least one sample.")
    samples = []  # per sample: list of (frame-0 tokens, rest tokens, frame-0 pos, rest pos, grid)
    for b, (layers, places) in enumerate(zip(latents, placements)):
        if len(layers) != len(places) or not layers:
            raise ValueError(f"Sample {b}: give one placement per layer, and at least one layer.")
        parts = []
        for i, (latent, place) in enumerate(zip(layers, places)):
            _check_latent(latent, patch_size, patch_size_t, f"sample {b}, layer {i}")
            grid = patchify(latent, patch_size, patch_size_t)
            frames, rows, cols, dim = grid.shape
            f, y, x = torch.meshgrid(
                torch.arange(frames), torch.arange(rows) + place.top, torch.arange(cols) + place.left, indexing="ij"
            )
            pos = torch.stack([torch.full_like(f, place.index), f, y, x], dim=-1).reshape(frames, rows * cols, 4)
            tokens = grid.reshape(frames, rows * cols, dim)
            parts.append((tokens[0], tokens[1:].reshape(-1, dim), pos[0], pos[1:].reshape(-1, 4), (frames, rows, cols)))
        samples.append(parts)

    first_len = max(sum(p[0].shape[0] for p in parts) for parts in samples)
    rest_len = max(sum(p[1].shape[0] for p in parts) for parts in samples)
    reference = latents[0][0]
    dim = samples[0][0][0].shape[-1]
    batch = len(samples)
    tokens = reference.new_zeros(batch, first_len + rest_len, dim)
    positions = torch.zeros(batch, first_len + rest_len, 4, device=reference.device)
    slots = torch.full((batch, first_len + rest_len), -1, dtype=torch.long, device=reference.device)
    grids, starts = [], []
    for b, parts in enumerate(samples):
        first_at, rest_at = 0, 0
        sample_grids, sample_starts = [], []
        for slot, (first, rest, first_pos, rest_pos, grid) in enumerate(parts):
            for at, values, pos in ((first_at, first, first_pos), (first_len + rest_at, rest, rest_pos)):
                tokens[b, at : at + values.shape[0]] = values
                positions[b, at : at + values.shape[0]] = pos.to(positions)
                slots[b, at : at + values.shape[0]] = slot
            sample_grids.append(grid)
            sample_starts.append((first_at, rest_at))
            first_at += first.shape[0]
            rest_at += rest.shape[0]
        grids.append(sample_grids)
        starts.append(sample_starts)
    return PackedLayers(
        tokens=tokens,
        positions=positions,
        layer_slot=slots,
        first_frame_tokens=first_len,
        grids=grids,
        starts=starts,
        channels=reference.shape[0],
        patch_size=patch_size,
        patch_size_t=patch_size_t,
    )


def snap_box_to_grid(
    x: int, y: int, w: int, h: int, canvas_w: int, canvas_h: int, cell: int = TOKEN_PIXELS
) -> tuple[int, int, int, int]:
    """Grow a pixel box outward to the token grid, keeping it on a canvas padded to the grid.

    The canvas itself is padded up to a multiple of `cell` (1080 -> 1088), so a box touching
    the right or bottom edge stays whole rather than being cut.
    """
    grid_w = -(-canvas_w // cell) * cell
    grid_h = -(-canvas_h // cell) * cell
    left, top = (max(0, x) // cell) * cell, (max(0, y) // cell) * cell
    right = min(grid_w, -(-(x + w) // cell) * cell)
    bottom = min(grid_h, -(-(y + h) // cell) * cell)
    if right <= left or bottom <= top:
        raise ValueError(f"The box {(x, y, w, h)} lies outside the {canvas_w}x{canvas_h} canvas.")
    return left, top, right - left, bottom - top
