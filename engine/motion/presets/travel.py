"""Travel that loops: drift, swim, rise, fly across, without flying off and vanishing.

A loop must end where it started, so a layer that travels one way has two honest ways
to come back: a swing (out along the direction and back again, always visible) or a
wrap-around (it leaves one edge of its motion box and comes back in through the opposite
edge, like a conveyor). A slow one-way move cannot loop in a short clip, so "slowly" makes
the swing shorter, and the clip's note says it is a swing.

Parallax drift is a gentle horizontal swing whose distance depends on depth: far layers
move less than near ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from engine.motion.presets.easing import ease, periodic_clock
from engine.motion.presets.facing import facing, swing_heads, turn_scale
from engine.motion.presets.resample import FramePlan
from engine.motion.presets.stage import Stage, room_note
from engine.motion.presets.transforms import DIRECTIONS, affine_forward, affine_motion, moved
from engine.motion.timing import times

Params = dict[str, Any]

#: How far a swing goes at amplitude 1, as a share of the content's length along the way.
SWING_REACH = 1.6
#: How much of a layer a swing may carry past the edge it leaves through (the rest stays in view).
CROP_SHARE = 0.15


def _swing(p: np.ndarray, easing: str) -> np.ndarray:
    """0 at rest, 1 at the far end of the swing, back to 0 each cycle."""
    triangle = 1.0 - np.abs(2.0 * np.mod(p, 1.0) - 1.0)
    return ease(easing, triangle)


def swing_distance(stage: Stage, direction: str, amplitude: float) -> float:
    """How far (box pixels) a swing goes: a share of the content's own length that way."""
    along = stage.content_w if direction in ("left", "right") else stage.content_h
    return SWING_REACH * amplitude * along


def travel(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Travel along `direction` and loop seamlessly: a swing, or a wrap-around the box."""
    if params["mode"] == "wrap":
        return _wrap(stage, params, u)
    return _swing_travel(stage, params, u, swing_distance(stage, params["direction"], params["amplitude"]), "travel")


def _swing_travel(stage: Stage, params: Params, u: np.ndarray, distance: float, preset: str) -> FramePlan:
    p, envelope = periodic_clock(u, params)
    along = _swing(p, params["easing"]) * envelope
    dx, dy = DIRECTIONS[params["direction"]]
    corners = stage.outline()
    drawn = _drawn_facing(stage, params)
    sx = 1.0
    if drawn is not None:  # heading out the way it faces, or mirrored for it; back the other way
        sx = turn_scale(swing_heads(p, forward=drawn == params["direction"]), u, params["cycles"])

    def forward(g: float) -> np.ndarray:
        return affine_forward(stage.center, sx=sx, tx=g * distance * dx * along, ty=g * distance * dy * along)

    # A layer already touching its box on the way it travels hangs at the poster's edge
    # (a cloud cut by the canvas): it may travel out through that edge, cropped there.
    crop = params.get("crop", False) or stage.margin(params["direction"]) < 1.0
    side = params["direction"] if crop else None
    if crop:  # most of the layer stays on the poster: it drifts off the edge, never out of sight
        length = stage.content_w if params["direction"] in ("left", "right") else stage.content_h
        distance = min(distance, stage.margin(params["direction"]) + CROP_SHARE * length)
    gain = stage.largest_fitting_gain(lambda g: moved(forward(g), corners), open_side=side)
    notes = room_note(preset, gain)
    if side is not None and gain > 0:
        notes.append(f"It travels out through the {_side(side)} edge of its box (the poster's edge) and is cropped there.")
    if distance * gain >= 1.0:
        notes.append(
            f"It travels {round(distance * gain)} px {params['direction']} and swings back, "
            f"{times(params['cycles'])} per loop, so the clip loops without a jump."
        )
        if drawn is not None:
            notes.append(
                f"It faces {drawn} in the picture, so it is mirrored for the way {_back_or_out(drawn, params)} "
                "and turns at each end of the swing, head first both ways (set 'face' off to keep it as drawn)."
            )
    return affine_motion(stage, forward(gain), notes=notes)


def _back_or_out(drawn: str, params: Params) -> str:
    return "back" if drawn == params["direction"] else "out"


def _drawn_facing(stage: Stage, params: Params) -> str | None:
    """The way the layer faces when it travels sideways with `face` on (see facing.py), else None."""
    if not params.get("face", False) or params["direction"] not in ("left", "right"):
        return None
    return facing(stage.alpha)


def _wrap(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Leave one edge of the box and come back in at the opposite one, `cycles` times."""
    direction = params["direction"]
    horizontal = direction in ("left", "right")
    period = float(stage.width if horizontal else stage.height)
    sign = 1.0 if direction in ("right", "down") else -1.0
    offset = sign * params["cycles"] * period * (u - np.floor(u))
    offset = np.where(np.abs(np.mod(offset, period)) < 1e-9, 0.0, offset)
    grid = stage.grid
    shifts = torch.as_tensor(offset, dtype=torch.float32)
    drawn = _drawn_facing(stage, params)
    cx, half = stage.center[0], 0.5 * stage.content_w + 2.0
    if drawn is not None and (stage.x0 < 3.0 or stage.x1 > period - 3.0):
        drawn = None  # a layer across the whole box has no room to turn in place
    mirrored = drawn is not None and drawn != direction
    scale = turn_scale(np.full(len(u), -1.0), u, params["cycles"]) if mirrored else np.ones(len(u))
    scales = torch.as_tensor(scale, dtype=torch.float32)

    def source(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        x, y = grid.coords(rows, cols)
        shift = shifts[torch.as_tensor(index)].view(-1, 1, 1)
        out = torch.empty((index.size, y.shape[1], x.shape[2], 2))
        if horizontal:
            out[..., 0] = torch.remainder(x - shift, period)
            if mirrored:  # turned about its own middle, wherever the wrap has carried it
                sx = scales[torch.as_tensor(index)].view(-1, 1, 1)
                out[..., 0] = cx + ((out[..., 0] - cx) / sx).clamp(-half, half)
            out[..., 1] = y.expand_as(out[..., 1])
        else:
            out[..., 0] = x.expand_as(out[..., 0])
            out[..., 1] = torch.remainder(y - shift, period)
        return out

    # the motion takes the whole box along the way: a planned box spans the room it has
    corners = stage.outline()
    reach = [corners]
    for end in (0.0, period):
        moved_corners = corners.copy()
        moved_corners[:, 0 if horizontal else 1] = end
        reach.append(moved_corners)
    notes = [
        f"It travels {direction} out of its motion box and comes back in from the other side, "
        f"{times(params['cycles'])} per loop: a slower crossing needs a longer clip."
    ]
    if mirrored:
        notes.append(
            f"It faces {drawn} in the picture, so it is mirrored to travel {direction} head first: it turns at the "
            "start of the loop and back at its end, so frame 0 is the layer as drawn (set 'face' off to keep it as drawn)."
        )
    wrap = (period, None) if horizontal else (None, period)
    still = (offset == 0.0) & (scale == 1.0)
    return FramePlan(len(u), source=source, still=still, notes=notes, reach=np.concatenate(reach), wrap=wrap)


def _side(direction: str) -> str:
    return {"up": "top", "down": "bottom"}.get(direction, direction)


def parallax(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """A gentle horizontal drift that moves far layers (depth 1) less than near ones."""
    near = 1.0 - 0.8 * params["depth"]
    if stage.margin("left") + stage.margin("right") < 1.0:  # a full-bleed layer pans inside its frame
        from engine.motion.presets.camera import pan

        return pan(stage, {**params, "amplitude": params["amplitude"] * near, "easing": params["easing"]}, u)
    distance = 0.35 * params["amplitude"] * near * max(stage.content_w, 1.0) * 0.5
    return _swing_travel(stage, params, u, distance, "parallax")
