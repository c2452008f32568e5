"""Presets that bend the layer with a smooth displacement field instead of moving it rigidly.

Each field is written as its inverse (for every output pixel, the static-layer point it
shows), which is what the sampler needs. Column- and row-wise quantities are computed
once per clip in numpy (small: frames × width), the per-pixel part in torch per chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from engine.motion.presets.easing import oscillate, periodic_clock
from engine.motion.presets.resample import FramePlan
from engine.motion.presets.stage import MIN_GAIN, Stage, room_note
from engine.motion.presets.transforms import affine_forward

Params = dict[str, Any]


def _frames(values: np.ndarray, index: np.ndarray) -> torch.Tensor:
    """Rows `index` of a per-frame numpy array as float32 torch, ready to broadcast."""
    return torch.as_tensor(values[index], dtype=torch.float32)


def _points(index: np.ndarray, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """An empty (n, h, w, 2) tensor for the source points of a region."""
    return torch.empty((index.size, y.shape[1], x.shape[2], 2))


def _content_columns(stage: Stage) -> np.ndarray:
    """Which box columns hold content: only they need room to move (empty ones show nothing)."""
    x = np.arange(stage.width) + 0.5
    return (x >= stage.x0) & (x <= stage.x1)


def _vertical_room_gain(stage: Stage, dy: np.ndarray) -> float:
    """How much a vertical displacement (down positive) of the content columns must shrink
    to stay in the box."""
    dy = dy[:, _content_columns(stage)]
    up, down = float(np.max(-dy, initial=0.0)), float(np.max(dy, initial=0.0))
    gain = 1.0
    if up > 0:
        gain = min(gain, stage.margin("up") / up)
    if down > 0:
        gain = min(gain, stage.margin("down") / down)
    return gain


def _column_position(stage: Stage) -> np.ndarray:
    """Each box column's position along the content, 0 at its left edge and 1 at its right."""
    x = np.arange(stage.width) + 0.5
    return (x - stage.x0) / max(stage.content_w, 1.0)


def _column_shift_motion(stage: Stage, preset: str, dy: np.ndarray, shade: np.ndarray | None = None) -> FramePlan:
    """A motion moving each column vertically by dy (N, W), shrunk to fit the box."""
    gain = _vertical_room_gain(stage, dy)
    dy = dy * gain
    still = np.all(dy == 0.0, axis=1)
    grid = stage.grid

    def source(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        x, y = grid.coords(rows, cols)
        shift = _frames(dy, index)[:, cols].unsqueeze(1)  # (n, 1, w)
        out = _points(index, y, x)
        out[..., 0].copy_(x.expand_as(out[..., 0]))
        torch.sub(y, shift, out=out[..., 1])
        return out

    shade_fn = None
    if shade is not None:
        shade = 1.0 + (shade - 1.0) * gain
        still &= np.all(shade == 1.0, axis=1)

        def shade_fn(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
            column_shade = _frames(shade, index)[:, cols].unsqueeze(1)
            return column_shade.expand(-1, len(range(grid.height)[rows]), -1)

    return FramePlan(dy.shape[0], source=source, shade=shade_fn, still=still, notes=room_note(preset, gain),
                  reach=_column_reach(stage, dy))


def _column_reach(stage: Stage, dy: np.ndarray) -> np.ndarray:
    """The content's top and bottom edges, each column lifted or lowered by its dy."""
    inside = _content_columns(stage)
    x, dy = (np.arange(stage.width) + 0.5)[inside], dy[:, inside]
    top = np.stack(np.broadcast_arrays(x, stage.y0 + dy), axis=-1)
    bottom = np.stack(np.broadcast_arrays(x, stage.y1 + dy), axis=-1)
    return np.concatenate((top.reshape(-1, 2), bottom.reshape(-1, 2)))


def text_wave(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """A sine wave running along the layer: every column rises and sinks a little after its
    neighbour, so the letters of a title ripple like a stadium wave."""
    p, envelope = periodic_clock(u, params, travelling=True)
    travel = 1.0 if params["direction"] == "right" else -1.0
    along = _column_position(stage)
    wave = oscillate(p[:, None] - travel * params["waves"] * along[None, :], params["easing"])
    dy = -params["amplitude"] * 0.5 * stage.content_h * wave * envelope[:, None]
    return _column_shift_motion(stage, "text_wave", dy)


def flag_wave(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Cloth on a pole: ripples start at the pole side and grow toward the free edge, with a
    second, faster ripple for irregularity and soft shading of the folds."""
    p, envelope = periodic_clock(u, params, travelling=True)
    along = _column_position(stage)
    if params["pivot"] == "right":
        along = 1.0 - along
    free = np.clip(along, 0.0, 1.0)[None, :]
    k = params["waves"]
    phase = 2.0 * np.pi * (p[:, None] - k * along[None, :])
    ripple = np.sin(phase) + 0.3 * np.sin(2.0 * phase + 1.3) - 0.3 * np.sin(1.3)
    # real cloth ripples stay shallow: the height is a share of the ripple's wavelength
    wavelength = stage.content_w / k
    lift = params["amplitude"] * min(0.35 * stage.content_h, 0.25 * wavelength)
    dy = lift * free * ripple * envelope[:, None]
    shade = None
    if params["shading"]:
        slope = np.gradient(dy, axis=1)  # folds facing up catch the light, the others darken
        shade = np.clip(1.0 - 0.4 * slope, 0.75, 1.25)
    return _column_shift_motion(stage, "flag_wave", dy, shade)


def wave_rotate(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """The paper's text effect (ii): a rocking rotation that travels along the layer.

    Every column turns about the layer's middle line by an angle that follows a wave along
    the text, so the letters lean back and forth one after another. Columns near the box's
    side edges lean less when the box leaves no room for their tops and bottoms.
    """
    p, envelope = periodic_clock(u, params, travelling=True)
    travel = 1.0 if params["direction"] == "right" else -1.0
    along = _column_position(stage)
    max_angle = np.radians(30.0) * params["amplitude"]
    x = np.arange(stage.width) + 0.5
    half_height = max(stage.content_h / 2.0, 1.0)
    side_room = np.minimum(x, stage.width - x)
    limit = np.arcsin(np.clip(side_room / half_height, 0.0, 1.0))
    taper = np.minimum(1.0, limit / max_angle) if max_angle > 0 else np.ones_like(x)
    wave = oscillate(p[:, None] - travel * params["waves"] * along[None, :], params["easing"])
    angle = max_angle * taper[None, :] * wave * envelope[:, None]
    still = np.all(angle == 0.0, axis=1)
    sin_a, cos_a = np.sin(angle), np.cos(angle)
    cy = stage.center[1]
    grid = stage.grid

    def source(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        x, y = grid.coords(rows, cols)
        s = _frames(sin_a, index)[:, cols].unsqueeze(1)
        c = _frames(cos_a, index)[:, cols].unsqueeze(1)
        r = y - cy
        out = _points(index, y, x)
        torch.addcmul(x, r, s, out=out[..., 0])
        torch.addcmul(torch.tensor(cy), r, c, out=out[..., 1])
        return out

    notes = room_note("wave_rotate", float(np.median(taper[(along >= 0) & (along <= 1)]))) if max_angle > 0 else []
    return FramePlan(len(u), source=source, still=still, notes=notes, reach=_leaning_reach(stage, angle))


def _leaning_reach(stage: Stage, angle: np.ndarray) -> np.ndarray:
    """Where the content's corners go when its columns lean by `angle` (N, W) about the
    middle line: a column's top and bottom shift sideways by h/2·tan and stretch by 1/cos."""
    lean = np.abs(angle[:, _content_columns(stage)]).max(initial=0.0)
    half = stage.content_h / 2.0
    side, stretch = half * np.tan(lean), half * (1.0 / np.cos(lean) - 1.0)
    corners = stage.outline()
    shifts = np.array([(sx * side, sy * stretch) for sx in (-1, 1) for sy in (-1, 1)])
    return corners[None] + shifts[:, None]


def jelly(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """A soft body wobbling on its base: the top lags sideways on a curved (not rigid)
    profile while the body squashes and stretches at twice the rate, keeping its volume."""
    p, envelope = periodic_clock(u, params)
    lean = params["amplitude"] * 0.3 * min(stage.content_w, stage.content_h)
    lean_wave = oscillate(p, params["easing"]) * envelope
    squash_wave = np.sin(4.0 * np.pi * p) * envelope
    squash = params["amplitude"] * 0.2
    foot_x, foot_y = stage.pivot("bottom")
    height = max(stage.content_h, 1.0)
    outline = stage.outline(9)

    def shape(g: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sy = 1.0 + g * squash * squash_wave
        return g * lean * lean_wave, 1.0 / sy, sy

    def moved_outline(g: float) -> np.ndarray:
        bend, sx, sy = (v[:, None] for v in shape(g))
        rise = np.clip((foot_y - outline[:, 1]) / height, 0.0, 1.0) ** 2
        x = foot_x + (outline[:, 0] - foot_x) * sx + bend * rise
        y = foot_y + (outline[:, 1] - foot_y) * sy
        return np.stack((x, y), axis=-1)

    gain = stage.largest_fitting_gain(moved_outline)
    bend, sx, sy = shape(gain)
    still = (bend == 0.0) & (sy == 1.0)
    grid = stage.grid

    def source(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        x, y = grid.coords(rows, cols)
        b, fx, fy = (_frames(v, index).view(-1, 1, 1) for v in (bend, sx, sy))
        src_y = foot_y + (y - foot_y) / fy  # (n, h, 1)
        rise = ((foot_y - src_y) / height).clamp(0.0, 1.0) ** 2
        out = _points(index, y, x)
        torch.addcmul(foot_x - b * rise / fx, x - foot_x, 1.0 / fx, out=out[..., 0])
        out[..., 1].copy_(src_y.expand_as(out[..., 1]))
        return out

    return FramePlan(len(u), source=source, still=still, notes=room_note("jelly", gain), reach=moved_outline(gain))


def _sway_weight(stage: Stage, pivot_name: str, bend: float, x, y):
    """How much of the sway angle a point gets: the full angle far from the pivot, less
    near it when the layer bends (a stem that stays rooted while its top swings).

    The weight depends on one coordinate only (height for a bottom or top pivot, width for
    a side pivot), so per frame the angle is one value per row or column.
    """
    px, py = stage.pivot(pivot_name)
    if pivot_name == "center":
        return 1.0
    if pivot_name == "bottom":
        reach = (py - y) / max(stage.content_h, 1.0)
    elif pivot_name == "top":
        reach = (y - py) / max(stage.content_h, 1.0)
    elif pivot_name == "left":
        reach = (x - px) / max(stage.content_w, 1.0)
    else:
        reach = (px - x) / max(stage.content_w, 1.0)
    if isinstance(reach, torch.Tensor):
        reach = reach.clamp(0.0, 1.0)
    else:
        reach = np.clip(reach, 0.0, 1.0)
    return (1.0 - bend) + bend * reach


def sway(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Rocking about a pivot (the base, for plants), bending progressively along the layer.

    Each output row (or column, for a side pivot) turns back about the pivot by its own
    share of the angle: the inverse of a bend that is still at the root and full at the tip.
    """
    p, envelope = periodic_clock(u, params)
    swing = np.radians(20.0) * params["amplitude"] * oscillate(p, params["easing"]) * envelope
    pivot_name, bend = params["pivot"], params["bend"]
    px, py = stage.pivot(pivot_name)
    outline = stage.outline(17)
    weight = _sway_weight(stage, pivot_name, bend, outline[:, 0], outline[:, 1])

    def moved_outline(g: float) -> np.ndarray:
        angle = g * swing[:, None] * weight
        c, s = np.cos(angle), np.sin(angle)
        dx, dy = outline[:, 0] - px, outline[:, 1] - py
        return np.stack((px + c * dx - s * dy, py + s * dx + c * dy), axis=-1)

    gain = stage.largest_fitting_gain(moved_outline, open_side=stage.rooted_side(pivot_name))
    angles = gain * swing
    grid = stage.grid

    def source(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        x, y = grid.coords(rows, cols)
        angle = -_frames(angles, index).view(-1, 1, 1) * _sway_weight(stage, pivot_name, bend, x, y)
        c, s = torch.cos(angle), torch.sin(angle)  # (n, h, 1), (n, 1, w) or (n, 1, 1): cheap
        ox, oy = x - px, y - py
        out = _points(index, y, x)
        torch.addcmul(px - s * oy, c, ox, out=out[..., 0])
        torch.addcmul(py + c * oy, s, ox, out=out[..., 1])
        return out

    # without a bend every point turns by the whole angle: one rigid rotation per frame
    rigid = affine_forward((px, py), angle=angles) if bend == 0.0 or pivot_name == "center" else None
    return FramePlan(len(u), source=source, still=angles == 0.0, notes=room_note("sway", gain), reach=moved_outline(gain),
                     forward=rigid)
