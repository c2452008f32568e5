"""Followers: a linked layer (a title's shadow, a sun's glow) moves with the layer it belongs to.

A follower is animated *after* its owner, from the owner's result, never from a prompt of
its own, so it cannot drift apart. The follower moves exactly as the owner would if the
owner stood where the follower stands: the owner's motion conjugated by the constant
offset between the two layers' alpha centroids. That keeps a drop shadow under its title
frame by frame (a float, a travel, a wave), turns it by the owner's angle in a spin, and
keeps the centroid offset constant under any scale.

- **presets**: the owner's own FramePlan is built again, with the same preset, parameters,
  seed and times, on a stage holding the owner's pixels shifted by the offset inside the
  follower's box (the owner's motion box shifted by the offset, grown to hold the
  follower). Same box, same room, same pivot: the same motion, sample for sample.
  Particles are not repeated on the follower.
- **generative engines (i2v, dmdl)**: a diffusion model would invent a different motion
  for a shadow, so the follower is *not* generated: the owner's generated frames are
  measured (alpha centroid, area, orientation: the closest similarity transform, frame
  by frame) and that transform moves the follower. Deformations inside the owner (a
  waving flag's ripples) are not copied; its travel, turn and scale are.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from engine.core.clip import LayerClip, LazySource, SequenceSource, TimedSource, Timing, place_static
from engine.core.links import FOLLOWS_PARAM, centroid, describe
from engine.core.poster import Box, Layer
from engine.motion.base import Animator, CancelToken, MotionRequest, Progress, step

#: Below this ratio of its principal axes an alpha shape has no readable orientation
#: (a round balloon): a generative owner's turn is then not copied, only its travel and scale.
_ORIENTED = 1.15


def centroid_offset(owner: Layer, follower: Layer) -> tuple[int, int]:
    """Whole-pixel offset from the owner's alpha centroid to the follower's."""
    (ox, oy), (fx, fy) = centroid(owner), centroid(follower)
    return int(round(fx - ox)), int(round(fy - oy))


def follower_box(owner_box: Box, owner: Layer, follower: Layer, offset: tuple[int, int]) -> Box:
    """The owner's motion box shifted by the offset, grown on each side by as much as the
    follower reaches past the shifted owner (a blurred shadow is larger than its title),
    so the follower keeps the owner's room on every side and is never cropped."""
    proxy = Box(owner.box.x + offset[0], owner.box.y + offset[1], owner.box.w, owner.box.h)
    return Box(owner_box.x + offset[0], owner_box.y + offset[1], owner_box.w, owner_box.h).expand(
        left=max(proxy.x - follower.box.x, 0), top=max(proxy.y - follower.box.y, 0),
        right=max(follower.box.right - proxy.right, 0), bottom=max(follower.box.bottom - proxy.bottom, 0),
    )


def follow(request: MotionRequest, clip: LayerClip, follower: Layer, *, seed: int | None = None) -> LayerClip:
    """The follower's clip: the owner's motion (`request` made `clip`) applied to `follower`."""
    offset = centroid_offset(request.layer, follower)
    box = follower_box(clip.box, request.layer, follower, offset)
    static = place_static(follower, box)
    params = {k: v for k, v in clip.params.items() if k != FOLLOWS_PARAM}
    from engine.motion.presets.animator import _MotionChunks
    from engine.motion.presets.catalog import PRESETS

    plan = None
    steps = _step_plans(request, clip, box, offset, request.seed if seed is None else seed) if clip.steps else None
    if clip.engine == "presets" and clip.preset in PRESETS and not clip.steps:
        plan = _preset_plan(request, clip, box, offset, params, request.seed if seed is None else seed)
    if steps:
        # each step of the owner's sequence, rebuilt for the follower and placed as the owner's are
        parts = [(LazySource(one.frame_count, static, _MotionChunks(static, one), hold=0), timing)
                 for one, timing in steps]
        source = (SequenceSource(clip.frame_count, static, parts) if len(parts) > 1
                  else TimedSource(clip.frame_count, static, parts[0][0], parts[0][1]))
    elif plan is not None and plan is not _MISMATCH:
        # the owner's motion frames, placed on the timeline exactly as the owner's are
        moving = LazySource(plan.frame_count, static, _MotionChunks(static, plan), hold=0)
        source = moving if plan.frame_count == clip.frame_count and clip.timing == Timing() else TimedSource(
            clip.frame_count, static, moving, clip.timing)
    else:
        # measured frame by frame on the owner's timeline frames, which already carry its timing
        plan = _measured_plan(request, clip, box, offset, 0)
        if plan is None:
            source = LazySource(clip.frame_count, static, _never, hold=clip.frame_count)
        else:
            source = LazySource(clip.frame_count, static, _MotionChunks(static, plan), hold=0)
    return LayerClip(
        layer_id=follower.id, box=box, frames=source, engine=clip.engine, preset=clip.preset,
        params={**params, FOLLOWS_PARAM: request.layer.id},
        messages=[describe(request.layer.name, follower.name) + "."], loop_mode=clip.loop_mode, timing=clip.timing,
        steps=clip.steps if steps else (),
    )


def _step_plans(request: MotionRequest, clip: LayerClip, box: Box, offset: tuple[int, int], seed: int):
    """The FramePlan of each step of a preset clip's sequence (or of its one step with a
    fade or a motion played with it), rebuilt for the follower with the step's fade and companion; None when one cannot be rebuilt (then
    the owner's frames are measured, as for a generative clip)."""
    from engine.motion.presets.animator import with_fade
    from engine.motion.presets.catalog import PRESETS

    if clip.engine != "presets" or any(step.preset not in PRESETS or (step.together and step.together not in PRESETS)
                                       for step in clip.steps):
        return None
    plans = []
    for step in clip.steps:
        one = LayerClip(clip.layer_id, clip.box, clip.source, engine=clip.engine, preset=step.preset,
                        params=step.params, loop_mode=clip.loop_mode, timing=step.timing)
        params = {k: v for k, v in step.params.items() if k != FOLLOWS_PARAM}
        plan = _preset_plan(request, one, box, offset, params, seed, (step.together, step.together_params))
        if plan is None or plan is _MISMATCH:
            return None
        plans.append((with_fade(plan, step.fade), step.timing))
    return plans


def _preset_plan(request: MotionRequest, clip: LayerClip, box: Box, offset: tuple[int, int],
                 params: dict, seed: int, together: tuple[str, dict] = ("", {})):
    """The owner's FramePlan rebuilt on the owner's pixels shifted into the follower's box
    (with the motion `together` (preset, settings) played at the same time, if named)."""
    from engine.motion.presets.animator import Step, step_plan
    from engine.motion.timing import TimingCue, motion_frames
    from engine.motion.presets.catalog import PRESETS
    from engine.motion.presets.stage import Stage

    owner = request.layer
    proxy = owner.with_pixels(owner.pixels, Box(owner.box.x + offset[0], owner.box.y + offset[1],
                                                owner.box.w, owner.box.h))
    stage = Stage.from_static(place_static(proxy, box), seed)
    preset = PRESETS[clip.preset]
    count = motion_frames(clip.timing, clip.frame_count)
    if stage.is_empty or count <= 0:
        return None
    companion = (PRESETS[together[0]], PRESETS[together[0]].validate(together[1])) if together[0] else None
    step = Step(preset, params, TimingCue(), together=companion)
    plan = step_plan(stage, step, clip.timing.phase, count)
    if box.w != clip.box.w or box.h != clip.box.h:
        # The follower needed a larger box, so the rebuilt motion had more room than the
        # owner's: if the owner's motion was shrunk to fit, the two differ. Then measure.
        own = step_plan(Stage.from_static(place_static(owner, clip.box), seed), step, clip.timing.phase, count)
        shift = np.array([clip.box.x + offset[0] - box.x, clip.box.y + offset[1] - box.y], dtype=np.float64)
        if (own.reach is None) != (plan.reach is None) or (
                own.reach is not None and (own.reach.shape != plan.reach.shape
                                           or np.abs(own.reach + shift - plan.reach).max() > 0.5)):
            return _MISMATCH
    plan.overlay, plan.overlay_region = None, None  # rain or confetti falls once, over the owner
    plan.still = plan.still_frames().copy()
    plan.still[-1 if clip.timing.phase == "in" else 0] = True  # the end the timing rule keeps exact
    plan.notes = []
    return plan


_MISMATCH = object()  # the rebuilt preset would not move like the owner


def _moments(alpha: np.ndarray) -> tuple[float, float, float, float, float] | None:
    """(cx, cy, area, angle of the principal axis, axis ratio) of an alpha mask; None if empty."""
    weight = alpha.astype(np.float64) / 255.0
    area = weight.sum()
    if area < 1.0:
        return None
    ys, xs = np.indices(weight.shape, dtype=np.float64)
    cx, cy = (weight * (xs + 0.5)).sum() / area, (weight * (ys + 0.5)).sum() / area
    dx, dy = xs + 0.5 - cx, ys + 0.5 - cy
    sxx, syy, sxy = (weight * dx * dx).sum() / area, (weight * dy * dy).sum() / area, (weight * dx * dy).sum() / area
    angle = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    spread = np.sqrt((sxx - syy) ** 2 + 4 * sxy * sxy)
    major, minor = (sxx + syy + spread) / 2, max((sxx + syy - spread) / 2, 1e-9)
    return cx, cy, area, float(angle), float(np.sqrt(major / minor))


def _measured_plan(request: MotionRequest, clip: LayerClip, box: Box, offset: tuple[int, int], hold: int):
    """Per-frame similarity transforms measured on the owner's frames, as a FramePlan."""
    from engine.motion.presets.resample import FramePlan, PixelGrid

    count = clip.frame_count - hold
    first = _moments(clip.frame(0)[..., 3])
    if first is None or count <= 0:
        return None
    cx0, cy0, area0, angle0, ratio0 = first
    ox, oy = clip.box.x, clip.box.y  # owner box -> poster
    fx, fy = box.x, box.y  # follower box -> poster
    forward = np.tile(np.eye(3), (count, 1, 1))
    for k in range(count):
        moments = _moments(clip.frame(hold + k)[..., 3])
        if moments is None:
            continue
        cx, cy, area, angle, ratio = moments
        scale = float(np.sqrt(area / area0))
        turn = angle - angle0 if min(ratio, ratio0) >= _ORIENTED else 0.0
        turn = (turn + np.pi / 2) % np.pi - np.pi / 2  # an axis has no head: the smallest turn
        c, s = np.cos(turn) * scale, np.sin(turn) * scale
        # follower-box point x: poster p = x + f; owner's map about its first centroid,
        # conjugated by the offset; back into follower-box pixels
        px0, py0 = cx0 + ox + offset[0] - fx, cy0 + oy + offset[1] - fy
        px1, py1 = cx + ox + offset[0] - fx, cy + oy + offset[1] - fy
        forward[k] = [[c, -s, px1 - (c * px0 - s * py0)], [s, c, py1 - (s * px0 + c * py0)], [0, 0, 1]]
    inverse = np.linalg.inv(forward)[:, :2, :]
    still = np.all(np.abs(forward - np.eye(3)) < 1e-9, axis=(1, 2))
    return FramePlan(frame_count=count, source=PixelGrid(box.h, box.w).affine_source(inverse), still=still)


def _never(start: int, stop: int, out: np.ndarray) -> None:  # pragma: no cover - every frame is held
    raise AssertionError("a follower without motion has nothing to render")


def animate_with_followers(
    engine: Animator,
    requests: Sequence[MotionRequest],
    followers: Mapping[int, Sequence[Layer]],
    *,
    group_prompt: str | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> list[LayerClip]:
    """`engine.animate(requests)`, then one clip per follower of each animated layer.

    The owners' clips come first, in request order, then the followers'. Followers are
    cheap (presets: a lazy clip; generative: one pass over the owner's alpha), so they are
    one last progress step.
    """
    clips = engine.animate(requests, group_prompt=group_prompt, progress=progress, cancel=cancel)
    out = list(clips)
    seed = requests[0].seed if group_prompt is not None and requests else None  # a group plays the lead's seed
    for request, clip in zip(requests, clips):
        for follower in followers.get(request.layer.id, ()):
            out.append(follow(request, clip, follower, seed=seed))
    if len(out) > len(clips):
        step(progress, cancel, len(requests), len(requests), "Moved the linked layers with their owners")
    return out
