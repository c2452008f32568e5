"""Presets that move the whole layer rigidly: translate, rotate and scale about a pivot.

Each builder turns validated parameters and clip times `u` into per-frame forward affine
matrices (static layer -> frame), scales the motion down until the content stays in the
motion box, and hands the inverse maps to the sampler. Frame 0 is always the rest pose.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from engine.motion.presets.easing import delayed, ease, oscillate, periodic_clock, segment, smoothstep
from engine.motion.presets.resample import FramePlan
from engine.motion.presets.stage import Stage, room_note
from engine.motion.timing import times

Params = dict[str, Any]

#: Unit vectors of the four directions in box pixels (y grows downwards).
DIRECTIONS: dict[str, tuple[float, float]] = {
    "up": (0.0, -1.0),
    "down": (0.0, 1.0),
    "left": (-1.0, 0.0),
    "right": (1.0, 0.0),
}
OPPOSITE = {"up": "down", "down": "up", "left": "right", "right": "left"}


def affine_forward(
    pivot: tuple[float, float],
    angle: np.ndarray | float = 0.0,
    sx: np.ndarray | float = 1.0,
    sy: np.ndarray | float = 1.0,
    tx: np.ndarray | float = 0.0,
    ty: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Per-frame 3×3 maps: scale, then rotate about `pivot`, then translate.

    Angles are radians, positive turning clockwise on screen (y points down).
    """
    angle, sx, sy, tx, ty = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (angle, sx, sy, tx, ty)))
    angle, sx, sy, tx, ty = (np.atleast_1d(v) for v in (angle, sx, sy, tx, ty))
    c, s = np.cos(angle), np.sin(angle)
    px, py = pivot
    m = np.zeros(angle.shape + (3, 3))
    m[:, 0, 0], m[:, 0, 1] = c * sx, -s * sy
    m[:, 1, 0], m[:, 1, 1] = s * sx, c * sy
    m[:, 0, 2] = px + tx - (m[:, 0, 0] * px + m[:, 0, 1] * py)
    m[:, 1, 2] = py + ty - (m[:, 1, 0] * px + m[:, 1, 1] * py)
    m[:, 2, 2] = 1.0
    return m


def moved(forward: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Where `points` (K, 2) go under each frame's map (N, 3, 3): (N, K, 2)."""
    return np.einsum("nij,kj->nki", forward[:, :2, :2], points) + forward[:, None, :2, 2]


def affine_motion(
    stage: Stage, forward: np.ndarray, opacity: np.ndarray | None = None, notes: list[str] | None = None,
    reach: np.ndarray | None = None,
) -> FramePlan:
    """The sampler's FramePlan for forward maps; frames at the rest pose are marked still.

    Its reach is where the content corners go under the maps, unless the caller claims
    more room (a flight that travels a share of whatever room the box gives).
    """
    inverse = np.linalg.inv(forward)[:, :2, :]
    still = np.all(np.abs(forward - np.eye(3)) < 1e-9, axis=(1, 2))
    if opacity is not None:
        still &= opacity >= 1.0
    return FramePlan(
        frame_count=forward.shape[0],
        source=stage.grid.affine_source(inverse),
        opacity=opacity,
        still=still,
        notes=list(notes or []),
        reach=moved(forward, stage.outline()) if reach is None else reach,
        forward=forward,
    )


def fitted_affine(
    stage: Stage, preset: str, forward_for_gain: Callable[[float], np.ndarray], opacity: np.ndarray | None = None
) -> FramePlan:
    """Shrink a motion until the content corners stay inside the box, then build it."""
    corners = stage.outline()
    gain = stage.largest_fitting_gain(lambda g: moved(forward_for_gain(g), corners))
    return affine_motion(stage, forward_for_gain(gain), opacity, room_note(preset, gain))


def bob(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """The paper's text effect (i): the layer rises and sinks, a calm vertical oscillation."""
    p, envelope = periodic_clock(u, params)
    wave = oscillate(p, params["easing"]) * envelope
    lift = params["amplitude"] * 0.3 * stage.content_h
    return fitted_affine(stage, "bob", lambda g: affine_forward(stage.center, ty=-g * lift * wave))


def float_(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Drifting like something light in water: up and down, a lazy figure-eight sideways
    drift, and a tilt that leans into the drift."""
    p, envelope = periodic_clock(u, params)
    rise = params["amplitude"] * 0.2 * stage.content_h
    tilt = np.radians(8.0) * params["amplitude"]
    vertical = oscillate(p, params["easing"]) * envelope
    sideways = np.sin(4.0 * np.pi * p) * envelope
    drift = 0.3 * rise

    def forward(g: float) -> np.ndarray:
        return affine_forward(stage.center, angle=g * tilt * sideways, tx=g * drift * sideways, ty=-g * rise * vertical)

    return fitted_affine(stage, "float", forward)


def breathe(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """A slow swell and release of size, like breathing or a heartbeat."""
    p, envelope = periodic_clock(u, params)
    swell = params["amplitude"] * 0.12 * oscillate(p, params["easing"]) * envelope
    pivot = stage.pivot(params["pivot"])
    return fitted_affine(stage, "breathe", lambda g: affine_forward(pivot, sx=1 + g * swell, sy=1 + g * swell))


def _bounce_curves(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For bounce-cycle time q in [0, 1): height (0..1), stretch (0..1), squash (-1..~0.4).

    The cycle: crouch (anticipation squash), take off stretched, rise and slow down round
    shape at the apex, fall and stretch again, land with a squash, wobble back to rest.
    """
    height = np.zeros_like(q)
    stretch = np.zeros_like(q)
    squash = np.zeros_like(q)
    crouch = q < 0.12
    squash[crouch] = -np.sin(0.5 * np.pi * q[crouch] / 0.12) ** 2
    launch = (q >= 0.12) & (q < 0.18)
    blend = smoothstep((q[launch] - 0.12) / 0.06)
    squash[launch], stretch[launch] = -(1.0 - blend), blend
    air = (q >= 0.18) & (q < 0.72)
    a = (q[air] - 0.18) / 0.54
    height[air] = 4.0 * a * (1.0 - a)
    stretch[air] = (1.0 - 2.0 * a) ** 2
    land = (q >= 0.72) & (q < 0.80)
    blend = smoothstep((q[land] - 0.72) / 0.08)
    stretch[land], squash[land] = 1.0 - blend, -blend
    settle = q >= 0.80
    r = (q[settle] - 0.80) / 0.20
    squash[settle] = -((1.0 - r) ** 2) * np.cos(3.0 * np.pi * r)
    return height, stretch, squash


def bounce(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Jumps off the ground with squash on take-off and landing and stretch in flight.

    Squash and stretch keep the area (width = 1 / height scale) and pivot on the content's
    bottom edge, so the layer stays planted on its ground line when it squashes.
    """
    q = np.mod(params["cycles"] * delayed(u, params["phase"]), 1.0)
    height, stretch, squash = _bounce_curves(q)
    jump = params["amplitude"] * 0.8 * stage.content_h
    squash_amount = params["squash"] * 0.4
    stretch_amount = params["squash"] * 0.25
    foot = stage.pivot("bottom")

    def forward(squash_gain: float, jump_gain: float) -> np.ndarray:
        sy = 1.0 + jump_gain * stretch_amount * stretch + squash_gain * squash_amount * squash
        return affine_forward(foot, sx=1.0 / sy, sy=sy, ty=-jump_gain * jump * height)

    corners = stage.outline()
    squash_gain = stage.largest_fitting_gain(lambda g: moved(forward(g, 0.0), corners))
    jump_gain = stage.largest_fitting_gain(lambda g: moved(forward(squash_gain, g), corners))
    return affine_motion(stage, forward(squash_gain, jump_gain), notes=room_note("bounce", jump_gain))


def _loop_harmonics(rng: np.random.Generator, low: int, high: int, u: np.ndarray, count: int = 5) -> np.ndarray:
    """Irregular jitter in [-1, 1] built from whole-number frequencies, so it is periodic
    over the clip and zero at u = 0 (the loop closes and frame 0 stays at rest)."""
    frequencies = rng.choice(np.arange(low, high), size=count, replace=False)
    weights = rng.uniform(0.5, 1.0, count) * rng.choice([-1.0, 1.0], count)
    fine = np.linspace(0.0, 1.0, 1024, endpoint=False)
    peak = np.abs(np.sin(2 * np.pi * np.outer(fine, frequencies)) @ weights).max()
    return (np.sin(2 * np.pi * np.outer(u, frequencies)) @ weights) / peak


def shake(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Bursts of trembling; the jitter is seeded, so a seed always gives the same shake."""
    p, envelope = periodic_clock(u, params)
    burst = np.sin(np.pi * p) ** 2 * envelope
    rng = np.random.default_rng(stage.seed)
    cycles = params["cycles"]
    jitter_x = _loop_harmonics(rng, 9 * cycles, 17 * cycles, u)
    jitter_y = _loop_harmonics(rng, 9 * cycles, 17 * cycles, u)
    jitter_r = _loop_harmonics(rng, 7 * cycles, 13 * cycles, u)
    reach = params["amplitude"] * 0.15 * min(stage.content_w, stage.content_h)
    horizontal = params["axis"] in ("horizontal", "both")
    vertical = params["axis"] in ("vertical", "both")
    notes = []
    spans_width = stage.margin("left") < 1.0 and stage.margin("right") < 1.0
    if horizontal and spans_width:  # sand, a table, a band of hills: no room sideways, so it rumbles up and down
        horizontal, vertical = False, True
        notes.append("It spans its box from side to side, so it shakes up and down instead.")
    # a layer resting on its box's edge (the poster's: the sand on the bottom) may shake past it, cropped there
    open_side = next((side for side in ("down", "up") if vertical and stage.margin(side) < 1.0), None)
    tx = reach * jitter_x * burst * horizontal
    ty = reach * jitter_y * burst * (1.0 if vertical else 0.15)
    tilt = 0.0 if spans_width else np.radians(2.0) * params["amplitude"]  # a tilt would lift its ends off the sides
    angle = tilt * jitter_r * burst

    def forward(g: float) -> np.ndarray:
        return affine_forward(stage.center, angle=g * angle, tx=g * tx, ty=g * ty)

    corners = stage.outline()
    gain = stage.largest_fitting_gain(lambda g: moved(forward(g), corners), open_side=open_side)
    # Another seed jitters differently (re-rolling a take changes it), so the room a shake
    # takes is every corner of its jitter range, not only the path this seed draws.
    peak = float(np.max(burst, initial=0.0)) * gain
    extremes = [np.array([-1.0, 1.0]) * peak * limit for limit in (
        reach * horizontal, reach * (1.0 if vertical else 0.15), tilt)]
    ex, ey, ea = (v.ravel() for v in np.meshgrid(*extremes))
    reach_points = moved(affine_forward(stage.center, angle=ea, tx=ex, ty=ey), corners)
    return affine_motion(stage, forward(gain), notes=notes + room_note("shake", gain), reach=reach_points)



def spin(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Turns about the pivot: whole turns, or (angle under 360) a partial turn that swings
    back, which is how a slow turn loops seamlessly in a short clip. A box too small for
    the turning layer makes it shrink just enough at each angle, instead of cutting its
    corners off."""
    sign = 1.0 if params["direction"] == "right" else -1.0
    t = delayed(u, params["phase"])
    if params["angle"] >= 360.0:
        angle = sign * 2.0 * np.pi * params["cycles"] * ease(params["easing"], t)
        notes = []
    else:
        triangle = 1.0 - np.abs(2.0 * np.mod(params["cycles"] * t, 1.0) - 1.0)
        angle = sign * np.radians(params["angle"]) * ease(params["easing"], triangle)
        notes = [
            f"A partial turn: {params['angle']:g}° and back, {times(params['cycles'])} per loop, so a slow "
            "spin still loops seamlessly (a whole slow turn needs a longer clip)."
        ]
    pivot = stage.pivot(params["pivot"])
    corners = stage.outline() - np.asarray(pivot)
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    vx = c * corners[:, 0] - s * corners[:, 1]
    vy = s * corners[:, 0] + c * corners[:, 1]
    scale = np.minimum(1.0, np.minimum(_fit_ratio(vx, pivot[0], stage.width), _fit_ratio(vy, pivot[1], stage.height)))
    if scale.min() < 0.7:
        notes.append(
            "The motion box is too small for the layer to turn at full size, so it shrinks "
            "while it spins: draw a larger motion box for a full-size spin."
        )
    forward = affine_forward(pivot, angle=angle, sx=scale, sy=scale)
    return affine_motion(stage, forward, notes=notes)


def _fit_ratio(offsets: np.ndarray, origin: float, size: float) -> np.ndarray:
    """Per frame, the largest scale keeping origin + scale * offset inside [0, size]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(offsets > 0, (size - origin) / offsets, np.where(offsets < 0, -origin / offsets, np.inf))
    return limit.min(axis=1)


def zoom(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Grow toward the viewer (or shrink away) about the pivot; in a loop it comes back."""
    t = delayed(u, params["phase"])
    easing = params["easing"]
    if params["loop"]:
        progress = ease(easing, segment(t, 0.0, 0.42)) - ease(easing, segment(t, 0.58, 1.0))
    else:
        progress = ease(easing, t)
    change = params["amplitude"] * (1.0 if params["mode"] == "in" else -0.8) * progress
    pivot = stage.pivot(params["pivot"])
    return fitted_affine(stage, "zoom", lambda g: affine_forward(pivot, sx=1 + g * change, sy=1 + g * change))


def slide_in(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Enter from the box edge behind the travel direction and settle in place.

    Frame 0 must be the static layer, so the clip first fades the layer out where it
    stands, then slides it in from the edge while it fades back in, then holds.
    """
    t = delayed(u, params["phase"])
    direction = params["direction"]
    entry_side = OPPOSITE[direction]
    along = stage.content_w if direction in ("left", "right") else stage.content_h
    distance = min(stage.margin(entry_side), 2.0 * params["amplitude"] * along)
    from_beyond = stage.margin(entry_side) < 1.0  # resting on its box's edge (a footer on the poster's bottom)
    if from_beyond:  # it enters from beyond that edge, cropped there, as a video editor crops at the frame
        distance = min(along, 2.0 * params["amplitude"] * along)
    enter_at, settle_at = (0.15, 0.7) if params["loop"] else (0.14, 1.0)
    leaving = t < enter_at
    travel = ease(params["easing"], segment(t, enter_at, settle_at))
    offset = np.where(leaving, 0.0, -(1.0 - travel) * distance)
    opacity = np.where(leaving, 1.0 - smoothstep(segment(t, 0.0, 0.12)), smoothstep(segment(t, enter_at, enter_at + 0.25)))
    side = _side_word(entry_side)
    no_room = f"There is no room in the motion box to slide in from the {side}, so the layer only fades in: extend the box on the {side}."
    plan = _travel(stage, direction, distance, offset, 1.0, opacity, no_room)
    if from_beyond:
        plan.reach = np.clip(plan.reach, 0.0, [stage.width, stage.height])  # the room it takes ends at the edge
        plan.notes.append(f"It rests on the {side} edge of its box, so it slides in from beyond it, cropped there.")
    return plan


def fly_away(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Accelerate toward the box edge, shrinking a little and fading out before the edge.

    In a loop the layer then reappears in place with a small pop, so the clip closes.
    """
    t = delayed(u, params["phase"])
    direction = params["direction"]
    distance = stage.margin(direction) * min(1.0, 2.0 * params["amplitude"])
    loop = params["loop"]
    flight = ease(params["easing"], segment(t, 0.06, 0.6 if loop else 1.0))
    flown = t < (0.64 if loop else 2.0)
    comeback = ease("ease_out", segment(t, 0.68, 0.92))
    scale = np.where(flown, 1.0 - 0.12 * flight, 0.9 + 0.1 * comeback)
    opacity = np.where(flown, 1.0 - smoothstep(segment(flight, 0.45, 1.0)), smoothstep(segment(t, 0.68, 0.85)))
    offset = np.where(flown, flight * distance, 0.0)
    no_room = (
        f"There is no room in the motion box to fly {direction}, so the layer only fades away: "
        f"extend the box toward the {_side_word(direction)}."
    )
    return _travel(stage, direction, distance, offset, scale, opacity, no_room, claim=stage.margin(direction))


def _travel(
    stage: Stage, direction: str, distance: float, offset: np.ndarray, scale: np.ndarray | float,
    opacity: np.ndarray, no_room: str, claim: float = 0.0,
) -> FramePlan:
    """A fading move of `offset` pixels along `direction`, scaled about the content centre;
    `no_room` is said when the box leaves under a pixel to travel. `claim` is room (pixels
    along `direction`) the motion takes beyond where the layer goes: a flight sized as a
    share of the box's room needs all that room, or a box planned from it flies shorter."""
    dx, dy = DIRECTIONS[direction]
    forward = affine_forward(stage.center, sx=scale, sy=scale, tx=dx * offset, ty=dy * offset)
    corners = stage.outline()
    reach = np.concatenate((moved(forward, corners), (corners + claim * np.array([dx, dy]))[None]))
    return affine_motion(stage, forward, opacity=opacity, notes=[no_room] if distance < 1.0 else [], reach=reach)


def _side_word(side: str) -> str:
    return {"up": "top", "down": "bottom"}.get(side, side)


def flutter(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Wings flapping: a fast squash of the width about the pivot (the body), many times a
    loop, with a slight lift on each downstroke. Height barely changes: the flap is
    anisotropic, which is what reads as wings rather than a pulse."""
    # a flap needs about four frames to read as one; fewer would strobe (aliasing)
    flaps = min(params["cycles"], max(1, len(u) // 4))
    p, envelope = periodic_clock(u, {**params, "cycles": flaps})
    flap = (0.5 - 0.5 * np.cos(2.0 * np.pi * p)) * envelope  # 0 open (rest) .. 1 closed
    squeeze = 0.75 * params["amplitude"] * flap
    lift = 0.04 * params["amplitude"] * stage.content_h * np.sin(2.0 * np.pi * p) * envelope
    pivot = stage.pivot(params["pivot"])
    vertical = params["pivot"] in ("top", "bottom")

    def forward(g: float) -> np.ndarray:
        if vertical:  # wings above/below the body fold vertically
            return affine_forward(pivot, sy=1.0 - g * squeeze, sx=1.0 + 0.04 * g * flap)
        return affine_forward(pivot, sx=1.0 - g * squeeze, sy=1.0 + 0.04 * g * flap, ty=-g * lift)

    return fitted_affine(stage, "flutter", forward)


def _back_out(x: np.ndarray, overshoot: float) -> np.ndarray:
    """0 -> 1 with a small overshoot past 1 before settling (a pop)."""
    x = np.clip(x, 0.0, 1.0)
    c = overshoot
    return 1.0 + (c + 1.0) * (x - 1.0) ** 3 + c * (x - 1.0) ** 2


def pop_in(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """An entrance: the layer pops up from small with a little overshoot and then stays.

    Frame 0 is the static layer (the engine's rule), so the clip first blinks it away in a
    few frames, pops it in, and holds it still for the rest of the clip: a loop shows one
    entrance per cycle and ends on the static layer, never a looping zoom.
    """
    t = delayed(u, params["phase"])
    hide_until, pop_end = 0.08, 0.4
    hiding = t < hide_until
    pop = segment(t, hide_until, pop_end)
    size = np.where(hiding, 1.0, 0.3 + 0.7 * _back_out(pop, 1.2 * params["amplitude"] + 0.3))
    opacity = np.where(hiding, 1.0 - smoothstep(segment(t, 0.0, 0.05)), smoothstep(segment(t, hide_until, hide_until + 0.08)))
    pivot = stage.pivot(params["pivot"])
    change = size - 1.0

    def forward(g: float) -> np.ndarray:
        grown = 1.0 + np.where(change > 0, g * change, change)  # only the overshoot needs room
        return affine_forward(pivot, sx=grown, sy=grown)

    corners = stage.outline()
    gain = stage.largest_fitting_gain(lambda g: moved(forward(g), corners))
    plan = affine_motion(stage, forward(gain), opacity=opacity)
    backwards = len(u) > 1 and u[-1] < u[0]  # played as an exit: its entrance backwards
    plan.notes = ["An exit: it shrinks away from the static layer and vanishes." if backwards
                  else "An entrance: it pops in and then rests on the static layer."]
    return plan
