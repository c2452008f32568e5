"""Easing curves, oscillators and envelopes: the time shapes every preset is built from.

All functions take and return numpy arrays so a preset computes a whole clip's worth of
motion values at once. Time `u` runs over [0, 1) for one clip; an oscillator's `p` counts
cycles (p = 1 is one full period).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

EasingFn = Callable[[np.ndarray], np.ndarray]


def _linear(x: np.ndarray) -> np.ndarray:
    return x


def _sine(x: np.ndarray) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _ease_in(x: np.ndarray) -> np.ndarray:
    return x**3


def _ease_out(x: np.ndarray) -> np.ndarray:
    return 1.0 - (1.0 - x) ** 3


def _ease_in_out(x: np.ndarray) -> np.ndarray:
    return np.where(x < 0.5, 4.0 * x**3, 1.0 - (-2.0 * x + 2.0) ** 3 / 2.0)


#: Progress curves mapping [0, 1] onto [0, 1] with f(0) = 0 and f(1) = 1.
EASINGS: dict[str, EasingFn] = {
    "linear": _linear,
    "sine": _sine,
    "ease_in": _ease_in,
    "ease_out": _ease_out,
    "ease_in_out": _ease_in_out,
}


def ease(name: str, x: np.ndarray | float) -> np.ndarray:
    """Eased progress for raw progress `x`, clipped to [0, 1] first so callers can overshoot."""
    return EASINGS[name](np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0))


def _midpoint(name: str) -> float:
    """Where along a swing the eased position crosses the middle (0.5 for symmetric curves).

    The oscillator starts there so that every oscillation begins at the rest pose.
    """
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if float(ease(name, mid)) < 0.5:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def oscillate(p: np.ndarray, easing: str = "sine") -> np.ndarray:
    """A periodic wave in [-1, 1] with period 1 that is 0 at p = 0 and rising.

    The wave swings from -1 to +1 and back; `easing` shapes each swing, so "sine" gives a
    pure sine, "linear" a triangle wave (constant speed) and "ease_in" a swing that starts
    slowly at each extreme and arrives fast.
    """
    p = np.asarray(p, dtype=np.float64)
    shifted = np.mod(p + 0.5 * _midpoint(easing), 1.0)
    rising = shifted < 0.5
    swing = np.where(rising, 2.0 * shifted, 2.0 * shifted - 1.0)
    eased = ease(easing, swing)
    return np.where(rising, -1.0 + 2.0 * eased, 1.0 - 2.0 * eased)


def smoothstep(x: np.ndarray | float) -> np.ndarray:
    """0 below 0, 1 above 1, a smooth S in between (zero slope at both ends)."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def segment(u: np.ndarray, start: float, end: float) -> np.ndarray:
    """Raw progress through the time window [start, end]: 0 before, 1 after."""
    return np.clip((np.asarray(u, dtype=np.float64) - start) / max(end - start, 1e-9), 0.0, 1.0)


def loop_envelope(u: np.ndarray, ramp: float = 0.18) -> np.ndarray:
    """1 through the middle of the clip, easing to 0 at both ends.

    Motions that are not at rest at time 0 (a travelling wave, a phase-shifted swing) are
    multiplied by this so frame 0 is still the static layer and the loop closes smoothly.
    """
    u = np.asarray(u, dtype=np.float64)
    return smoothstep(u / ramp) * smoothstep((1.0 - u) / ramp)


def delayed(u: np.ndarray, delay: float) -> np.ndarray:
    """Clip time for a motion that waits `delay` (fraction of the clip) and ends on time.

    Used by one-shot motions (spin, bounce, reveals) so a group stagger keeps every layer at
    rest on frame 0 and back in place on the last frame.
    """
    delay = min(max(delay, 0.0), 0.9)
    return np.clip((np.asarray(u, dtype=np.float64) - delay) / (1.0 - delay), 0.0, 1.0)


def periodic_clock(u: np.ndarray, params: dict, travelling: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Cycle count `p` and motion gain for a periodic preset (uses cycles, phase, stagger).

    A swing that starts at its rest pose needs no help to keep frame 0 identical to the
    static layer; a phase-shifted swing or a travelling wave is not at rest at time 0, so
    its gain follows loop_envelope and the motion grows in and dies out over the loop. A
    staggered group uses the envelope on every layer, the unshifted first one included,
    so all its layers share one rhythm of growing in and dying out.
    """
    u = np.asarray(u, dtype=np.float64)
    p = params["cycles"] * u + params["phase"]
    if travelling or params["phase"] % 1.0 != 0.0 or params.get("stagger", 0.0) > 0.0:
        return p, loop_envelope(u)
    return p, np.ones_like(u)
