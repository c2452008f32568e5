"""The panels of the page, built from a session's state (no changes made here).

Handlers call these to say what the page should now show; each returns part of a View.
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from app import canvas as cv
from app.links import follows_label, link_note
from app.motion_panel import fields_of, prompt_reading
from app.replies import View
from app.session import Session
from app.state import AUTO_PRESET, EditorState
from app.timeline import tracks_value
from engine.core.project import Motion

REPO_ROOT = Path(__file__).resolve().parents[1]


SAMPLES_DIR = REPO_ROOT / "assets" / "samples"


def samples() -> list[str]:
    """The bundled sample posters, by file name."""
    return sorted(p.name for p in SAMPLES_DIR.glob("*.psd"))


#: What the sample picker calls a poster that is not a sample, by the source's kind.
SOURCE_KINDS = {"upload": "uploaded PSD", "project": "opened project"}


def sample_picker(state: EditorState) -> tuple[list, str | None]:
    """The sample picker's choices and value: the open sample, or an entry naming the open
    upload or project ("ocean.pamproj — opened project"), never blank while a poster is open.

    The entry's value is the state's source ("project:ocean.pamproj"): picking it again
    changes nothing (`handlers.open_sample`)."""
    names: list = list(samples())
    kind, _, name = state.source_name.partition(":")
    if kind == "sample" and name in names:
        return names, name
    if state.poster is None:
        return names, None
    label = f"{name or state.poster.name} — {SOURCE_KINDS.get(kind, 'open poster')}"
    return [(label, state.source_name or label), *((n, n) for n in names)], state.source_name or label


def engines_view() -> dict[str, tuple[bool, str]]:
    from engine.motion import available_engines

    return available_engines()


def planner_line() -> str:
    """Which planner will plan boxes, as one line for the header."""
    from engine.planning import planner_status

    _name, sentence = planner_status()
    return f"**Planner:** {sentence}"


def full_view(session: Session, status: str | None = None) -> View:
    """Every panel, for page load and for opening a poster."""
    state = session.state
    view: View = {
        "engines": engines_view(),
        "planner": planner_line(),
        "timeline": (state.fps, state.duration_s),
        "tracks": tracks_value(state),
        "samples": sample_picker(state),
        "tab": "boxes",
    }
    if state.poster is None:
        view["status"] = status or "Open a PSD or pick a sample poster to start."
        return view
    view.update(poster_view(session))
    view.update(selection_view(session))
    view["preview"] = latest_video(session, "preview")
    view["layer_preview"] = None
    view["exports"] = export_files(session)  # a reload shows what was exported before
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
        count = len(state.notices)
        title = "One thing" if count == 1 else f"{count} things"
        notice = f"**{title} in this PSD cannot be reproduced exactly:**\n\n" + "\n".join(f"- {n}" for n in state.notices)
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
    if layer.unsupported:
        parts.append("⚠ not exact")
    return " · ".join(parts)


def layer_choice_label(layer, follows: str = "") -> str:
    """"Title / Title Shadow — pixel ↳ follows Title": `follows` from app.links.follows_label."""
    hidden = " (hidden)" if not layer.visible else ""
    group = f"{layer.group} / " if layer.group else ""
    return f"{group}{layer.name} — {layer.kind.value.replace('_', ' ')}{hidden}{follows}"


def selection_view(session: Session) -> View:
    """Layer list, canvas, and motion panel for the current selection and active layer."""
    state = session.state
    poster = state.poster
    assert poster is not None
    view: View = {
        "layers": ([(layer_choice_label(layer, follows_label(state, layer.id)), layer.id)
                    for layer in poster.layers[::-1]], list(state.selection)),
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
    link = link_note(state, state.active)
    if state.active is None:
        return {"motion": None, "specs": [], "preset_note": "Select a layer to give it motion.", "box": None,
                "link": link, "tracks": tracks_value(state)}
    layer = state.layer(state.active)
    motion = state.motion_of(state.active) or Motion(layer_ids=[state.active])
    fields, specs = fields_of(layer, motion, state.fps, state.frames, state.poster.canvas)
    box = state.motion_box(state.active)
    if motion.engine == "presets":
        preset, picked, reading = prompt_reading(layer, motion, state.poster.canvas)
        note = f"Preset in use: **{preset}**"
        if motion.preset == AUTO_PRESET and not motion.prompt.strip():
            note += " (the default until you type a prompt)"
        elif motion.preset == AUTO_PRESET and picked:
            note += " (picked from the prompt)"
        if motion.prompt.strip() and reading:
            note += " · " + " ".join(reading)
    else:
        from engine.motion.registry import engine_label

        note = f"Engine: **{engine_label(motion.engine)}**; it reads the prompt as it is"
    if motion.group:
        members = [state.layer(i).name for i in state.group_members(motion.group)]
        note += f" · animated as a group with {', '.join(members)}"
    return {"motion": fields, "specs": specs, "preset_note": note, "box": box.as_tuple(), "link": link,
            "tracks": tracks_value(state)}


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def md_text(text: str) -> str:
    """`text` (a layer name, an LLM's sentence) shown as itself in Markdown: no links,
    no emphasis, no HTML, whatever the PSD's author or the model wrote."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def plans_markdown(state: EditorState) -> str:
    """The planner's reasons for the selected layers' boxes (other layers' would linger
    beside a canvas that no longer shows them)."""
    rows = []
    selected = set(state.selection)
    for motion in state.motions:
        if motion.rationale and selected.intersection(motion.layer_ids):
            who = {"llm": "LLM planner", "heuristic": "offline heuristic"}.get(motion.planned_by, motion.planned_by)
            rows.extend(f"- **{md_text(state.layer(i).name)}** ({who}): {md_text(motion.rationale)}"
                        for i in motion.layer_ids if i in selected)
    return "\n".join(rows)


def _static_composite(state: EditorState) -> np.ndarray:
    """The poster without motion, rendered once per opened poster."""
    from engine.render.compositor import render_static

    if state.static_rgba is None:
        state.static_rgba = render_static(state.poster)
    return state.static_rgba


def _overview_file(session: Session) -> Path:
    """The canvas picture (poster + the selected layers' names and trails), cached by what it shows."""
    state = session.state
    poster = state.poster
    assert poster is not None
    boxes = {layer_id: state.motion_box(layer_id) for layer_id in state.selection}
    trails = {layer_id: cv.trail_points(state.clips[layer_id]) for layer_id in state.selection
              if layer_id in state.clips}
    shown = repr((state.revision, list(state.selection), sorted(boxes.items()), sorted(trails.items())))
    key = f"canvas-{state.revision}-{hashlib.sha1(shown.encode()).hexdigest()[:16]}.png"
    path = session.dir("work") / key
    if not path.exists():
        # Older pictures may still be on their way to the page (Gradio copies a reply's
        # files after the handler returns): only those a minute old are removed.
        for old in session.dir("work").glob("canvas-*.png"):
            if time.time() - old.stat().st_mtime > 60:
                old.unlink(missing_ok=True)
        static = _static_composite(state)
        image = cv.overview_image(static, poster, cv.CanvasView.for_poster(poster), state.selection, boxes, trails)
        from PIL import Image

        Image.fromarray(image).save(path, optimize=False, compress_level=1)
    return path


def export_files(session: Session, first: Sequence[Path] = ()) -> list[str]:
    """Downloads of this session: `first` (the export just made), then the rest, newest first."""
    others = sorted((p for p in session.dir("exports").iterdir()
                     if p.is_file() and p not in first and not p.name.startswith(".")),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    return [str(p) for p in [*first, *others]]


def latest_video(session: Session, stem: str) -> str | None:
    takes = sorted((session.folder / "work").glob(f"{stem}-*.mp4"))
    return str(takes[-1]) if takes else None
