"""Downloads: every export format of the engine, and project files to save and reopen.

Files are written into the session's own exports folder under names the server makes
up from the poster name, so nothing the browser sends ever becomes a path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.handlers import clear_previews
from app.persist import autosave, save_clip
from app.replies import Report, View, guarded, ok, quiet
from app.views import export_files, full_view
from app.session import Session
from app.state import AUTO_PRESET, EditorState, LayerMotion
from engine.core.poster import PosterError
from engine.core.project import PROJECT_SUFFIX


ALL = "all"
DEFAULT_FORMAT = "mp4"


def export_formats():
    """The engine's one format table, less what a browser cannot download (a folder)."""
    from engine.export.formats import FORMATS

    return [f for f in FORMATS if f.download]


def format_choices() -> list[tuple[str, str]]:
    return [(f.label, f.key) for f in export_formats()] + [("Every format at once", ALL)]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:60] or "poster"


@guarded(lock=False)
def export(session: Session, fmt: str, report: Report = quiet) -> View:
    """Write the chosen format(s) of the full-resolution poster, composited as it is written."""
    from engine.render.compositor import poster_stream
    from engine.export import export as write

    with session.lock:
        state = session.state
        if state.poster is None:
            raise PosterError("Open a poster first.")
        if not state.clips:
            raise PosterError("Nothing is animated yet: press ▶ Animate first, then export.")
        formats = export_formats()
        chosen = list(formats) if fmt == ALL else [f for f in formats if f.key == fmt]
        if not chosen:
            raise PosterError(f"'{fmt}' is not an export format; pick one from the list.")
        poster, fps, count = state.poster, state.fps, state.frames
        clips = {layer.id: state.clips[layer.id] for layer in poster.layers if layer.id in state.clips}
    # Frames are composited as each format writes them (a few frames in memory, however
    # big the poster); the stream keeps its per-frame plan between formats.
    frames = poster_stream(poster, list(clips.values()), count, fps=fps)
    folder = session.dir("exports")
    written: list[Path] = []
    for index, export_format in enumerate(chosen):
        path = folder / export_format.file_name(_slug(poster.name))
        base = 0.1 + 0.9 * index / len(chosen)
        step = 0.9 / len(chosen)
        progress = lambda done, total, b=base, s=step, f=export_format: report(  # noqa: E731
            b + s * done / max(total, 1), f"Writing {f.label}")
        extra: dict[str, Any] = {"poster": poster, "clips": clips} if export_format.layered else {}
        written.append(write(path, frames, fps, format=export_format.key, progress=progress, **extra))
    report(1.0, "Done")
    names = ", ".join(p.name for p in written)
    return {"exports": export_files(session, first=written), "status": ok(f"Exported {names}: download below.")}


# --------------------------------------------------------------------------- projects


def to_project(state: EditorState):
    """The editor state as an engine Project (one Motion per layer; groups share a name)."""
    from engine.core.project import Motion, Project, Timeline

    motions = [
        Motion(layer_ids=[layer_id], engine=m.engine, prompt=m.prompt,
               preset=None if m.preset == AUTO_PRESET else m.preset, params=dict(m.params), box=m.box,
               seed=m.seed, start_offset=m.start_offset, group=m.group)
        for layer_id, m in state.motions.items()
        if m.prompt or m.preset != AUTO_PRESET or m.box is not None
    ]
    return Project(poster=state.poster, timeline=Timeline(fps=state.fps, frames=state.frames),
                   motions=motions, clips=dict(state.clips), source=state.source_name)


def from_project(project) -> EditorState:
    """An editor state from an engine Project (group motions give each member the settings)."""
    timeline = project.timeline
    state = EditorState(poster=project.poster, source_name=project.source or "",
                        fps=timeline.fps, duration_s=round(timeline.frames / timeline.fps, 3))
    for motion in project.motions:
        for layer_id in motion.layer_ids:
            state.motions[layer_id] = LayerMotion(
                engine=motion.engine, prompt=motion.prompt, preset=motion.preset or AUTO_PRESET,
                params=dict(motion.params), box=motion.box, seed=motion.seed,
                start_offset=motion.start_offset, group=motion.group)
    state.clips = dict(project.clips)
    state.notices = list(project.poster.unsupported)
    return state


@guarded
def save_project(session: Session) -> View:
    from engine.core.project import save_project as save

    state = session.state
    if state.poster is None:
        raise PosterError("Open a poster first; there is nothing to save yet.")
    path = save(to_project(state), session.dir("exports") / f"{_slug(state.poster.name)}{PROJECT_SUFFIX}")
    return {"project_file": str(path), "status": ok(f"Saved {path.name}: download it to keep your work.")}


@guarded
def open_project(session: Session, uploaded: str | None) -> View:
    """Open a saved project file; it replaces the current poster only once it loaded."""
    from engine.core.project import load_project

    if not uploaded:
        raise PosterError("No file arrived: choose a project file (.posterproj) to open.")
    stored = session.adopt_upload(uploaded, Path(uploaded).name)
    state = from_project(load_project(stored))
    state.source_name = f"project:{stored.name}"
    state.revision = session.state.revision + 1
    session.state = state
    clear_previews(session)
    for clip in state.clips.values():
        save_clip(session, clip)
    autosave(session)
    return full_view(session, ok(f"Opened the project {stored.name}."))
