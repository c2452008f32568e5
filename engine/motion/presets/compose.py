"""Two rigid motions played at the same time over the same span ("rises slowly and sways",
"bobs and spins", "spins in").

A rigid preset's frame is one affine map of the static layer (FramePlan.forward), so two
of them compose exactly: per frame the companion's map first (about its own pivot), then
the motion's. Each was fitted into the motion box alone; together they may reach
further, so the pair is fitted once more as one motion: both shrink by the same gain,
with the usual room note, rather than one of them being cut or clipped.

Shrinking a composed motion needs "the same motion, weaker" for any gain. Each map is
read as where the content centre goes, a turn, and what remains (scale, squash) about
that centre; a gain scales the move and the turn (unwrapped over the frames, so whole
turns shrink to part turns, never jump) and moves the rest toward identity. At gain 1 the
maps are used as they are, so a motion played with a companion that does not move is the
motion alone, bit for bit.
"""

from __future__ import annotations

import numpy as np

from engine.motion.presets.resample import FramePlan
from engine.motion.presets.stage import Stage, room_note
from engine.motion.presets.transforms import affine_motion, moved


def play_together(stage: Stage, first: FramePlan, second: FramePlan, names: tuple[str, str]) -> FramePlan:
    """`first` and `second` (plans of the same frames) as one motion: maps multiplied frame
    by frame (`second` applied first), opacities multiplied, fitted into the box once.

    A plan whose frames are not one affine map each (a wrap-around travel, a camera pan
    inside a full-bleed frame) cannot be composed: then `first` plays alone and its notes
    say that `second` was left out, never a silent substitute.
    """
    if first.forward is None or second.forward is None:
        culprit = names[0] if first.forward is None else names[1]
        first.notes = [*first.notes, (
            f"'{culprit}' does not move the layer as one rigid piece here (it wraps around its box, or moves "
            f"inside the layer's own frame), so '{names[1]}' cannot play at the same time as '{names[0]}' and "
            "was left out.")]
        return first
    if first.frame_count != second.frame_count:
        raise ValueError("Motions played together must have the same frames.")
    corners = stage.outline()
    centre = stage.center

    def composed(gain: float) -> np.ndarray:
        return weakened(first.forward, gain, centre) @ weakened(second.forward, gain, centre)

    gain = stage.largest_fitting_gain(lambda g: moved(composed(g), corners))
    forward = first.forward @ second.forward if gain >= 1.0 else composed(gain)
    opacity = _product(first.opacity, second.opacity)
    notes = list(dict.fromkeys([*first.notes, *second.notes, *room_note(f"{names[0]} with {names[1]}", gain)]))
    reach = moved(forward, corners)
    if gain >= 1.0:  # the room each claims beyond where it goes (a flight toward its box's edge) stays claimed
        reach = np.concatenate([reach.reshape(-1, 2), *(np.asarray(plan.reach).reshape(-1, 2)
                                                          for plan in (first, second) if plan.reach is not None)])
    plan = affine_motion(stage, forward, opacity=opacity, notes=notes, reach=reach)
    plan.rests_at_start = first.rests_at_start and second.rests_at_start
    return plan


def weakened(forward: np.ndarray, gain: float, centre: tuple[float, float]) -> np.ndarray:
    """The per-frame maps `forward` (N, 3, 3) played at `gain` (0 still .. 1 as given).

    About the content centre c each map is: move c by t, turn by θ, then the rest K
    (scale, squash). At a gain g: move by g·t, turn by g·θ (θ unwrapped frame to frame),
    and I + g·(K − I). Pure moves and scalings weaken exactly as their presets would.
    """
    if gain >= 1.0:
        return forward
    c = np.asarray(centre, dtype=np.float64)
    linear = forward[:, :2, :2]
    shift = forward[:, :2, 2] + linear @ c - c
    angle = np.unwrap(np.arctan2(linear[:, 1, 0], linear[:, 0, 0]))
    rest = _rotation(-angle) @ linear
    weak = _rotation(gain * angle) @ (np.eye(2) + gain * (rest - np.eye(2)))
    out = np.zeros_like(forward)
    out[:, :2, :2] = weak
    out[:, :2, 2] = c + gain * shift - weak @ c
    out[:, 2, 2] = 1.0
    return out


def _rotation(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack((np.stack((c, -s), -1), np.stack((s, c), -1)), -2)


def _product(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None or b is None:
        return b if a is None else a
    return a * b
