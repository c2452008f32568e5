"""What a reviewer measures on an animated layer's own frames: where its alpha centroid
goes, how its size and angle change, how much of it stays visible, and whether the loop
closes or the entrance ends on the static layer.

Frames are (T, H, W, 4) uint8 straight alpha in motion-box pixels (poster pixels, offset),
exactly as the layered bundle's PNG sequence holds them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Measured:
    dx: np.ndarray  # centroid displacement from frame 0 (or the reference), per frame (px)
    dy: np.ndarray
    sx: np.ndarray  # alpha spread relative to frame 0, per frame (1 = same size)
    sy: np.ndarray
    visible: np.ndarray  # alpha mass relative to frame 0, per frame
    change: np.ndarray  # mean absolute change from frame 0, per frame (0..255 scale, premultiplied)
    seam: float  # mean change last -> first frame
    steps: np.ndarray  # mean change from each frame to the next (not the seam)

    @property
    def frames(self) -> int:
        return self.dx.size


def _as_seen(frames: np.ndarray) -> np.ndarray:
    """Premultiplied colour and alpha as float: what a compositor shows."""
    f = frames.astype(np.float32)
    return np.concatenate((f[..., :3] * f[..., 3:] / 255.0, f[..., 3:]), axis=-1)


def measure(frames: np.ndarray, reference: np.ndarray | None = None) -> Measured:
    """Every measure against `reference`, the layer as it stands (default: frame 0, which is
    the static layer for a loop or an exit; an entrance starts hidden and ends on it)."""
    if reference is not None:
        frames = np.concatenate((reference[None], frames))
        whole = measure(frames)
        return Measured(whole.dx[1:], whole.dy[1:], whole.sx[1:], whole.sy[1:], whole.visible[1:],
                        whole.change[1:], float(np.abs(_as_seen(frames[1:2, ::2, ::2]) - _as_seen(frames[-1:, ::2, ::2])).mean()),
                        whole.steps[1:])
    alpha = frames[..., 3].astype(np.float64)
    mass = alpha.sum(axis=(1, 2))
    ys = np.arange(alpha.shape[1]) + 0.5
    xs = np.arange(alpha.shape[2]) + 0.5
    safe = np.maximum(mass, 1e-9)
    cx = (alpha.sum(axis=1) * xs).sum(axis=1) / safe
    cy = (alpha.sum(axis=2) * ys).sum(axis=1) / safe
    vx = (alpha.sum(axis=1) * xs**2).sum(axis=1) / safe - cx**2
    vy = (alpha.sum(axis=2) * ys**2).sum(axis=1) / safe - cy**2
    seen = _as_seen(frames[:, ::2, ::2])  # every other pixel: as telling, a quarter of the work
    # change where the layer is: a thin border in a large box changes as visibly as a big layer
    coverage = max(float((alpha[:, ::2, ::2] > 0).any(axis=0).mean()), 1e-3)
    change = np.abs(seen - seen[:1]).mean(axis=(1, 2, 3)) / coverage
    steps = np.abs(np.diff(seen, axis=0)).mean(axis=(1, 2, 3))
    seam = float(np.abs(seen[0] - seen[-1]).mean())
    # where (nearly) nothing is visible the centroid means nothing: count it as in place
    shown = mass >= 0.25 * max(mass[0], 1e-9)
    return Measured(
        dx=np.where(shown, cx - cx[0], 0.0), dy=np.where(shown, cy - cy[0], 0.0),
        sx=np.sqrt(np.maximum(vx, 0) / max(vx[0], 1e-9)), sy=np.sqrt(np.maximum(vy, 0) / max(vy[0], 1e-9)),
        visible=mass / max(mass[0], 1e-9), change=change, seam=seam, steps=steps,
    )


def rotation(frames: np.ndarray, step_degrees: float = 5.0, size: int = 56) -> np.ndarray:
    """The turn (degrees, clockwise positive) of each frame against frame 0, about the
    layer's centroid, found by trying every angle on a small grey picture of the layer."""
    seen = _as_seen(frames)
    grey = torch.from_numpy((seen[..., :3].mean(axis=-1) * 0.5 + seen[..., 3] * 0.5).astype(np.float32))
    t, h, w = grey.shape
    scale = size / max(h, w)
    small = F.interpolate(grey[:, None], size=(max(8, round(h * scale)), max(8, round(w * scale))), mode="area")[:, 0]
    small = F.pad(small, (small.shape[2] // 2,) * 2 + (small.shape[1] // 2,) * 2)  # room to turn
    t, h, w = small.shape
    angles = np.radians(np.arange(-180.0, 180.0, step_degrees))
    weight = small.sum(dim=(1, 2)).clamp_min(1e-6)
    ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    cx = (small * xs).sum(dim=(1, 2)) / weight
    cy = (small * ys).sum(dim=(1, 2)) / weight
    result = np.zeros(t)
    base = small[0]
    for i in range(1, t):
        # frame i's picture turned back by each candidate angle about its centroid, compared to frame 0
        c, s = torch.cos(torch.tensor(angles, dtype=torch.float32)), torch.sin(torch.tensor(angles, dtype=torch.float32))
        x0 = (xs - cx[0])[None]
        y0 = (ys - cy[0])[None]
        src_x = (c[:, None, None] * x0 - s[:, None, None] * y0) + cx[i]
        src_y = (s[:, None, None] * x0 + c[:, None, None] * y0) + cy[i]
        grid = torch.stack((src_x / w * 2 - 1, src_y / h * 2 - 1), dim=-1)
        turned = F.grid_sample(small[i][None, None].expand(len(angles), 1, h, w), grid, align_corners=False)[:, 0]
        error = (turned - base[None]).abs().mean(dim=(1, 2))
        result[i] = np.degrees(angles[int(torch.argmin(error))])
    return result
