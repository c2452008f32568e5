"""Everything the designer edits, as plain functions over a Session.

Each handler takes the session and the values the page sent, changes the session's
EditorState, and returns a View (app.replies) naming the panels that changed; app/ui.py
turns it into component updates, and tests call these functions directly. Animating
lives in app.animating, downloads and projects in app.exporting.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Sequence

from app import animating, live, warmup
from app import canvas as cv
from app.animating import check_engine
from app.motion_panel import TYPED_FIELDS, MotionFields, apply_fields, resolve, store_params
from app.links import link_note
from app.persist import autosave, state_for_poster
from app.replies import Report, View, guarded, ok, problem, quiet, require_poster
from app.session import Session
from app.state import frames_for
from app.timeline import parse_edit, timing_sentence, track_of, tracks_value
from app.views import SAMPLES_DIR, canvas_view, full_view, md_text, panel_view, samples, selection_view
from engine.core.budget import work_limits
from engine.core.poster import Box, PosterError
from engine.core.project import Timeline, check_prompt
from engine.psd.load import load_psd

DEFAULT_SAMPLE_HINT = "Select a layer (list or “Pick layers”), describe its motion, press ▶ Animate."


def start(session: Session, restored: bool) -> View:
    """Page load: the session's work if there is any, else the first sample poster."""
    with session.lock:
        if session.state.poster is not None:
            what = "Restored your work" if restored else "Welcome back"
            view = full_view(session, ok(f"{what}: {session.state.poster.name}. {DEFAULT_SAMPLE_HINT}"))
            return live.adopt(session, view)  # a preview from the restored clips when there is none
        if session.restore_problem:
            # Nothing opens over it: editor.json stays as it was until a poster is opened.
            return full_view(session, problem(
                f"Your autosaved work could not be restored: {session.restore_problem} It is kept on the "
                "server; open a poster or project to start again."))
        names = samples()
        if not names:
            return full_view(session)
        view = open_sample(session, names[0])
    if view.get("error"):
        return view
    view["status"] = ok(f"Opened the sample poster {names[0]}. {DEFAULT_SAMPLE_HINT}")
    return view


def load_poster(session: Session, path: Path, source: str) -> None:
    """Import a PSD into the session (replaces the previous poster once it loaded)."""
    session.state = state_for_poster(load_psd(path), source, session.state)
    session.clear_previews()
    warmup.warm_preview(session)


@guarded
def open_sample(session: Session, name: str) -> View:
    if name and name == session.state.source_name:  # the picker's entry for the open upload or project
        return {}
    if name not in samples():
        raise PosterError(f"There is no sample poster called '{name}'. Pick one from the list.")
    load_poster(session, SAMPLES_DIR / name, f"sample:{name}")
    return full_view(session, ok(f"Opened the sample poster {name}."))


@guarded
def open_psd(session: Session, uploaded: str | None, original_name: str | None = None) -> View:
    if not uploaded:
        raise PosterError("No file arrived: choose a .psd or .psb file to upload.")
    name = original_name or Path(uploaded).name
    if Path(name).suffix.lower() not in {".psd", ".psb"}:
        raise PosterError(f"'{Path(name).name}' is not a Photoshop file: upload a .psd or .psb poster.")
    staged = session.stage_upload(uploaded, name)
    try:
        poster = load_psd(staged.temp)
    except BaseException:
        staged.discard()  # a refused upload leaves no trace, and the stored one of its name stays
        raise
    stored = staged.keep()
    poster.name = stored.stem  # it was read under its staging name
    session.state = state_for_poster(poster, f"upload:{stored.name}", session.state)
    session.clear_previews()
    warmup.warm_preview(session)
    autosave(session)
    return full_view(session, ok(f"Opened {stored.name}."))


def _select(session: Session, ids: Iterable[int], active: int | None = None) -> View:
    state = session.state
    poster = require_poster(state)
    valid = {layer.id for layer in poster.layers}
    selection = []
    for i in ids:
        if int(i) not in valid:
            raise PosterError("That layer is no longer in the poster; pick again from the layer list.")
        if int(i) not in selection:
            selection.append(int(i))
    state.selection = selection
    if active is not None and active in selection:
        state.active = active
    elif state.active not in selection:
        state.active = selection[0] if selection else None
    warmup.warm_preview(session)  # the next Animate's preview, made ready while the designer types
    return selection_view(session)


@guarded
def set_selection(session: Session, ids: Sequence[int] | None) -> View:
    """The layer list's checkboxes; a layer just ticked becomes the one being edited."""
    ids = [int(i) for i in ids or []]
    added = [i for i in ids if i not in session.state.selection]
    view = _select(session, ids, active=added[-1] if added else None)
    note, _button = link_note(session.state, added[-1]) if added else ("", None)
    if note:
        view["status"] = note
    return view


@guarded
def toggle_link(session: Session, layer_id: int | None) -> View:
    """Unlink a linked layer (it stays still when its owner moves) or link it again.

    The follower's current clip is left as it is until its owner is animated next: then it
    moves with it again, or goes back to still."""
    state = session.state
    project = state.project
    require_poster(state)
    if layer_id is None:
        raise PosterError("Select the linked layer (a shadow or glow) first.")
    layer_id = int(layer_id)
    linked = layer_id in project.unlinked
    project.set_linked(layer_id, linked)
    autosave(session)
    name, owner = state.layer(layer_id).name, state.layer(project.links[layer_id]).name
    view = selection_view(session)
    if linked:
        view["status"] = ok(f"{name} moves with {owner} again: animate {owner} to see it.")
    else:
        view["status"] = ok(f"{name} is unlinked from {owner}: it stays still the next time {owner} is animated.")
    return view


def _toggle(session: Session, layer_id: int | None) -> View:
    """Add a layer to the selection or take it out (gallery click, canvas click)."""
    state = session.state
    require_poster(state)
    if layer_id is None:
        return {"status": "Nothing there to select: click on a layer's visible pixels."}
    layer_id = int(layer_id)
    if layer_id in state.selection:
        return _select(session, [i for i in state.selection if i != layer_id])
    view = _select(session, [*state.selection, layer_id], active=layer_id)
    view["status"] = f"Selected {state.layer(layer_id).name}."
    return view


@guarded
def toggle_gallery(session: Session, index: int | None) -> View:
    """A click on the layers gallery (shown top layer first) toggles that layer."""
    poster = require_poster(session.state)
    if index is None or not 0 <= int(index) < len(poster.layers):
        return {}
    return _toggle(session, poster.layers[::-1][int(index)].id)


@guarded
def pick_at(session: Session, x: float, y: float) -> View:
    """A click on the canvas picture (widget pixels) selects the layer under it."""
    poster = require_poster(session.state)
    view = cv.CanvasView.for_poster(poster)
    hit = cv.layer_at(poster, int(x / view.scale), int(y / view.scale))
    return _toggle(session, hit)


@guarded
def focus_layer(session: Session, layer_id: Any) -> View:
    """A click on a timeline row's name: that layer is selected (if it was not) and edited."""
    state = session.state
    require_poster(state)
    try:
        layer_id = int(layer_id)
    except (TypeError, ValueError):
        raise PosterError("That row names no layer; click the layer's name again.") from None
    ids = state.selection if layer_id in state.selection else [*state.selection, layer_id]
    return _select(session, ids, active=layer_id)


@guarded
def set_active(session: Session, layer_id: int | None) -> View:
    state = session.state
    require_poster(state)
    if layer_id is None or int(layer_id) not in state.selection or int(layer_id) == state.active:
        return {}  # picking the layer already being edited must not rewrite what is being typed
    state.active = int(layer_id)
    return panel_view(session)


@guarded
def edit_motion(session: Session, layer_id: int | None, fields: MotionFields,
                only: Sequence[str] | None = None) -> View:
    """Store the panel's values for the layer they were typed for.

    The reply never rewrites the prompt or offset being typed (that would fight the
    keyboard); it refreshes the parameter widgets only when the prompt or preset reset them.
    """
    state = session.state
    require_poster(state)
    if layer_id is None:
        raise PosterError("Select a layer first, then describe its motion.")
    check_engine(fields.engine)
    layer = state.layer(int(layer_id))
    params_reset, notes = apply_fields(layer, state.motion(layer.id), fields, state.fps, only,
                                       canvas=state.poster.canvas)
    autosave(session)
    view: View = {}
    if int(layer_id) == state.active:
        panel = panel_view(session)
        view["preset_note"] = panel["preset_note"]
        if params_reset:
            view.update(motion=panel["motion"], specs=panel["specs"],
                        motion_keep=TYPED_FIELDS)
        else:  # what the timing fields left on auto now read as
            view["timing_auto"] = panel["motion"].auto
    if params_reset:
        # The note of this prompt, or none: a note about a half-typed prompt must not linger.
        view["status"] = notes[0] if notes else ""
    view["tracks"] = tracks_value(state)
    return view


@guarded
def set_timing(session: Session, layer_id: Any, start: Any, duration: Any = None) -> View:
    """A drag on the timeline (frames): stored exactly as if the designer had typed the
    seconds into the motion panel's Start (and Duration) fields, through edit_motion."""
    state = session.state
    edit = parse_edit(state, {"layer_id": layer_id, "start": start, "duration": duration})
    motion, fps = state.motion(edit.layer_id), state.fps
    fields = MotionFields(engine=motion.engine, start_s=edit.start / fps,
                          duration_s=None if edit.duration is None else edit.duration / fps)
    only = ("start",) if edit.duration is None else ("start", "motion_duration")
    view = edit_motion(session, edit.layer_id, fields, only=only)
    if view.get("error"):
        return view
    if edit.layer_id == state.active:  # the panel's Start/Duration show the dragged numbers
        view.update({key: value for key, value in panel_view(session).items() if key in ("motion", "specs")})
        view.pop("timing_auto", None)
    view["status"] = ok(timing_sentence(track_of(state, edit.layer_id), fps) + " Animate again to apply.")
    return view


@guarded
def edit_box(session: Session, layer_id: int | None, x: Any, y: Any, w: Any, h: Any) -> View:
    """Motion box typed as numbers; fitted to the rules like a drawn one."""
    state = session.state
    poster = require_poster(state)
    if layer_id is None:
        raise PosterError("Select a layer first, then set its motion box.")
    layer = state.layer(int(layer_id))
    asked = Box.from_any([x, y, w, h])
    fitted = cv.fit_motion_box(asked, layer.box, poster.canvas)
    state.motion(layer.id).box, state.motion(layer.id).box_sized = fitted, False
    autosave(session)
    view = canvas_view(session)
    view["box"] = fitted.as_tuple()
    view["status"] = ok(f"Motion box of {layer.name}: {fitted.as_tuple()}.") if fitted == asked else \
        problem(cv._fit_note(layer, asked, fitted, poster))
    return view


@guarded
def canvas_changed(session: Session, value: dict | None) -> View:
    """Boxes drawn, moved, resized or removed with the mouse."""
    state = session.state
    poster = require_poster(state)
    if not value or not state.selection and not (value.get("boxes") or []):
        return {}
    view = cv.CanvasView.for_poster(poster)
    if cv.drawing_in_progress(value, poster):
        return {}  # the widget reports a box the moment the mouse goes down; wait for the drag
    current = {layer_id: state.motion_box(layer_id) for layer_id in state.selection}
    edit = cv.read_annotation(value, poster, view, state.selection, state.active, current)
    changed = False
    for layer_id, box in edit.boxes.items():
        if layer_id not in state.selection:
            state.selection.append(layer_id)
            state.active = layer_id
        if state.motion_box(layer_id) != box:
            state.motion(layer_id).box, state.motion(layer_id).box_sized = box, False
            changed = True
    for layer_id in edit.removed:
        motion = state.motion_of(layer_id)
        if motion is not None and motion.box is not None:
            motion.box, motion.box_sized = None, False
            changed = True
    sent = {cv.widget_layer_id(b, poster, state.selection) for b in value.get("boxes") or []}
    relabel = None in sent or bool(edit.notes) or set(edit.boxes) - sent
    out: View = {}
    if changed:
        autosave(session)
        out.update(panel_view(session))
    if relabel:
        out.update(selection_view(session))
    elif changed:  # the layer's name is drawn beside its box: it follows the box
        out.update(canvas_view(session))
    if edit.notes:
        out["status"] = problem(" ".join(edit.notes))
    elif changed and state.active is not None:
        out["status"] = f"Motion box of {state.layer(state.active).name}: {state.motion_box(state.active).as_tuple()}."
    return out


@guarded
def apply_group_prompt(session: Session, prompt: str) -> View:
    """One prompt for all selected layers, animated together as a group."""
    state = session.state
    require_poster(state)
    prompt = check_prompt((prompt or "").strip())
    if len(state.selection) < 2:
        raise PosterError("Select two or more layers to give them one shared prompt.")
    if not prompt:
        raise PosterError("Type the shared motion prompt first, e.g. 'the letters wave one after another'.")
    group = "group-" + "-".join(map(str, sorted(state.selection)))
    for layer_id in state.selection:
        motion = state.motion(layer_id)
        motion.prompt, motion.group = prompt, group
        store_params(motion, {})
        store_params(motion, resolve(state.layer(layer_id), motion, state.poster.canvas).values)
    autosave(session)
    view = panel_view(session)
    view["status"] = ok(f"{len(state.selection)} layers share the prompt “{prompt}” and animate as a group.")
    return view


@guarded
def set_timeline(session: Session, fps: Any, duration_s: Any) -> View:
    state = session.state
    try:
        fps_i, duration = int(fps), float(duration_s)
    except (TypeError, ValueError):
        raise PosterError("Frames per second and duration must be numbers.") from None
    limits = work_limits()
    if not 1 <= fps_i <= limits.max_fps:
        raise PosterError(f"Frames per second must be between 1 and {limits.max_fps}.")
    if not (math.isfinite(duration) and 0.1 <= duration <= limits.max_seconds):
        raise PosterError(f"The duration must be between 0.1 and {limits.max_seconds:g} seconds.")
    state.timeline = Timeline(fps=fps_i, frames=frames_for(fps_i, duration))
    autosave(session)
    then = " The preview follows." if live.stale_layers(state) else " Animate again to apply."
    return {"tracks": tracks_value(state),
            "status": f"Timeline: {state.frames} frames at {fps_i} fps ({duration:g} s).{then}"}


@guarded
def plan(session: Session) -> View:
    """Fill motion boxes (and presets) from the prompts with the Dynamic Region Planner."""
    from engine.planning import plan as plan_requests

    state = session.state
    poster = require_poster(state)
    candidates = state.selection or [i for m in state.motions for i in m.layer_ids if state.has_motion(i)]
    requests: list[tuple[list[int], str]] = []
    seen_groups: set[str] = set()
    for layer_id in candidates:
        motion = state.motion(layer_id)
        if not motion.prompt:
            continue
        if motion.group:
            if motion.group in seen_groups:
                continue
            seen_groups.add(motion.group)
            ids = state.group_members(motion.group)
        else:
            ids = [layer_id]
        requests.append((ids, motion.prompt))
    if not requests:
        raise PosterError("Type a motion prompt for the selected layers first; the planner plans from prompts.")
    plans = plan_requests(poster, requests)
    for result in plans:
        for layer_id, box in result.layer_boxes.items():
            layer = state.layer(layer_id)
            motion = state.motion(layer_id)
            motion.box, motion.box_sized = cv.fit_motion_box(box, layer.box, poster.canvas), False
            if motion.engine == "presets" and result.steps:  # a sequence or two at once: the prompt plays them
                store_params(motion, {"preset": "auto"})
            elif motion.engine == "presets":  # a plan's preset is for the preset engine only
                store_params(motion, {"preset": result.preset, **(result.params or {})})
            motion.rationale, motion.planned_by = result.rationale, result.source
    autosave(session)
    view = selection_view(session)
    sources = sorted({p.source for p in plans})
    who = " and ".join({"llm": "the LLM planner", "heuristic": "the offline heuristic"}.get(s, s) for s in sources)
    count = sum(len(p.layer_boxes) for p in plans)
    view["status"] = ok(f"Planned {count} motion box{'es' if count > 1 else ''} with {who}; drag them to adjust.")
    notes = [md_text(p.message) for p in plans if p.message]  # they quote layer names and the LLM
    if notes:
        view["status"] += " " + " ".join(dict.fromkeys(notes))
    return view


def plan_with(session: Session, layer_id: int | None, fields: MotionFields) -> View:
    """The Plan button: take the panel's current prompt first, then plan."""
    view: View = {}
    if layer_id is not None and session.state.poster is not None:
        view.update(edit_motion(session, layer_id, fields, only=TYPED_FIELDS))
        if view.get("error"):
            return view
    view.update(plan(session))
    return view


def run_action(session: Session, action: str, layer_id: int | None, fps: Any, duration_s: Any,
               fields: MotionFields, report: Report = quiet) -> View:
    """A button press from the page: take the panel's current values, then act.

    The panel's values travel with the click, so a prompt typed a moment ago is used even
    if its own edit event has not been handled yet; they are stored under the same lock
    hold that reads the requests, so a queued edit of an older keystroke cannot replace
    them in between (see animating._animate).
    """

    def prepare() -> View:
        view: View = {}
        if session.state.poster is None:
            return view
        state = session.state
        if (int(fps), frames_for(int(fps), float(duration_s))) != (state.fps, state.frames):
            view.update(set_timeline(session, fps, duration_s))
            if view.get("error"):
                return view
        if layer_id is not None:
            view.update(edit_motion(session, layer_id, fields, only=TYPED_FIELDS))
        return view

    if action == "reroll":
        return animating.reroll(session, layer_id, report, prepare=prepare)
    return animating.animate(session, "all" if action == "animate_all" else "selected", report, prepare=prepare)
