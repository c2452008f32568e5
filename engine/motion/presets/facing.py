"""Which way a layer faces, measured from its silhouette, and the turn that mirrors it.

A fish drawn facing left that is asked to swim right would swim backwards. Prompts do not
say which way a drawing faces, so the layer's own alpha does: a body that ends in a tail
(fish, bird, rocket, comet, tadpole) narrows to a waist where the tail joins it. The
measure is the column profile of the alpha (how much of each column is covered):

- ignore the outer tenth at each end (fins and antennae are thin everywhere);
- the waist is the narrowest remaining column; it counts only if the silhouette is in
  one piece along the way (the waist still covers something: a row of letters has empty
  gaps and never counts), it is under half the tallest column, and it lies in the outer
  35 % at one end;
- past the waist, toward that end, the silhouette widens again to at least 1.5 times the
  waist (a tail fin); a shape that only tapers to its end (a cloud, a leaf) does not count;
- the layer faces the other end: the head is away from the tail.

Anything else (a balloon, a cloud, a ball, a title) faces nowhere and is never mirrored.
On the ocean sample the clownfish's waist sits at 19 % of its width (it faces right) and
the small fish's at 80 % (it faces left).
"""

from __future__ import annotations

import numpy as np

from engine.motion.presets.easing import loop_envelope

#: The waist must be narrower than this share of the tallest column ...
WAIST_SHARE = 0.5
#: ... and lie within this share of the width from one end.
WAIST_END = 0.35
#: Past the waist the silhouette must widen again to this many times the waist: a tail.
TAIL_RISE = 1.5
#: A turn-around takes this share of a cycle: the layer narrows to a sliver and widens mirrored.
TURN = 0.08
#: The narrowest a turning layer gets (a mirror map must stay invertible).
SLIVER = 0.02


def facing(alpha: np.ndarray) -> str | None:
    """"left", "right" or None: which way the silhouette in `alpha` (H, W) faces."""
    cover = alpha.astype(np.float64).sum(axis=0)
    columns = np.flatnonzero(cover > 0)
    if columns.size < 10:
        return None
    x0, x1 = int(columns[0]), int(columns[-1]) + 1
    width = x1 - x0
    trim = max(1, width // 10)
    inner = cover[x0 + trim : x1 - trim]
    waist = int(np.argmin(inner))
    if inner[waist] <= 0 or inner[waist] >= WAIST_SHARE * cover.max():
        return None
    at = x0 + trim + waist
    where = (at - x0 + 0.5) / width
    if where <= WAIST_END:
        tail, faces = cover[x0:at], "right"
    elif where >= 1.0 - WAIST_END:
        tail, faces = cover[at + 1 : x1], "left"
    else:
        return None
    # a tail fans out again past the waist; a cloud or a leaf only tapers to its end
    return faces if tail.size and tail.max() >= TAIL_RISE * cover[at] else None


def mirror_gain(u: np.ndarray, cycles: int) -> np.ndarray:
    """0 at both ends of the loop, 1 in between: a mirrored layer turns back to its drawn
    side by the end of the loop, so frame 0 is the layer as drawn and the loop closes."""
    return loop_envelope(u, ramp=TURN / max(cycles, 1))


def turn_scale(heads: np.ndarray, u: np.ndarray, cycles: int) -> np.ndarray:
    """Per-frame horizontal scale for a layer whose wanted facing is `heads` (+1 as drawn,
    -1 mirrored) per frame: each change of heading is a turn through a sliver, and the
    ends of the loop turn back to the drawing."""
    scale = 1.0 + (np.asarray(heads, dtype=np.float64) - 1.0) * mirror_gain(u, cycles)
    return np.where(np.abs(scale) < SLIVER, np.where(scale < 0, -SLIVER, SLIVER), scale)


def swing_heads(p: np.ndarray, forward: bool) -> np.ndarray:
    """The heading (+1 as drawn, -1 mirrored) through a swing out and back, with cycle
    count `p`: the outbound half goes the way of travel, the return half back; `forward`
    says whether the drawing already faces the way of travel. The turn happens in the last
    TURN of each half, as the swing slows to its turning point."""
    half = np.mod(p, 1.0) * 2.0  # 0..1 outbound, 1..2 back
    out = 1.0 if forward else -1.0
    leg = np.where(half < 1.0, out, -out)
    into_leg = np.mod(half, 1.0)
    turning = np.clip((into_leg - (1.0 - 2 * TURN)) / (2 * TURN), 0.0, 1.0)  # 0 -> 1 over the leg's end
    return leg * np.cos(np.pi * turning)
