"""Stage II: make the clips (paper §3, Figure 2, middle).

Object layers go through the `i2v` engine: the layer inside a generous motion box over
50 % gray, the stage-I prompt, matted back to RGBA (the engine does all of that, the same
code the editor runs). Text layers get their closed-set text effect from the presets
engine. A group goes through I2V once as one merged layer under its group prompt, and is
split back into one clip per member by propagating each member's static mask through the
frames (`split_by_propagation`): the paper's K-means on the alpha cannot tell two members
of the same colour apart, while the static masks say exactly who is who at frame 0 and
nearest-label propagation keeps them apart as they move. The method is recorded per sample.

Every clip is cropped to the union of its alpha over time (and its static box), snapped
out to the model's 16-px token grid: the motion box the dataset records, where the layer
actually went.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy import ndimage

from engine.core.clip import place_static
from engine.core.poster import Box, Layer, LayerKind, Poster, PosterError
from engine.dmdl.grid import TOKEN_PIXELS
from engine.motion.base import Animator, MotionRequest

#: How far around the layer an object may move, as a share of its larger side.
OBJECT_MARGIN = 0.25
GROUP_SPLIT_METHOD = "static-mask propagation (nearest label, frame to frame)"


@dataclass
class MadeClip:
    """One synthesized layer clip in its (tight) motion box."""

    layer_id: int
    prompt: str
    frames: np.ndarray  # (T, box.h, box.w, 4) uint8 straight alpha
    box: Box
    meta: dict[str, Any] = field(default_factory=dict)


def generous_box(layer_box: Box, canvas: Box, margin: float = OBJECT_MARGIN) -> Box:
    pad = round(margin * max(layer_box.w, layer_box.h))
    return layer_box.expand(pad, pad, pad, pad).clamp_to(canvas.w, canvas.h)


def tight(frames: np.ndarray, box: Box, static_box: Box) -> tuple[np.ndarray, Box]:
    """Crop clip frames (drawn in `box`) to where their alpha ever is, keeping the static box
    inside, then grow that to the model's token grid (transparent margin) as DMDL's
    trainers require."""
    ever = (frames[..., 3] > 0).any(axis=0)
    rows, cols = np.flatnonzero(ever.any(axis=1)), np.flatnonzero(ever.any(axis=0))
    inner = Box(box.x + cols[0], box.y + rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1) if rows.size else static_box
    crop = inner.union(static_box).intersection(box)
    snapped = crop.snap_out(TOKEN_PIXELS)
    out = np.zeros((len(frames), snapped.h, snapped.w, 4), np.uint8)
    out[:, crop.y - snapped.y : crop.bottom - snapped.y, crop.x - snapped.x : crop.right - snapped.x] = \
        frames[:, crop.y - box.y : crop.bottom - box.y, crop.x - box.x : crop.right - box.x]
    return out, snapped


def _run(engine: Animator, request: MotionRequest, group_prompt: str | None = None) -> np.ndarray:
    [clip] = engine.animate([request], group_prompt=group_prompt)
    if clip.box != request.box:
        raise PosterError(f"The engine drew '{request.layer.name}' in {clip.box.as_tuple()}, not its box {request.box.as_tuple()}.")
    return np.stack([clip.frame(i) for i in range(request.frames)])


def object_clip(engine: Animator, poster: Poster, layer_id: int, prompt: str, frames: int, seed: int,
                params: dict[str, Any]) -> MadeClip:
    layer = poster.layer(layer_id)
    box = generous_box(layer.box, poster.canvas)
    request = MotionRequest(layer=layer, box=box, prompt=prompt, params=dict(params), frames=frames, seed=seed)
    cropped, tight_box = tight(_run(engine, request), box, layer.box)
    return MadeClip(layer_id, prompt, cropped, tight_box, {"engine": engine.name, "params": dict(params), "seed": seed})


def text_clip(presets: Animator, poster: Poster, layer_id: int, effect: str, frames: int, seed: int) -> MadeClip:
    from engine.planning import boxes_for_preset  # noqa: PLC0415 (the planner is only needed here)

    layer = poster.layer(layer_id)
    box = boxes_for_preset(poster, layer_id, effect)[layer_id]
    prompt = f"{layer.name}: {effect.replace('_', ' ')}"
    request = MotionRequest(layer=layer, box=box, prompt=prompt, params={"preset": effect}, frames=frames, seed=seed)
    cropped, tight_box = tight(_run(presets, request), box, layer.box)
    return MadeClip(layer_id, prompt, cropped, tight_box, {"engine": "presets", "preset": effect, "seed": seed})


def merged_layer(poster: Poster, members: Sequence[int]) -> Layer:
    """The members painted into one layer (straight alpha over, in paint order)."""
    layers = [poster.layer(i) for i in sorted(members, key=lambda i: [l.id for l in poster.layers].index(i))]
    box = layers[0].box
    for layer in layers[1:]:
        box = box.union(layer.box)
    rgb = np.zeros((box.h, box.w, 3), np.float32)
    alpha = np.zeros((box.h, box.w, 1), np.float32)
    for layer in layers:
        placed = place_static(layer, box).astype(np.float32) / 255.0
        a = placed[..., 3:4]
        rgb = placed[..., :3] * a + rgb * (1 - a)  # premultiplied over
        alpha = a + alpha * (1 - a)
    straight = np.where(alpha > 0, rgb / np.maximum(alpha, 1e-6), 0)
    pixels = np.round(np.concatenate([straight, alpha], axis=2) * 255).astype(np.uint8)
    return Layer(id=layers[0].id, name=" + ".join(l.name for l in layers), pixels=pixels, box=box, kind=LayerKind.PIXEL)


def split_by_propagation(frames: np.ndarray, masks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Split a merged clip into one clip per member.

    `masks` are the members' static alphas placed in the clip's box (paint order, bottom
    first). Frame 0's labels are the topmost member present at each pixel; in every later
    frame each visible pixel takes the label of the nearest labelled pixel of the frame
    before. Each member keeps only its pixels, so the members' alphas add up to the
    merged alpha exactly.
    """
    labels = np.full(frames.shape[1:3], -1, np.int32)
    for index, mask in enumerate(masks):
        labels[mask > 0] = index
    out = [np.zeros_like(frames) for _ in masks]
    for t, frame in enumerate(frames):
        visible = frame[..., 3] > 0
        if t > 0 and (labels >= 0).any():
            _, (iy, ix) = ndimage.distance_transform_edt(labels < 0, return_indices=True)
            nearest = labels[iy, ix]
            labels = np.where(visible, nearest, -1)
        for index in range(len(masks)):
            own = labels == index
            out[index][t][own] = frame[own]
    return out


def group_clips(engine: Animator, poster: Poster, members: Sequence[int], prompt: str, frames: int, seed: int,
                params: dict[str, Any]) -> list[MadeClip]:
    merged = merged_layer(poster, members)
    box = generous_box(merged.box, poster.canvas)
    request = MotionRequest(layer=merged, box=box, prompt=prompt, params=dict(params), frames=frames, seed=seed)
    clip = _run(engine, request, group_prompt=prompt)
    masks = [place_static(poster.layer(i), box)[..., 3] for i in sorted(members)]
    made = []
    for layer_id, part in zip(sorted(members), split_by_propagation(clip, masks)):
        layer = poster.layer(layer_id)
        part[0] = place_static(layer, box)  # frame 0 is the member itself, exactly
        cropped, tight_box = tight(part, box, layer.box)
        made.append(MadeClip(layer_id, prompt, cropped, tight_box,
                             {"engine": engine.name, "params": dict(params), "seed": seed,
                              "group": sorted(members), "split": GROUP_SPLIT_METHOD}))
    return made
