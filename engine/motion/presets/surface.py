"""Motions on the surface of a layer: ripple, water caustics and shimmer.

Like the camera moves (engine.motion.presets.camera) they stay inside the layer's own
frame, so a full-bleed sea or sky can ripple with no room around it. The fields travel
through the picture and are written as "travelling wave minus its own frame-0 pattern",
which is exactly zero at u = 0 (frame 0 is the static layer) and periodic over the clip,
so the loop closes without fading the motion in and out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from engine.motion.presets.camera import framed
from engine.motion.presets.resample import FramePlan
from engine.motion.presets.stage import Stage

Params = dict[str, Any]

#: (spatial waves across the layer, temporal cycles per loop, weight, angle) of the ripple's components.
_COMPONENTS = ((3.0, 1, 1.0, 0.35), (5.0, 2, 0.6, 1.9), (8.0, 3, 0.35, 3.6))


def _field(x: torch.Tensor, y: torch.Tensor, u: torch.Tensor, stage: Stage, speed: int, swap: bool) -> torch.Tensor:
    """A sum of travelling waves over the layer, (n, h, w), zero at u = 0.

    Each component is sin(P - T) - sin(P) with P = Px(x) + Py(y) its phase over the
    picture and T its phase in time; written with the angle-sum identities, the per-pixel
    work is two products per component instead of a sine (a print-size sea stays quick).
    """
    nx = ((x - stage.x0) / max(stage.content_w, 1.0)).double()
    ny = ((y - stage.y0) / max(stage.content_h, 1.0)).double()
    aspect = stage.content_h / max(stage.content_w, 1.0)
    t = u.double().view(-1, 1, 1)
    total = torch.zeros((u.shape[0], y.shape[1], x.shape[2]), dtype=torch.float32)
    for waves, cycles, weight, angle in _COMPONENTS:
        a, b = (np.cos(angle), np.sin(angle)) if not swap else (np.sin(angle), -np.cos(angle))
        px = 2.0 * np.pi * waves * a * nx  # (1, 1, w)
        py = 2.0 * np.pi * waves * b * aspect * ny + angle  # (1, h, 1)
        time = 2.0 * np.pi * cycles * speed * t  # (n, 1, 1)
        shrink, turn = torch.cos(time) - 1.0, torch.sin(time)
        # sin(P - T) - sin(P) = sin(P)(cos T - 1) - cos(P) sin T, with P = px + py
        along_y_sin = (shrink * torch.cos(py) + turn * torch.sin(py)).float()  # multiplies sin(px)
        along_y_cos = (shrink * torch.sin(py) - turn * torch.cos(py)).float()  # multiplies cos(px)
        total += weight * (torch.sin(px).float() * along_y_sin + torch.cos(px).float() * along_y_cos)
    return total / 2.0


def ripple(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Water-like ripples running through the picture, cropped at the layer's frame."""
    strength = params["amplitude"] * (0.02 * min(stage.content_w, stage.content_h) + 1.5)
    times = torch.as_tensor(u, dtype=torch.float32)
    grid = stage.grid
    speed = params["cycles"]

    def source(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        x, y = grid.coords(rows, cols)
        t = times[torch.as_tensor(index)]
        out = torch.empty((index.size, y.shape[1], x.shape[2], 2))
        out[..., 0] = x + strength * _field(x, y, t, stage, speed, False)
        out[..., 1] = y + strength * _field(x, y, t, stage, speed, True)
        return out

    held, mask = framed(stage, source)
    still = np.mod(u * speed, 1.0) == 0.0
    note = f"Ripples of up to {round(2 * strength, 1)} px run through the layer inside its own frame."
    return FramePlan(len(u), source=held, mask=mask, still=still, notes=[note])


def _shading(stage: Stage, params: Params, u: np.ndarray, sharp: bool) -> FramePlan:
    times = torch.as_tensor(u, dtype=torch.float32)
    grid = stage.grid
    depth = 0.7 * params["amplitude"]
    speed = params["cycles"]

    def shade(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        x, y = grid.coords(rows, cols)
        t = times[torch.as_tensor(index)]
        light = _field(x, y, t, stage, speed, False) * _field(x, y, t, stage, speed, True)
        if sharp:  # caustics: bright thin lines where two wave fields cross
            light = light.abs().sqrt() * torch.sign(light)
        return 1.0 + depth * light

    still = np.mod(u * speed, 1.0) == 0.0
    return FramePlan(len(u), shade=shade, still=still)


def shimmer(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Light shimmering over the layer: brightness moving in soft waves, nothing moves."""
    return _shading(stage, params, u, sharp=False)


def caustics(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Water caustics: a net of moving bright lines plus a gentle ripple of the picture."""
    bent = ripple(stage, {**params, "amplitude": 0.4 * params["amplitude"]}, u)
    lit = _shading(stage, params, u, sharp=True)
    bent.shade = lit.shade
    bent.notes = ["Water caustics: moving light over the layer and a gentle ripple inside its own frame."]
    return bent
