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
    reveal_end = 0.8 if params["loop"] else 1.0
    hiding = t < 0.14
    fade_out = 1.0 - smoothstep(segment(t, 0.0, 0.1))
    progress = ease(params["easing"], segment(t, 0.14, reveal_end))
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
    """Fade out and back in, `cycles` times; `depth` 1 makes the layer vanish completely."""
    t = params["cycles"] * delayed(u, params["phase"])
    triangle = 1.0 - np.abs(2.0 * np.mod(t, 1.0) - 1.0)
    opacity = 1.0 - params["depth"] * ease(params["easing"], triangle)
    return FramePlan(len(u), opacity=opacity, still=opacity >= 1.0)
