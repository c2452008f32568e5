"""Animate, re-roll, cancel and preview: the engine calls behind the page's long buttons.

The session lock is held only to read the request and to commit the clips, so the rest
of the page (selection, previews, other panels) stays responsive while frames render.
Engines come from the registry (one long-lived instance per process, shared by every
session); each batch is one engine call whose steps drive the progress bar, and the
Cancel button stops it between steps, leaving every clip as it was.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence
from weakref import WeakKeyDictionary

import numpy as np

from app import canvas as cv
from app.links import hidden_warnings
from app.motion_panel import resolve, steps_in_use
from app.persist import AUTOSAVE_NAME, autosave, clip_member, commit_clip, store_clip
from app.replies import Report, View, guarded, ok, quiet, require_poster
from app.session import Session
from app.state import EditorState
from app.timeline import tracks_value
from app.views import canvas_view, engines_view, selection_view
from engine.core.clip import LayerClip
from engine.core.links import FOLLOWS_PARAM
from engine.core.poster import Box, Layer, Poster, PosterError
from engine.core.stream import FrameStream
from engine.core.tee import Tee
from engine.motion.base import Cancelled, MotionRequest

PREVIEW_MAX_SIDE = 960  # previews are for the eye; exports keep full resolution

#: Stores what a button press carried, under the lock that then reads the requests (see _animate).
Prepare = Callable[[], View]


def check_engine(name: str) -> None:
    engines = engines_view()
    if name not in engines:
        raise PosterError(f"There is no motion engine called '{name}'.")
    usable, reason = engines[name]
    if not usable:
        raise PosterError(f"The {name} engine is not available here: {reason}")


def _request(state: EditorState, layer_id: int) -> MotionRequest:
    layer = state.layer(layer_id)
    motion = state.motion(layer_id)
    return MotionRequest(
        layer=layer, box=state.motion_box(layer_id), prompt=motion.prompt,
        params=resolve(layer, motion, state.poster.canvas).values, frames=state.frames, fps=state.fps,
        seed=motion.seed, phase=motion.phase, start=motion.start, duration=motion.duration,
        canvas=state.poster.canvas,
    )


class Stop(Protocol):
    """What an engine call checks between steps to stop early (threading.Event has it)."""

    def is_set(self) -> bool: ...


#: The settings each live clip was made from (see `recipe`), while the clip lives.
_RECIPES: "WeakKeyDictionary[LayerClip, tuple]" = WeakKeyDictionary()


def recipe(state: EditorState, layer_id: int) -> tuple:
    """Everything a layer's clip depends on: what the engine is asked, and the timeline.

    Two equal recipes make the same clip, so the live preview re-renders exactly the
    layers whose recipe changed since their clip was made.
    """
    motion = state.motion(layer_id)
    try:
        request = _request(state, layer_id)
    except PosterError as error:  # settings no engine takes: stale, and Animate says why
        return (motion.engine, str(error))
    return (motion.engine, motion.group, motion.loop, request.prompt, json.dumps(request.params, sort_keys=True,
            default=str), request.box.as_tuple(), request.seed, request.phase, request.start, request.duration,
            request.frames, request.fps)


def remember(state: EditorState, clips: Sequence[LayerClip], *, unknown_only: bool = False) -> None:
    """Record the recipes the leading (not following) `clips` were made from; with
    `unknown_only`, only for clips without one (a restored or opened project's clips
    are taken as made from the settings saved with them)."""
    for clip in clips:
        if clip.params.get(FOLLOWS_PARAM) is None and not (unknown_only and clip in _RECIPES):
            _RECIPES[clip] = recipe(state, clip.layer_id)


def made_from(clip: LayerClip) -> tuple | None:
    """The recipe recorded for `clip`, None when unknown."""
    return _RECIPES.get(clip)


@dataclass
class Batch:
    """Layers one engine call animates: one layer, or a group under a shared prompt
    (layers of one engine that are not grouped go jointly, each after its own prompt)."""

    engine: str
    requests: list[MotionRequest]
    group_prompt: str | None = None
    #: owner id -> the linked layers that move with it (engine.motion.follow)
    followers: dict[int, list[Layer]] = field(default_factory=dict)


def _give_room(state: EditorState, ids: Sequence[int]) -> list[int]:
    """Layers nobody drew or planned a box for get one sized for their preset.

    A motion box equal to the layer leaves most motions no room (they shrink to fit), so
    a newcomer who only typed a prompt would see almost nothing move. A box sized here is
    sized again on the next Animate, so it follows a new prompt or a stronger amplitude
    (a box kept from 'bobs' squeezed a later 'drifts' to 63%). Returns the ids whose box
    was made or changed.
    """
    from engine.planning import boxes_for_preset

    poster = state.poster
    sized = []
    for layer_id in ids:
        motion = state.motion(layer_id)
        if motion.box is not None and not motion.box_sized:
            continue
        boxes = [boxes_for_preset(poster, [layer_id], preset, params, together)[layer_id]  # room for every step
                 for preset, params, together in steps_in_use(state.layer(layer_id), motion, poster.canvas)]
        box = boxes[0]
        for other in boxes[1:]:
            box = box.union(other)
        fitted = cv.fit_motion_box(box, state.layer(layer_id).box, poster.canvas)
        if fitted != motion.box:
            sized.append(layer_id)
        motion.box, motion.box_sized = fitted, True
    return sized


def _batches(state: EditorState, ids: Sequence[int]) -> list[Batch]:
    """One batch per group, and one per engine for the layers with prompts of their own
    (the joint mode: several layers, each its own prompt, one call)."""
    batches: list[Batch] = []
    seen_groups: set[str] = set()
    joint: dict[str, Batch] = {}
    for layer_id in ids:
        motion = state.motion(layer_id)
        if motion.group:
            if motion.group in seen_groups:
                continue
            seen_groups.add(motion.group)
            members = [i for i in state.group_members(motion.group) if i in ids]
            batches.append(Batch(motion.engine, [_request(state, i) for i in members], motion.prompt))
        elif motion.engine in joint:
            joint[motion.engine].requests.append(_request(state, layer_id))
        else:
            joint[motion.engine] = Batch(motion.engine, [_request(state, layer_id)])
            batches.append(joint[motion.engine])
    followers = state.project.followers() if state.project is not None else {}
    for batch in batches:
        batch.followers = {r.layer.id: [state.layer(f) for f in followers[r.layer.id]]
                           for r in batch.requests if r.layer.id in followers}
    return batches


def _leading(state: EditorState, ids: Sequence[int]) -> list[int]:
    """`ids` without the linked layers whose owner is among them: those follow their owner
    (a follower animated alone still moves after its own prompt)."""
    project = state.project
    chosen = set(ids)
    return [i for i in ids if project is None or project.owner_of(i) not in chosen]


def _following(state: EditorState) -> dict[int, int]:
    """Layers whose clip was made by following another layer: follower id -> owner id."""
    return {i: int(clip.params[FOLLOWS_PARAM]) for i, clip in state.clips.items()
            if clip.params.get(FOLLOWS_PARAM) is not None}


def _run(batches: Sequence[Batch], report: Report, cancel=None) -> tuple[list[LayerClip], list[str]]:
    """One engine call per batch, its steps on the progress bar; no session lock is held,
    so the rest of the page stays responsive. Cancelled stops between steps."""
    from engine.motion.follow import animate_with_followers
    from engine.motion.service import get_service

    clips: list[LayerClip] = []
    total = sum(len(b.requests) for b in batches)
    for batch in batches:
        check_engine(batch.engine)
        engine = get_service(batch.engine)  # generative ones: cached, queued on their device, maybe on Ray
        names = ", ".join(r.layer.name for r in batch.requests)
        start, share = len(clips) / total, len(batch.requests) / total
        report(0.05 + 0.7 * start, f"Animating {names}")

        def progress(done: int, steps: int, message: str, start=start, share=share) -> None:
            report(0.05 + 0.7 * (start + share * done / max(steps, 1)), message or f"Animating {names}")

        clips.extend(animate_with_followers(engine, batch.requests, batch.followers,
                                            group_prompt=batch.group_prompt, progress=progress, cancel=cancel))
    notes = [message for clip in clips for message in clip.messages]
    return clips, list(dict.fromkeys(notes))


def _write_video(session: Session, stem: str, frames: FrameStream, fps: int) -> str:
    """An MP4 under a fresh name (the page caches by name), older takes removed.

    The frames arrive at preview size (drawn small, never drawn full size and shrunk) and
    are encoded at "preview" quality: the designer is waiting on it after pressing
    Animate, and the download from the Export tab is encoded again at full size and
    "final" quality anyway.
    """
    from engine.export import write_mp4

    work = session.dir("work")
    path = work / f"{stem}-{time.time_ns()}.mp4"
    write_mp4(path, frames, fps, quality="preview")
    for old in work.glob(f"{stem}-*.mp4"):
        if old != path:
            old.unlink(missing_ok=True)
    return str(path)


def _store_and_preview(session: Session, clips: Sequence[LayerClip], poster: Poster, shown: Sequence[LayerClip],
                       frame_count: int, fps: int) -> tuple[str, list[tuple[LayerClip, Path]]]:
    """Write the fresh clips beside the autosave and encode the poster preview, at once.

    Each fresh clip is rendered once and read by both (engine.core.tee): the clip files are
    deflated on one thread while the preview is composited on another and encoded by
    ffmpeg, so the two cores share the work; the preview never reads the clips back from
    disk. Returns the preview's path and (clip, pending file) pairs for `commit_clip`.
    """
    from engine.render.compositor import poster_stream
    from engine.render.scale import preview_scale

    tees = {clip.layer_id: Tee(clip.source) for clip in clips}
    stored_views = [clip.with_source(tees[clip.layer_id].view(0)) for clip in clips]
    drawn = [clip.with_source(tees[clip.layer_id].view(1)) if clip.layer_id in tees else clip for clip in shown]

    def store(clip: LayerClip, stored: LayerClip) -> tuple[LayerClip, Path]:
        try:
            return clip, store_clip(session, stored)
        finally:
            tees[clip.layer_id].close(0)

    scale = preview_scale(poster.width, poster.height, PREVIEW_MAX_SIDE)
    # one writer per clip: the preview reads every clip frame by frame, so no clip may wait for another's file
    with ThreadPoolExecutor(max(1, len(clips))) as pool:
        storing = [pool.submit(store, clip, stored) for clip, stored in zip(clips, stored_views)]
        try:
            preview = _write_video(session, "preview", poster_stream(poster, drawn, frame_count, fps=fps, scale=scale),
                                   fps)
        finally:
            for tee in tees.values():
                tee.close(1)
            pending = [future.result() for future in storing]
    return preview, pending


def _layer_video(session: Session, clip: LayerClip, fps: int) -> str:
    """One clip over a checkerboard, each frame shrunk to preview size as it is read."""
    from engine.render.scale import preview_scale, resize, scaled_box

    box = scaled_box(Box(0, 0, clip.box.w, clip.box.h), preview_scale(clip.box.w, clip.box.h, PREVIEW_MAX_SIDE))

    def shown(frame: np.ndarray) -> np.ndarray:
        rgb = cv.over_checkerboard(resize(frame, box.w, box.h))
        return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])

    return _write_video(session, "layer", FrameStream.of_clip(clip).map(shown, box.w, box.h), fps)


def _targets(state: EditorState, which: str) -> list[int]:
    if which == "all":
        ids = [layer.id for layer in state.poster.layers if state.has_motion(layer.id)]
        if not ids:
            raise PosterError("No layer has a motion yet: select a layer and type a prompt first.")
        return ids
    if not state.selection:
        raise PosterError("Select the layers to animate first (in the layer list or on the canvas).")
    return list(state.selection)


def _animate(session: Session, which: str, report: Report, reroll: int | None = None,
             prepare: Prepare | None = None, layers: Sequence[int] | None = None, cancel: Stop | None = None,
             follows_edit: bool = False) -> View:
    """Animate, recomposite, preview; the session lock is held only to read and to commit.

    `prepare` stores what the button press carried (the typed prompt, the timeline) under
    the same lock hold that reads the requests: an edit event of a keystroke still in the
    queue (handled in another worker) can then never slip in between and replace the
    typed prompt with an older one before the engine reads it.

    `layers` animates exactly those layers (the live preview's preset layers): clips of
    other layers made for another timeline are then left alone, since some may be
    generative, which run only when the designer presses Animate. `cancel` replaces the
    Cancel button's event (the live preview stops when a newer edit supersedes it).
    `follows_edit`: the clips follow an edit already recorded (the live preview), so they
    join that edit's undo step instead of making one of their own.
    """
    started = time.perf_counter()
    with session.lock:
        prepared = prepare() if prepare is not None else {}
        if prepared.get("error"):
            return prepared
        state = session.state
        require_poster(state)
        ids = [reroll] if reroll is not None else list(layers) if layers is not None else _targets(state, which)
        if reroll is not None:
            state.motion(reroll).seed += 1
        ids = _leading(state, ids)
        following = _following(state)  # made by following: refreshed with their owner, never alone
        # Clips made for another timeline would loop out of step: refresh them too.
        stale = [i for i, clip in state.clips.items()
                 if clip.frame_count != state.frames and i not in ids and i not in following and layers is None]
        sized = _give_room(state, ids)
        batches = _batches(state, ids + stale)
        fps, frame_count = state.fps, state.frames
        loop_modes = {i: state.motion(i).loop for i in ids + stale}  # the project's Motion.loop
        # a layer that followed one of these and no longer does (unlinked) goes back to still
        moved = set(ids + stale)
        still_again = [f for f, owner in following.items()
                       if (owner in moved or state.clips[f].frame_count != state.frames)
                       and state.project.owner_of(f) not in moved]
        if cancel is None:
            cancel = session.cancel
            cancel.clear()
    try:
        clips, notes = _run(batches, report, cancel)
    except Cancelled as stopped:
        with session.lock:
            if reroll is not None:
                state.motion(reroll).seed -= 1  # the take never happened
        return {**prepared, "status": f"{stopped} Nothing was changed.", "tab": "preview"}
    for clip in clips:
        owner = clip.params.get(FOLLOWS_PARAM)
        clip.loop_mode = loop_modes.get(clip.layer_id if owner is None else int(owner), clip.loop_mode)
    with session.lock:
        poster = state.poster
        fresh = {clip.layer_id: clip for clip in clips}
        shown = [fresh.get(layer.id) or state.clips[layer.id] for layer in poster.layers
                 if (layer.id in fresh or layer.id in state.clips) and layer.id not in still_again]
    report(0.75, "Saving the animated layers and compositing the preview")
    preview, pending = _store_and_preview(session, clips, poster, shown, frame_count, fps)
    with session.lock:
        if session.state is not state:
            for _clip, path in pending:
                path.unlink(missing_ok=True)
            raise PosterError("Another poster was opened while this one was animating; that result was dropped.")
        clips = [commit_clip(session, clip, path) for clip, path in pending]
        for follower in still_again:
            state.clips.pop(follower, None)
            (session.dir(AUTOSAVE_NAME) / clip_member(follower)).unlink(missing_ok=True)
        state.clips.update({clip.layer_id: clip for clip in clips})
        remember(state, clips)
        autosave(session, amend=follows_edit)
    report(1.0, "Done")
    names = ", ".join(state.layer(i).name for i in ids)
    if reroll is not None:
        status = ok(f"New take of {names} (seed {state.motion(reroll).seed}); the other layers are unchanged.")
    else:
        status = ok(f"Animated {names} in {time.perf_counter() - started:.1f} s.")
    if stale:
        status += f" Refreshed {len(stale)} other layer(s) for the new timeline."
    if sized:
        status += (f" Gave {', '.join(state.layer(i).name for i in sized)} a motion box sized for the motion;"
                   " adjust it on the canvas.")
    if notes:
        status += " " + " ".join(notes)
    hidden = hidden_warnings(state, ids)
    if hidden:
        status += " " + " ".join(hidden)
    # The single-layer preview is made when its tab is opened: most takes never need it.
    view: View = {**prepared, "preview": preview, "layer_preview": None, "status": status, "tab": "preview"}
    with session.lock:  # the bars show what played; a new box or the re-rolled layer's new seed shows
        view["tracks"] = tracks_value(state)  # in the panel; new trails on the canvas
        view.update(selection_view(session) if sized or reroll is not None else canvas_view(session))
    return view


@guarded(lock=False)
def animate(session: Session, which: str = "selected", report: Report = quiet, prepare: Prepare | None = None) -> View:
    """Animate the selected layers (or "all" layers with a motion), recomposite, preview."""
    return _animate(session, which, report, prepare=prepare)


@guarded(lock=False)
def reroll(session: Session, layer_id: int | None, report: Report = quiet, prepare: Prepare | None = None) -> View:
    """A new take of one layer (next seed), leaving every other clip exactly as it was."""
    if layer_id is None:
        raise PosterError("Select the layer to re-roll first.")
    return _animate(session, "selected", report, reroll=int(layer_id), prepare=prepare)


def poster_preview(session: Session) -> str | None:
    """The poster preview made again from the layers' current clips (after an undo or redo);
    None when no layer is animated. Called under the session lock."""
    from engine.render.compositor import poster_stream
    from engine.render.scale import preview_scale

    state = session.state
    poster = require_poster(state)
    ordered = [state.clips[layer.id] for layer in poster.layers if layer.id in state.clips]
    if not ordered:  # nothing moves any more: no preview, on this page or after a reload
        for old in session.dir("work").glob("preview-*.mp4"):
            old.unlink(missing_ok=True)
        return None
    scale = preview_scale(poster.width, poster.height, PREVIEW_MAX_SIDE)
    return _write_video(session, "preview", poster_stream(poster, ordered, state.frames, fps=state.fps, scale=scale),
                        state.fps)


@guarded
def preview_layer(session: Session, layer_id: int | None) -> View:
    """One animated layer alone on a checkerboard, so its transparency is visible."""
    state = session.state
    require_poster(state)
    if layer_id is None or int(layer_id) not in state.clips:
        raise PosterError("That layer has no animation yet: select an animated layer, or animate this one first.")
    layer = state.layer(int(layer_id))
    from engine.render.effects import styled_clip  # noqa: PLC0415

    clip = styled_clip(state.clips[int(layer_id)], layer.style, state.poster.canvas)  # its style, alive per frame
    name = layer.name
    return {"layer_preview": _layer_video(session, clip, state.fps), "tab": "layer",
            "status": f"{name} alone, over a checkerboard where it is transparent."}


@guarded(lock=False)
def cancel(session: Session) -> View:
    """The Cancel button: a running Animate or Re-roll of this session stops after its current step.

    This reply and the Animate's own ("Animation cancelled…") reach the page in either
    order (on a busy server this one can come last), so it says what stays true after the
    stop, never "cancelling…", which would be left standing once the run has ended.
    """
    session.cancel.set()
    return {"status": "Cancelled: the animation stops after its current step; the layers keep their previous clips."}

