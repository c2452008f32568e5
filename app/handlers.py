"""Everything the editor does, as plain functions over a Session.

Each handler takes the session and the values the page sent, changes the session's
EditorState, and returns a `View`: a dict naming only the panels that changed (keys in
VIEW_KEYS). app/ui.py turns that dict into component updates; tests call these
functions directly. A handler never raises to the page: designer mistakes and engine
failures come back as a message in "status", and the state is left as it was.
"""

from __future__ import annotations

import functools
import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from app import canvas as cv
from app.motion_panel import MotionFields, apply_fields, fields_of, resolve
from app.session import Session
from app.state import AUTO_PRESET, EditorState, LayerMotion
from engine.motion.base import LayerClip, MotionRequest
from engine.poster import Box, Poster, PosterError

log = logging.getLogger(__name__)

View = dict[str, Any]
Report = Callable[[float, str], None]

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = REPO_ROOT / "assets" / "samples"
PREVIEW_MAX_SIDE = 960  # previews are for the eye; exports keep full resolution

VIEW_KEYS: tuple[str, ...] = (
    "status", "notice", "poster_title", "samples", "gallery", "layers", "active",
    "motion", "params_shown", "preset_note", "box", "canvas", "pick", "plans", "planner",
    "engines", "preview", "layer_preview", "timeline", "exports", "project_file", "tab",
)


def _quiet(_fraction: float, _desc: str = "") -> None:
    return None


# --------------------------------------------------------------------------- messages


def ok(text: str) -> str:
    return f"✓ {text}"


def problem(text: str) -> str:
    return f"⚠ {text}"


def guarded(handler: Callable[..., View] | None = None, *, lock: bool = True):
    """Turn any failure into a message for the page and keep the designer's work.

    PosterError messages are written for designers and shown as they are. Anything else
    is a bug or an engine crash: logged with its traceback for us, summarised for them.
    With lock=True the whole handler runs under the session lock; long handlers pass
    lock=False and lock only around their reads and writes of the state.
    """
    if handler is None:
        return functools.partial(guarded, lock=lock)

    @functools.wraps(handler)
    def wrapper(session: Session, *args: Any, **kwargs: Any) -> View:
        try:
            if lock:
                with session.lock:
                    return handler(session, *args, **kwargs)
            return handler(session, *args, **kwargs)
        except PosterError as error:
            return {"status": problem(str(error)), "error": True}
        except Exception as error:  # noqa: BLE001 - the page must get a sentence, not a 500
            log.error("handler %s failed:\n%s", handler.__name__, traceback.format_exc())
            return {"status": problem(
                f"Something went wrong ({type(error).__name__}: {error}). Your work is kept; "
                "try again, and if it repeats, save the project and report it."
            ), "error": True}

    return wrapper


# --------------------------------------------------------------------------- views


def samples() -> list[str]:
    """The bundled sample posters, by file name."""
    return sorted(p.name for p in SAMPLES_DIR.glob("*.psd"))


def engines_view() -> dict[str, tuple[bool, str]]:
    from engine.motion import available_engines

    return available_engines()


def planner_line() -> str:
    """Which planner will plan boxes, as one line for the header."""
    from engine.planner import planner_status

    _name, sentence = planner_status()
    return f"**Planner:** {sentence}"


def full_view(session: Session, status: str | None = None) -> View:
    """Every panel, for page load and for opening a poster."""
    state = session.state
    view: View = {
        "engines": engines_view(),
        "planner": planner_line(),
        "timeline": (state.fps, state.duration_s),
        "samples": (samples(), state.source_name.partition(":")[2] if state.source_name.startswith("sample:") else None),
        "tab": "boxes",
    }
    if state.poster is None:
        view["status"] = status or "Open a PSD or pick a sample poster to start."
        return view
    view.update(poster_view(session))
    view.update(selection_view(session))
    view["preview"] = latest_video(session, "preview")
    view["layer_preview"] = None
    view["exports"] = []
    if status is not None:
        view["status"] = status
    return view


def poster_view(session: Session) -> View:
    """The panels that depend only on which poster is open."""
    state = session.state
    poster = state.poster
    assert poster is not None
    notice = ""
    if state.notices:
        notice = "**Not everything in this PSD can be reproduced:**\n\n" + "\n".join(f"- {n}" for n in state.notices)
    return {
        "poster_title": f"{poster.name} · {poster.width}×{poster.height} px · {len(poster.layers)} layers",
        "notice": notice,
        "gallery": [(cv.thumbnail(layer), layer_caption(layer)) for layer in poster.layers[::-1]],
    }


def layer_caption(layer) -> str:
    parts = [layer.name, layer.kind.value.replace("_", " ")]
    if layer.group:
        parts.append(layer.group)
    if not layer.visible:
        parts.append("hidden")
    return " · ".join(parts)


def layer_choice_label(layer) -> str:
    hidden = " (hidden)" if not layer.visible else ""
    group = f"{layer.group} / " if layer.group else ""
    return f"{group}{layer.name} — {layer.kind.value.replace('_', ' ')}{hidden}"


def selection_view(session: Session) -> View:
    """Layer list, canvas, and motion panel for the current selection and active layer."""
    state = session.state
    poster = state.poster
    assert poster is not None
    view: View = {
        "layers": ([(layer_choice_label(layer), layer.id) for layer in poster.layers[::-1]], list(state.selection)),
        "active": ([(poster.layer(i).name, i) for i in state.selection], state.active),
    }
    view.update(canvas_view(session))
    view.update(panel_view(session))
    view["plans"] = plans_markdown(state)
    return view


def canvas_view(session: Session) -> View:
    state = session.state
    poster = state.poster
    assert poster is not None
    image = _overview_file(session)
    boxes = {layer_id: state.motion_box(layer_id) for layer_id in state.selection}
    view = cv.CanvasView.for_poster(poster)
    return {"canvas": cv.annotation_value(str(image), poster, view, boxes), "pick": str(image)}


def panel_view(session: Session) -> View:
    """The motion panel filled for the active layer (empty and disabled without one)."""
    state = session.state
    if state.active is None:
        return {"motion": None, "params_shown": set(), "preset_note": "Select a layer to give it motion.", "box": None}
    layer = state.layer(state.active)
    motion = state.motion(state.active)
    fields, effective, declared = fields_of(layer, motion, state.fps)
    box = state.motion_box(state.active)
    note = f"Preset in use: **{effective}**"
    if motion.preset == AUTO_PRESET:
        note += " (picked from the prompt)"
    if motion.group:
        members = [state.layer(i).name for i, m in state.motions.items() if m.group == motion.group]
        note += f" · animated as a group with {', '.join(members)}"
    return {"motion": fields, "params_shown": declared, "preset_note": note, "box": box.as_tuple()}


def plans_markdown(state: EditorState) -> str:
    rows = []
    for layer_id, motion in state.motions.items():
        if motion.rationale:
            who = {"llm": "LLM planner", "heuristic": "offline heuristic"}.get(motion.planned_by, motion.planned_by)
            rows.append(f"- **{state.layer(layer_id).name}** ({who}): {motion.rationale}")
    return "\n".join(rows)


def _static_composite(state: EditorState) -> np.ndarray:
    """The poster without motion, rendered once per opened poster."""
    from engine.compositor import render_static

    if state.static_rgba is None:
        state.static_rgba = render_static(state.poster)
    return state.static_rgba


def _overview_file(session: Session) -> Path:
    """The canvas picture (poster + layer outlines), cached per state revision."""
    state = session.state
    poster = state.poster
    assert poster is not None
    key = f"canvas-{state.revision}-{'-'.join(map(str, sorted(state.selection)))}.png"
    path = session.dir("work") / key
    if not path.exists():
        for old in session.dir("work").glob("canvas-*.png"):
            old.unlink(missing_ok=True)
        static = _static_composite(state)
        image = cv.overview_image(static, poster, cv.CanvasView.for_poster(poster), state.selection)
        from PIL import Image

        Image.fromarray(image).save(path, optimize=False, compress_level=1)
    return path


# --------------------------------------------------------------------------- opening


DEFAULT_SAMPLE_HINT = "Select a layer (list or “Pick layers”), describe its motion, press ▶ Animate."


def start(session: Session, restored: bool) -> View:
    """Page load: the session's work if there is any, else the first sample poster."""
    with session.lock:
        if session.state.poster is not None:
            what = "Restored your work" if restored else "Welcome back"
            return full_view(session, ok(f"{what}: {session.state.poster.name}. {DEFAULT_SAMPLE_HINT}"))
        names = samples()
        if not names:
            return full_view(session)
        view = open_sample(session, names[0])
    if view.get("error"):
        return view
    view["status"] = ok(f"Opened the sample poster {names[0]}. {DEFAULT_SAMPLE_HINT}")
    return view


def load_poster(session: Session, path: Path, source: str, keep_previews: bool = False) -> None:
    """Import a PSD into the session (replaces the previous poster, keeps nothing stale)."""
    from engine import load_psd

    poster = load_psd(path)
    state = session.state
    new = EditorState(poster=poster, source_name=source, fps=state.fps, duration_s=state.duration_s)
    new.notices = list(poster.unsupported) + [
        f"{layer.name}: {feature}" for layer in poster.layers for feature in layer.unsupported
    ]
    new.revision = state.revision + 1
    session.state = new
    if not keep_previews:
        clear_previews(session)


def clear_previews(session: Session) -> None:
    """Previews belong to the poster they were made from; a new poster starts without."""
    for stale in session.dir("work").glob("*.mp4"):
        stale.unlink(missing_ok=True)


@guarded
def open_sample(session: Session, name: str) -> View:
    if name not in samples():
        raise PosterError(f"There is no sample poster called '{name}'. Pick one from the list.")
    load_poster(session, SAMPLES_DIR / name, f"sample:{name}")
    view = full_view(session, ok(f"Opened the sample poster {name}."))
    view["samples"] = (samples(), name)
    return view


@guarded
def open_psd(session: Session, uploaded: str | None, original_name: str | None = None) -> View:
    if not uploaded:
        raise PosterError("No file arrived: choose a .psd or .psb file to upload.")
    name = original_name or Path(uploaded).name
    if Path(name).suffix.lower() not in {".psd", ".psb"}:
        raise PosterError(f"'{Path(name).name}' is not a Photoshop file: upload a .psd or .psb poster.")
    stored = session.adopt_upload(uploaded, name)
    load_poster(session, stored, f"upload:{stored.name}")
    return full_view(session, ok(f"Opened {stored.name}."))


# --------------------------------------------------------------------------- selection


def _require_poster(state: EditorState) -> Poster:
    if state.poster is None:
        raise PosterError("Open a poster first.")
    return state.poster


def _select(session: Session, ids: Iterable[int], active: int | None = None) -> View:
    state = session.state
    poster = _require_poster(state)
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
    return selection_view(session)


@guarded
def set_selection(session: Session, ids: Sequence[int] | None) -> View:
    """The layer list's checkboxes; a layer just ticked becomes the one being edited."""
    ids = [int(i) for i in ids or []]
    added = [i for i in ids if i not in session.state.selection]
    return _select(session, ids, active=added[-1] if added else None)


@guarded
def toggle_layer(session: Session, layer_id: int | None) -> View:
    """Add a layer to the selection or take it out (gallery click, canvas click)."""
    return _toggle(session, layer_id)


def _toggle(session: Session, layer_id: int | None) -> View:
    state = session.state
    _require_poster(state)
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
    poster = _require_poster(session.state)
    if index is None or not 0 <= int(index) < len(poster.layers):
        return {}
    return _toggle(session, poster.layers[::-1][int(index)].id)


@guarded
def pick_at(session: Session, x: float, y: float) -> View:
    """A click on the canvas picture (widget pixels) selects the layer under it."""
    poster = _require_poster(session.state)
    view = cv.CanvasView.for_poster(poster)
    hit = cv.layer_at(poster, int(x / view.scale), int(y / view.scale))
    return _toggle(session, hit)


@guarded
def set_active(session: Session, layer_id: int | None) -> View:
    state = session.state
    _require_poster(state)
    if layer_id is None or int(layer_id) not in state.selection:
        return {}
    state.active = int(layer_id)
    return panel_view(session)


# --------------------------------------------------------------------------- motion settings


@guarded
def edit_motion(session: Session, layer_id: int | None, fields: MotionFields, with_params: bool = True) -> View:
    """Store the panel's values for the layer they were typed for.

    The reply never rewrites the prompt or offset being typed (that would fight the
    keyboard); it refreshes the parameter widgets only when the prompt or preset reset them.
    """
    state = session.state
    _require_poster(state)
    if layer_id is None:
        raise PosterError("Select a layer first, then describe its motion.")
    _check_engine(fields.engine)
    layer = state.layer(int(layer_id))
    params_reset, notes = apply_fields(layer, state.motion(layer.id), fields, state.fps, with_params)
    _autosave(session)
    view: View = {}
    if int(layer_id) == state.active:
        panel = panel_view(session)
        view["preset_note"] = panel["preset_note"]
        if params_reset:
            view.update(motion=panel["motion"], params_shown=panel["params_shown"],
                        motion_keep=("engine", "prompt", "start_offset"))
    if notes:
        view["status"] = notes[0]
    return view


def _check_engine(name: str) -> None:
    engines = engines_view()
    if name not in engines:
        raise PosterError(f"There is no motion engine called '{name}'.")
    usable, reason = engines[name]
    if not usable:
        raise PosterError(f"The {name} engine is not available here: {reason}")


@guarded
def edit_box(session: Session, layer_id: int | None, x: Any, y: Any, w: Any, h: Any) -> View:
    """Motion box typed as numbers; fitted to the rules like a drawn one."""
    state = session.state
    poster = _require_poster(state)
    if layer_id is None:
        raise PosterError("Select a layer first, then set its motion box.")
    layer = state.layer(int(layer_id))
    asked = Box.from_any([x, y, w, h])
    fitted = cv.fit_motion_box(asked, layer.box, poster.canvas)
    state.motion(layer.id).box = fitted
    _autosave(session)
    view = canvas_view(session)
    view["box"] = fitted.as_tuple()
    view["status"] = ok(f"Motion box of {layer.name}: {fitted.as_tuple()}.") if fitted == asked else \
        problem(cv._fit_note(layer, asked, fitted, poster))
    return view


@guarded
def canvas_changed(session: Session, value: dict | None) -> View:
    """Boxes drawn, moved, resized or removed with the mouse."""
    state = session.state
    poster = _require_poster(state)
    if not value or not state.selection and not (value.get("boxes") or []):
        return {}
    view = cv.CanvasView.for_poster(poster)
    if cv.drawing_in_progress(value):
        return {}  # the widget reports a box the moment the mouse goes down; wait for the drag
    current = {layer_id: state.motion_box(layer_id) for layer_id in state.selection}
    edit = cv.read_annotation(value, poster, view, state.selection, state.active, current)
    changed = False
    for layer_id, box in edit.boxes.items():
        if layer_id not in state.selection:
            state.selection.append(layer_id)
            state.active = layer_id
        if state.motion_box(layer_id) != box:
            state.motion(layer_id).box = box
            changed = True
    for layer_id in edit.removed:
        motion = state.motions.get(layer_id)
        if motion is not None and motion.box is not None:
            motion.box = None
            changed = True
    sent = {cv.label_layer_id(b.get("label")) for b in value.get("boxes") or []}
    relabel = None in sent or bool(edit.notes) or set(edit.boxes) - sent
    out: View = {}
    if changed:
        _autosave(session)
        out.update(panel_view(session))
    if relabel:
        out.update(selection_view(session))
    if edit.notes:
        out["status"] = problem(" ".join(edit.notes))
    elif changed and state.active is not None:
        out["status"] = f"Motion box of {state.layer(state.active).name}: {state.motion_box(state.active).as_tuple()}."
    return out


@guarded
def apply_group_prompt(session: Session, prompt: str) -> View:
    """One prompt for all selected layers, animated together as a group."""
    state = session.state
    _require_poster(state)
    prompt = (prompt or "").strip()
    if len(state.selection) < 2:
        raise PosterError("Select two or more layers to give them one shared prompt.")
    if not prompt:
        raise PosterError("Type the shared motion prompt first, e.g. 'the letters wave one after another'.")
    group = "group-" + "-".join(map(str, sorted(state.selection)))
    for layer_id in state.selection:
        motion = state.motion(layer_id)
        motion.prompt, motion.preset, motion.group, motion.params = prompt, AUTO_PRESET, group, {}
        _, motion.params, _ = resolve(state.layer(layer_id), motion)
    _autosave(session)
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
    if not 1 <= fps_i <= 60:
        raise PosterError("Frames per second must be between 1 and 60.")
    if not 0.1 <= duration <= 30:
        raise PosterError("The duration must be between 0.1 and 30 seconds.")
    state.fps, state.duration_s = fps_i, duration
    _autosave(session)
    return {"status": f"Timeline: {state.frames} frames at {fps_i} fps ({duration:g} s). Animate again to apply."}


# --------------------------------------------------------------------------- planning


@guarded
def plan(session: Session) -> View:
    """Fill motion boxes (and presets) from the prompts with the Dynamic Region Planner."""
    from engine import plan_boxes

    state = session.state
    poster = _require_poster(state)
    candidates = state.selection or [i for i in state.motions if state.has_motion(i)]
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
            ids = [i for i, m in state.motions.items() if m.group == motion.group]
        else:
            ids = [layer_id]
        requests.append((ids, motion.prompt))
    if not requests:
        raise PosterError("Type a motion prompt for the selected layers first; the planner plans from prompts.")
    plans = plan_boxes(poster, requests)
    for result in plans:
        for layer_id, box in result.layer_boxes.items():
            layer = state.layer(layer_id)
            motion = state.motion(layer_id)
            motion.box = cv.fit_motion_box(box, layer.box, poster.canvas)
            motion.preset, motion.params = result.preset, dict(result.params or {})
            motion.rationale, motion.planned_by = result.rationale, result.source
    _autosave(session)
    view = selection_view(session)
    sources = sorted({p.source for p in plans})
    who = " and ".join({"llm": "the LLM planner", "heuristic": "the offline heuristic"}.get(s, s) for s in sources)
    count = sum(len(p.layer_boxes) for p in plans)
    view["status"] = ok(f"Planned {count} motion box{'es' if count > 1 else ''} with {who}; drag them to adjust.")
    notes = [p.message for p in plans if p.message]
    if notes:
        view["status"] += " " + " ".join(dict.fromkeys(notes))
    return view


def plan_with(session: Session, layer_id: int | None, fields: MotionFields) -> View:
    """The Plan button: take the panel's current prompt first, then plan."""
    view: View = {}
    if layer_id is not None and session.state.poster is not None:
        view.update(edit_motion(session, layer_id, fields, with_params=False))
        if view.get("error"):
            return view
    view.update(plan(session))
    return view


# --------------------------------------------------------------------------- animating


def _request(state: EditorState, layer_id: int) -> MotionRequest:
    layer = state.layer(layer_id)
    motion = state.motion(layer_id)
    preset, params, _ = resolve(layer, motion)
    return MotionRequest(
        layer=layer, box=state.motion_box(layer_id), prompt=motion.prompt, preset=preset,
        params=params, frames=state.frames, fps=state.fps, seed=motion.seed,
        start_offset=motion.start_offset,
    )


@dataclass
class Batch:
    """Layers one engine call animates: one layer, or a group under a shared prompt."""

    engine: str
    requests: list[MotionRequest]
    group_prompt: str | None = None


def _give_room(state: EditorState, ids: Sequence[int]) -> list[int]:
    """Layers nobody drew or planned a box for get one sized for their preset.

    A motion box equal to the layer leaves most motions no room (they shrink to fit), so
    a newcomer who only typed a prompt would see almost nothing move. Returns those ids.
    """
    from engine.planner import boxes_for_preset

    poster = state.poster
    sized = []
    for layer_id in ids:
        motion = state.motion(layer_id)
        if motion.box is not None:
            continue
        preset, params, _ = resolve(state.layer(layer_id), motion)
        box = boxes_for_preset(poster, [layer_id], preset, params)[layer_id]
        motion.box = cv.fit_motion_box(box, state.layer(layer_id).box, poster.canvas)
        sized.append(layer_id)
    return sized


def _batches(state: EditorState, ids: Sequence[int]) -> list[Batch]:
    batches: list[Batch] = []
    seen_groups: set[str] = set()
    for layer_id in ids:
        motion = state.motion(layer_id)
        if motion.group:
            if motion.group in seen_groups:
                continue
            seen_groups.add(motion.group)
            members = [i for i in state.motions if state.motions[i].group == motion.group and i in ids]
            batches.append(Batch(motion.engine, [_request(state, i) for i in members], motion.prompt))
        else:
            batches.append(Batch(motion.engine, [_request(state, layer_id)]))
    return batches


def _run(batches: Sequence[Batch], report: Report) -> tuple[list[LayerClip], list[str]]:
    """Call the engines; no session lock is held, so the rest of the page stays responsive."""
    from engine.motion import get_animator

    clips: list[LayerClip] = []
    total = sum(len(b.requests) for b in batches)
    for batch in batches:
        _check_engine(batch.engine)
        animator = get_animator(batch.engine)
        names = ", ".join(r.layer.name for r in batch.requests)
        report(0.05 + 0.7 * len(clips) / total, f"Animating {names}")
        if batch.group_prompt is not None:
            clips.extend(animator.animate_group(batch.requests, batch.group_prompt))
        else:
            clips.append(animator.animate(batch.requests[0]))
    notes = [message for clip in clips for message in clip.messages]
    return clips, list(dict.fromkeys(notes))


def _write_video(session: Session, stem: str, frames: np.ndarray, fps: int) -> str:
    """An MP4 under a fresh name (the page caches by name), older takes removed."""
    from engine.export import write_mp4

    work = session.dir("work")
    path = work / f"{stem}-{time.time_ns()}.mp4"
    write_mp4(path, frames, fps)
    for old in work.glob(f"{stem}-*.mp4"):
        if old != path:
            old.unlink(missing_ok=True)
    return str(path)


def latest_video(session: Session, stem: str) -> str | None:
    takes = sorted((session.folder / "work").glob(f"{stem}-*.mp4"))
    return str(takes[-1]) if takes else None


def _shrink(frames: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale (F, H, W, C) frames so the longer side is at most `max_side`."""
    height, width = frames.shape[1:3]
    scale = max_side / max(height, width)
    if scale >= 1:
        return frames
    from PIL import Image

    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    mode = "RGBA" if frames.shape[3] == 4 else "RGB"
    return np.stack([np.asarray(Image.fromarray(f, mode).resize(size, Image.Resampling.BILINEAR)) for f in frames])


def _layer_video(session: Session, clip: LayerClip, fps: int) -> str:
    return _write_video(session, "layer", cv.over_checkerboard(_shrink(clip.frames, PREVIEW_MAX_SIDE)), fps)


def _targets(state: EditorState, which: str) -> list[int]:
    if which == "all":
        ids = [layer.id for layer in state.poster.layers if state.has_motion(layer.id)]
        if not ids:
            raise PosterError("No layer has a motion yet: select a layer and type a prompt first.")
        return ids
    if not state.selection:
        raise PosterError("Select the layers to animate first (in the layer list or on the canvas).")
    return list(state.selection)


def _animate(session: Session, which: str, report: Report, reroll: int | None = None) -> View:
    """Animate, recomposite, preview; the session lock is held only to read and to commit."""
    from engine import render

    started = time.perf_counter()
    with session.lock:
        state = session.state
        _require_poster(state)
        ids = [reroll] if reroll is not None else _targets(state, which)
        if reroll is not None:
            state.motion(reroll).seed += 1
        # Clips made for another timeline would loop out of step: refresh them too.
        stale = [i for i, clip in state.clips.items() if clip.frame_count != state.frames and i not in ids]
        sized = _give_room(state, ids)
        batches = _batches(state, ids + stale)
        fps, frame_count = state.fps, state.frames
    clips, notes = _run(batches, report)
    with session.lock:
        if session.state is not state:
            raise PosterError("Another poster was opened while this one was animating; that result was dropped.")
        state.clips.update({clip.layer_id: clip for clip in clips})
        poster = state.poster
        ordered = [state.clips[layer.id] for layer in poster.layers if layer.id in state.clips]
    report(0.8, "Compositing the poster")
    frames = _shrink(render(poster, ordered, frame_count), PREVIEW_MAX_SIDE)
    report(0.9, "Encoding the preview")
    preview = _write_video(session, "preview", frames, fps)
    with session.lock:
        _save_clips(session, clips)
        _autosave(session)
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
    # The single-layer preview is made when its tab is opened: most takes never need it.
    view: View = {"preview": preview, "layer_preview": None, "status": status, "tab": "preview"}
    if sized:
        with session.lock:
            view.update(selection_view(session))
    return view


@guarded(lock=False)
def animate(session: Session, which: str = "selected", report: Report = _quiet) -> View:
    """Animate the selected layers (or "all" layers with a motion), recomposite, preview."""
    return _animate(session, which, report)


@guarded(lock=False)
def reroll(session: Session, layer_id: int | None, report: Report = _quiet) -> View:
    """A new take of one layer (next seed), leaving every other clip exactly as it was."""
    if layer_id is None:
        raise PosterError("Select the layer to re-roll first.")
    return _animate(session, "selected", report, reroll=int(layer_id))


def run_action(session: Session, action: str, layer_id: int | None, fps: Any, duration_s: Any,
               fields: MotionFields, report: Report = _quiet) -> View:
    """A button press from the page: take the panel's current values, then act.

    The panel's values travel with the click, so a prompt typed a moment ago is used even
    if its own change event has not been handled yet.
    """
    view: View = {}
    if session.state.poster is not None:
        state = session.state
        if (int(fps), float(duration_s)) != (state.fps, state.duration_s):
            view.update(set_timeline(session, fps, duration_s))
            if view.get("error"):
                return view
        if layer_id is not None:
            view.update(edit_motion(session, layer_id, fields, with_params=False))
            if view.get("error"):
                return view
    if action == "reroll":
        view.update(reroll(session, layer_id, report))
    else:
        view.update(animate(session, "all" if action == "animate_all" else "selected", report))
    return view


@guarded
def preview_layer(session: Session, layer_id: int | None) -> View:
    """One animated layer alone on a checkerboard, so its transparency is visible."""
    state = session.state
    _require_poster(state)
    if layer_id is None or int(layer_id) not in state.clips:
        raise PosterError("That layer has no animation yet: select an animated layer, or animate this one first.")
    name = state.layer(int(layer_id)).name
    return {"layer_preview": _layer_video(session, state.clips[int(layer_id)], state.fps), "tab": "layer",
            "status": f"{name} alone, over a checkerboard where it is transparent."}


# --------------------------------------------------------------------------- persistence


def _save_clips(session: Session, clips: Iterable[LayerClip]) -> None:
    from app.persist import save_clip

    for clip in clips:
        save_clip(session, clip)


def _autosave(session: Session) -> None:
    from app.persist import autosave

    autosave(session)
