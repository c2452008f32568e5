"""Live preview: an edit that changes how an animated layer moves shows without Animate.

Changing a preset parameter, the motion box, the timing or the timeline makes the clips
made from the old settings stale (app.animating.recipe says which). The page then asks
for a *draft* (the poster at ≤ DRAFT_MAX_SIDE px and about DRAFT_MIN_FPS frames a second,
the stale layers animated at that size, nothing saved), then for the *full* render
(exactly what Animate does for those layers: clips saved, preview at preview size). The
status says which one is showing, and when the preview is stale.

Only the presets engine runs on an edit: it is instant and deterministic. A generative
layer (i2v, dmdl) never runs on a slider move; its preview is marked stale with
"press Animate". A newer edit wins: every refresh takes a new generation number, and an
older refresh still rendering stops at its next frame (no queue of stale renders).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace
from typing import Sequence

import numpy as np

from app import animating
from app.replies import Report, View, guarded, ok, problem, quiet
from app.session import Session
from app.state import EditorState
from engine.core.clip import FrameSource, LayerClip
from engine.core.links import FOLLOWS_PARAM
from engine.core.poster import Poster
from engine.motion.base import Cancelled, MotionRequest

DRAFT_MAX_SIDE = 480
DRAFT_MIN_FPS = 12
LIVE_ENGINES = frozenset({"presets"})  # engines an edit may run; the rest wait for Animate

_generations: dict[str, int] = {}
_generations_lock = threading.Lock()


class Superseded:
    """The cancel signal of one refresh: set once a newer refresh of the session started."""

    def __init__(self, session: Session) -> None:
        with _generations_lock:
            self.token = session.token
            self.generation = _generations.get(self.token, 0)

    @classmethod
    def newest(cls, session: Session) -> "Superseded":
        """A new generation: every older refresh of this session is superseded."""
        with _generations_lock:
            _generations[session.token] = _generations.get(session.token, 0) + 1
        return cls(session)

    def is_set(self) -> bool:
        return _generations.get(self.token, 0) != self.generation

    def check(self) -> None:
        if self.is_set():
            raise Cancelled("A newer edit replaced this preview.")


def stale_layers(state: EditorState) -> list[int]:
    """Layers (leading, not following) whose clip was made from other settings than now."""
    stale = []
    for layer_id, clip in state.clips.items():
        if clip.params.get(FOLLOWS_PARAM) is not None:
            continue  # refreshed with its owner
        made = animating.made_from(clip)
        if made is not None and made != animating.recipe(state, layer_id):
            stale.append(layer_id)
    return stale


def draft_step(fps: int) -> int:
    """Every how many timeline frames the draft shows one: the largest divisor of `fps`
    that leaves at least DRAFT_MIN_FPS (1 when the timeline is already that slow)."""
    return max(d for d in range(1, fps + 1) if fps % d == 0 and fps // d >= min(fps, DRAFT_MIN_FPS))


class _EveryNth:
    """A clip's frames at the draft's frame rate (frame k is timeline frame k·step)."""

    def __init__(self, clip: LayerClip, step: int, count: int) -> None:
        self.clip, self.step, self.count = clip, step, count
        self.height, self.width = clip.box.h, clip.box.w

    def frame(self, index: int) -> np.ndarray:
        return self.clip.frame(index * self.step)


def _draft_request(request: MotionRequest, small: Poster, scale: float, step: int) -> MotionRequest:
    from engine.render.scale import scaled_box

    def frames(value: int | None) -> int | None:
        return None if value is None else int(round(value / step))

    return replace(request, layer=small.layer(request.layer.id), box=scaled_box(request.box, scale),
                   frames=math.ceil(request.frames / step), fps=request.fps // step, start=frames(request.start),
                   duration=frames(request.duration), canvas=small.canvas)


def _stale_note(state: EditorState, waiting: Sequence[int]) -> str:
    names = ", ".join(state.layer(i).name for i in waiting)
    return problem(f"Preview is stale for {names} (generative engine): press ▶ Animate to regenerate "
                   f"{'it' if len(waiting) == 1 else 'them'}; a slider never runs a generative model.")


def _split(state: EditorState) -> tuple[list[int], list[int]]:
    """Stale layers the preview can refresh now (presets), and those waiting for Animate."""
    if state.poster is None:
        return [], []
    stale = stale_layers(state)
    live = [i for i in stale if state.motion(i).engine in LIVE_ENGINES]
    return live, [i for i in stale if i not in live]


@guarded(lock=False)
def draft(session: Session, report: Report = quiet) -> View:
    """The stale preset layers re-animated at draft size and frame rate; nothing is saved."""
    from engine.motion.follow import animate_with_followers
    from engine.motion.registry import get_engine
    from engine.render.compositor import poster_stream
    from engine.render.scale import preview_scale, scaled_clip, scaled_poster

    started = time.perf_counter()
    stop = Superseded.newest(session)
    with session.lock:
        state = session.state
        live, waiting = _split(state)
        if not live:
            return {"status": _stale_note(state, waiting)} if waiting else {}
        poster, fps, frame_count = state.poster, state.fps, state.frames
        scale = preview_scale(poster.width, poster.height, DRAFT_MAX_SIDE)
        step = draft_step(fps)
        batches = animating._batches(state, live)
        kept = [clip for layer_id, clip in state.clips.items()
                if not any(layer_id == r.layer.id or layer_id in {f.id for f in b.followers.get(r.layer.id, [])}
                           for b in batches for r in b.requests)]
        names = ", ".join(state.layer(i).name for i in live)
    small, _ = scaled_poster(poster, [], scale)
    count = math.ceil(frame_count / step)
    engine = get_engine("presets")
    try:
        clips: list[LayerClip] = []
        for batch in batches:
            requests = [_draft_request(r, small, scale, step) for r in batch.requests]
            followers = {owner: [small.layer(f.id) for f in layers] for owner, layers in batch.followers.items()}
            clips.extend(animate_with_followers(engine, requests, followers, group_prompt=batch.group_prompt,
                                                cancel=stop))
        clips.extend(small_clip.with_source(_EveryNth(small_clip, step, count))
                     for small_clip in (scaled_clip(clip, scale) for clip in kept))

        def checked(frame: np.ndarray) -> np.ndarray:
            stop.check()
            return frame

        stream = poster_stream(small, clips, count, fps=fps / step).map(checked)
        preview = animating._write_video(session, "preview", stream, fps // step)
    except Cancelled:
        return {}
    seconds = time.perf_counter() - started
    status = (f"Draft preview of {names} ({small.width}×{small.height}, {fps // step} fps, {seconds:.1f} s, "
              "Poster preview tab); rendering full quality…")
    if waiting:
        status += " " + _stale_note(state, waiting)
    return {"preview": preview, "status": status}  # no tab switch: the designer may be dragging a box


@guarded(lock=False)
def full(session: Session, report: Report = quiet) -> View:
    """The stale preset layers animated for real (as Animate does), saved, previewed."""
    started = time.perf_counter()
    stop = Superseded(session)
    with session.lock:
        state = session.state
        live, waiting = _split(state)
    if not live:
        return {}
    view = animating._animate(session, "selected", report, layers=live, cancel=stop, follows_edit=True)
    if view.get("error") or "preview" not in view:
        return {} if stop.is_set() else view
    if stop.is_set():  # a newer edit's refresh is on its way; this one's status would be wrong
        view.pop("status", None)
        view.pop("tab", None)
        return view
    names = ", ".join(state.layer(i).name for i in live)
    status = ok(f"Preview is current: {names} re-rendered with the new settings "
                f"({time.perf_counter() - started:.1f} s).")
    if waiting:
        status += " " + _stale_note(state, waiting)
    view["status"] = status
    for key in ("layer_preview", "tab"):  # the layer preview stays; the tab is the designer's
        view.pop(key, None)
    return view


def adopt(session: Session, view: View) -> View:
    """A poster whose clips came from a file (restored autosave, opened project): their
    settings are the ones saved with them, and the preview is made from them now (the
    clips are composited, never re-animated) when there is none yet."""
    with session.lock:
        state = session.state
        if state.poster is None or not state.clips:
            return view
        animating.remember(state, list(state.clips.values()), unknown_only=True)
        if view.get("preview"):
            return view
        return {**view, "preview": animating.poster_preview(session), "tab": "preview"}
