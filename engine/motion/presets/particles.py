"""Particle layers drawn over the layer's region: rain, snow, bubbles, confetti, sparkle.

The layer itself stays put; particles are drawn on top of it inside its content box, so a
full-bleed sky can snow without a larger box. Every particle lives for part of the loop
(fading in, moving, fading out). Positions come from the seed: a re-roll gives another fall
of snow.

Frame 0 and the identity rule. The engine's rule is about the layer's content: frame 0
shows the layer's own pixels exactly as designed. Particles are not the layer's content
but an added layer drawn over it, so by default (`preroll`) the snow is already falling
on frame 0: lives are placed on a circle of clip time (a life that starts near the end of
the loop carries on at its start), the density is the same on every frame and frame N
flows into frame 0. Frame 0 is then the layer exactly, with that instant's particles on
top (nothing of the layer moves; particles only cover it). With `preroll` off, no particle
is alive at u = 0 or u = 1: frame 0 is the bare layer bit for bit and the particles fade in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from engine.motion.presets.resample import FramePlan
from engine.motion.presets.stage import Stage

Params = dict[str, Any]


@dataclass(frozen=True)
class Look:
    """How one kind of particle looks and moves (lengths in shares of the region's height)."""

    colours: tuple[tuple[int, int, int], ...]
    radius: tuple[float, float]  # pixels
    speed: float  # region heights travelled per loop, along `direction`
    wobble: float  # sideways sway, pixels
    alpha: float
    streak: float = 0.0  # elongation along the motion, in radii (rain)
    ring: bool = False  # hollow (bubbles)
    twinkle: bool = False  # stays in place and flashes (sparkle)


LOOKS: dict[str, Look] = {
    "rain": Look(((205, 225, 255),), (1.0, 1.6), 1.4, 0.0, 0.65, streak=8.0),
    "snow": Look(((255, 255, 255),), (1.5, 3.5), 0.35, 6.0, 0.9),
    "bubbles": Look(((225, 250, 255),), (2.5, 7.0), 0.45, 5.0, 0.85, ring=True),
    "confetti": Look(((255, 90, 90), (255, 210, 60), (80, 200, 120), (80, 160, 255), (220, 110, 255)),
                     (2.0, 3.5), 0.5, 8.0, 0.95),
    "sparkle": Look(((255, 250, 220),), (2.0, 5.0), 0.0, 0.0, 1.0, twinkle=True),
}

#: Above this brightness (0..255) a layer is light, and so is a palette that would vanish on it.
LIGHT_LAYER = 180.0
#: Particles per million pixels of region at density 1 (capped, so print sizes stay quick).
PER_MEGAPIXEL = 900
MAX_PARTICLES = 1500


def particles(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Particles of `style` over the layer's content box, moving along `direction`."""
    look = LOOKS[params["style"]]
    direction = params["direction"]
    x0, y0, x1, y1 = stage.x0, stage.y0, stage.x1, stage.y1
    width, height = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    rng = np.random.default_rng(stage.seed)
    count = int(min(MAX_PARTICLES, max(12, PER_MEGAPIXEL * params["density"] * width * height / 1e6)))
    life = rng.uniform(0.35, 0.6, count)
    born = rng.uniform(0.02, 0.98 - life)
    start_x, start_y = rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)
    radius = rng.uniform(*look.radius, count)
    palette = np.array(look.colours, dtype=np.float32)
    on_light = stage.luma > LIGHT_LAYER and palette.min() > LIGHT_LAYER
    if on_light:  # white snow on white paper would not show: a pale grey-blue does
        palette = palette * np.array([0.64, 0.68, 0.78], dtype=np.float32)
    colour = palette[rng.integers(0, len(look.colours), count)]
    wobble_phase = rng.uniform(0, 2 * np.pi, count)
    if params["preroll"]:  # lives on a circle of clip time: already falling at u = 0, the same at u = 1
        born = rng.uniform(0.0, 1.0, count)
        # twice as long: the even fall shows as many at once as the busiest moment of the
        # unrolled one (whose lives bunch in the middle of the loop), at the same cost
        life = np.minimum(2.0 * life, 1.0)
        age = np.mod(u[:, None] - born[None, :], 1.0) / life[None, :]
    else:
        age = (u[:, None] - born[None, :]) / life[None, :]  # (N, count), alive while in (0, 1)
    alive = (age > 0.0) & (age < 1.0)
    fade = np.where(alive, np.sin(np.pi * np.clip(age, 0.0, 1.0)), 0.0)
    if look.twinkle:
        fade = fade ** 3
    travel = look.speed * height * np.clip(age, 0.0, 1.0) * life[None, :]
    along = {"down": (0.0, 1.0), "up": (0.0, -1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}[direction]
    sway = look.wobble * np.sin(2 * np.pi * 2.0 * age + wobble_phase[None, :])
    px = start_x[None, :] + along[0] * travel + (sway if along[0] == 0 else 0.0)
    py = start_y[None, :] + along[1] * travel + (sway if along[1] == 0 else 0.0)
    # wrap inside the region so the density stays even wherever particles were born
    px = x0 + np.mod(px - x0, width)
    py = y0 + np.mod(py - y0, height)
    opacity = look.alpha * fade
    grid = stage.grid

    def overlay(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        x, y = grid.coords(rows, cols)
        out = torch.zeros((index.size, 4, y.shape[1], x.shape[2]))
        top, left = rows.start or 0, cols.start or 0
        h, w = y.shape[1], x.shape[2]
        for k, frame in enumerate(index):
            visible = np.flatnonzero(opacity[frame] > 0.01)
            for i in visible:
                _splat(out[k], px[frame, i], py[frame, i], radius[i], colour[i],
                       float(opacity[frame, i]), look, along, (left, top, left + w, top + h))
        return out

    still = ~np.any(opacity > 0.01, axis=1)
    notes = [f"{count} {params['style']} particles drawn over the layer's area, moving {direction}."]
    if on_light:
        notes.append(f"The layer is light, so the {params['style']} is drawn a little darker to show on it.")
    if params["preroll"]:
        notes.append("They are already there on frame 0 (drawn over the layer, which itself stays exactly as "
                     "designed) and loop without a gap; set 'preroll' off to start from the bare layer.")
    pad = float(radius.max()) * (1.0 + look.streak) + 2.0  # a particle at the region's edge spills this far
    region = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    return FramePlan(len(u), overlay=overlay, overlay_region=region, still=still, notes=notes,
                     rests_at_start=not params["preroll"])


def _splat(frame: torch.Tensor, cx: float, cy: float, radius: float, colour: np.ndarray, alpha: float,
           look: Look, along: tuple[float, float], region: tuple[int, int, int, int]) -> None:
    """Draw one soft particle centred at box point (cx, cy) "over" what is already in
    `frame` (4, h, w), which holds the box pixels `region` (x0, y0, x1, y1); premultiplied
    0..255. Computed in box coordinates, so any crop of the box draws the same pixels."""
    reach_x = radius * (1 + (look.streak if along[0] else 0)) + 2
    reach_y = radius * (1 + (look.streak if along[1] else 0)) + 2
    left, right = int(max(region[0], np.floor(cx - reach_x))), int(min(region[2], np.ceil(cx + reach_x)))
    top, bottom = int(max(region[1], np.floor(cy - reach_y))), int(min(region[3], np.ceil(cy + reach_y)))
    if right <= left or bottom <= top:
        return
    xs = torch.from_numpy(np.arange(left, right) + 0.5 - cx).to(torch.float32).view(1, -1)
    ys = torch.from_numpy(np.arange(top, bottom) + 0.5 - cy).to(torch.float32).view(-1, 1)
    if look.streak:
        stretch = 1.0 + look.streak
        xs = xs / (stretch if along[0] else 1.0)
        ys = ys / (stretch if along[1] else 1.0)
    distance = torch.sqrt(xs * xs + ys * ys)
    if look.twinkle:  # a four-pointed glint: bright along the axes
        cross = torch.minimum(xs.abs(), ys.abs())
        cover = (1.0 - cross / 1.2).clamp(0.0, 1.0) * (1.0 - distance / (2.5 * radius)).clamp(0.0, 1.0)
        cover = torch.maximum(cover, (1.0 - distance / (0.6 * radius + 0.5)).clamp(0.0, 1.0))
    elif look.ring:
        cover = (1.0 - (distance - radius).abs() / 1.2).clamp(0.0, 1.0) + 0.15 * (distance < radius).float()
    else:
        cover = (radius + 0.5 - distance).clamp(0.0, 1.0)
    a = (cover.clamp(0.0, 1.0) * alpha * 255.0)
    region = frame[:, top - region[1]:bottom - region[1], left - region[0]:right - region[0]]
    keep = 1.0 - a / 255.0
    for c in range(3):
        region[c] = region[c] * keep + float(colour[c]) * a / 255.0
    region[3] = region[3] * keep + a
