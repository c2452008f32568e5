"""Presets that change what is visible rather than where: typewriter reveal and fades.

Frame 0 must show the whole layer, so a reveal clip first hides the layer (a quick fade),
then reveals it, then holds it complete; the held end equals frame 0 and the loop closes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from engine.motion.presets.easing import delayed, ease, segment, smoothstep
from engine.motion.presets.resample import FramePlan
from engine.motion.presets.stage import Stage

Params = dict[str, Any]

_INK = 8  # alpha above which a pixel counts as part of a glyph when looking for letters


def _runs(filled: np.ndarray, min_gap: int = 1) -> list[tuple[int, int]]:
    """Start/stop index pairs of the True runs, joining runs separated by < min_gap."""
    runs: list[tuple[int, int]] = []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], filled.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2]):
        if runs and start - runs[-1][1] < min_gap:
            runs[-1] = (runs[-1][0], int(stop))
        else:
            runs.append((int(start), int(stop)))
    return runs


def reveal_order(stage: Stage, direction: str) -> tuple[np.ndarray, int]:
    """For every pixel, when it appears during the reveal (0..1), and how many steps.

    Text is split into lines (runs of inked rows) and, within each line, into glyph
    clusters (runs of inked columns); the clusters appear one after another like typed
    letters. Artwork without letter gaps gets one step per line, revealed as a soft wipe.
    """
    ink = stage.alpha > _INK
    lines = _runs(ink.any(axis=1), min_gap=2)
    if direction in ("up", "left"):
        lines = lines[::-1]
    order = np.ones(stage.alpha.shape, dtype=np.float32)
    glyphs: list[tuple[int, int, int, int]] = []  # (row0, row1, col0, col1), typing order
    for row0, row1 in lines:
        clusters = _runs(ink[row0:row1].any(axis=0), min_gap=2)
        if direction == "left":
            clusters = clusters[::-1]
        glyphs.extend((row0, row1, c0, c1) for c0, c1 in clusters)
    stepped = direction in ("left", "right") and len(glyphs) >= 3
    if stepped:
        for step, (row0, row1, c0, c1) in enumerate(glyphs):
            order[row0:row1, c0:c1] = step / len(glyphs)
        return order, len(glyphs)
    for step, (row0, row1) in enumerate(lines):
        band = order[row0:row1]
        if direction in ("left", "right"):
            cols = np.flatnonzero(ink[row0:row1].any(axis=0))
            x = (np.arange(stage.width) - cols[0]) / max(cols[-1] + 1 - cols[0], 1)
            within = np.clip(x if direction == "right" else 1.0 - x, 0.0, 1.0)[None, :]
        else:
            y = (np.arange(row0, row1) - row0 + 0.5) / max(row1 - row0, 1)
            within = (y if direction == "down" else 1.0 - y)[:, None]
        band[:] = (step + within) / len(lines)
    return order, 0


def typewriter(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Letters appear one by one in reading order (or a soft wipe for artwork)."""
    t = np.mod(params["cycles"] * delayed(u, params["phase"]), 1.0)
    if not params["loop"]:
        t = np.where(delayed(u, params["phase"]) >= 1.0, 1.0, t)
    # An entrance in a loop: blink away in a few frames, reveal within the first half, then
    # hold the whole layer, so the title is never missing for a large part of the loop.
    reveal_end = 0.5 if params["loop"] else 0.8
    hiding = t < 0.07
    fade_out = 1.0 - smoothstep(segment(t, 0.0, 0.05))
    progress = ease(params["easing"], segment(t, 0.07, reveal_end))
    order, steps = reveal_order(stage, params["direction"])
    softness = 0.5 / steps if steps else 0.08
    # progress 0 must show nothing and 1 everything, so stretch it past the soft edge
    front = np.where(hiding, 2.0, progress * (1.0 + softness))
    opacity = np.where(hiding, fade_out, 1.0)
    still = hiding & (fade_out >= 1.0)
    order_t = torch.from_numpy(order)

    def mask(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
        f = torch.as_tensor(front[index], dtype=torch.float32).view(-1, 1, 1)
        return ((f - order_t[rows, cols]) / softness).clamp(0.0, 1.0)

    return FramePlan(len(u), mask=mask, opacity=opacity, still=still)


def fade(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Fade out and back in, `cycles` times; `depth` 1 makes the layer vanish completely.

    `shape` "in" is an entrance (blink away, fade in, stay); "out" an exit (stay, fade out
    at the end; in a loop it is back by the next frame 0).
    """
    t = params["cycles"] * delayed(u, params["phase"])
    cycle = np.mod(t, 1.0)
    if not params["loop"]:
        cycle = np.where(delayed(u, params["phase"]) >= 1.0, 1.0, cycle)
    if params["shape"] == "in":
        hidden = 1.0 - smoothstep(segment(cycle, 0.0, 0.05))
        amount = np.where(cycle < 0.06, 1.0 - hidden, 1.0 - ease(params["easing"], segment(cycle, 0.06, 0.45)))
    elif params["shape"] == "out":
        ends = 1.0 if not params["loop"] else 0.9
        amount = ease(params["easing"], segment(cycle, 0.55, ends))
        if params["loop"]:
            amount = np.where(cycle > 0.9, 1.0 - smoothstep(segment(cycle, 0.9, 1.0)), amount)
    else:
        triangle = 1.0 - np.abs(2.0 * cycle - 1.0)
        amount = ease(params["easing"], triangle)
    opacity = 1.0 - params["depth"] * amount
    return FramePlan(len(u), opacity=opacity, still=opacity >= 1.0)


def _loop_jitter(rng: np.random.Generator, u: np.ndarray, low: int, high: int, count: int = 6) -> np.ndarray:
    """Irregular flicker in [0, 1], periodic over the clip and 0 at u = 0."""
    frequencies = rng.choice(np.arange(low, high), size=count, replace=False)
    weights = rng.uniform(0.4, 1.0, count)
    fine = np.linspace(0.0, 1.0, 1024, endpoint=False)
    wave = lambda x: (1.0 - np.cos(2 * np.pi * np.outer(x, frequencies))) @ weights
    return wave(u) / wave(fine).max()


def flicker(stage: Stage, params: Params, u: np.ndarray) -> FramePlan:
    """Light that flickers (irregular dips), twinkles (sharp bright flashes) or pulses
    (a smooth glow); it dims by at most `amplitude` and never vanishes."""
    t = delayed(u, 0.0)
    style, amount = params["style"], 0.8 * params["amplitude"]
    shade = None
    if style == "flicker":
        dip = _loop_jitter(np.random.default_rng(stage.seed), t, 5 * params["cycles"], 13 * params["cycles"]) ** 2
        opacity = 1.0 - amount * dip
    else:
        wave = 0.5 - 0.5 * np.cos(2.0 * np.pi * params["cycles"] * t)  # 0 at rest, 1 at the peak
        if style == "twinkle":
            flash = wave**4
            opacity = 1.0 - amount * (wave - flash)  # dim between flashes
            bright = 1.0 + 0.6 * params["amplitude"] * flash
        else:
            opacity = 1.0 - amount * wave
            bright = 1.0 + 0.25 * params["amplitude"] * (1.0 - wave) * wave * 4.0
        shade_values = torch.as_tensor(bright, dtype=torch.float32)

        def shade(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
            return shade_values[torch.as_tensor(index)].view(-1, 1, 1).expand(index.size, 1, 1)

    still = opacity >= 1.0
    if shade is not None:
        still &= np.abs(bright - 1.0) < 1e-9
    return FramePlan(len(u), opacity=opacity, shade=shade, still=still)
