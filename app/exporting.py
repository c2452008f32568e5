"""Downloads: every export format of the engine, and project files to save and reopen.

Files are written into the session's own exports folder under names the server makes
up from the poster name, so nothing the browser sends ever becomes a path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.live import adopt
from app.persist import autosave, commit_clip, state_for_project, store_clip
from app.replies import Report, View, guarded, ok, quiet
from app.session import Session
from app.views import export_files, full_view
from engine.core.poster import PosterError
from engine.core.projectfile import PROJECT_SUFFIX, load_project
from engine.core.projectfile import save_project as write_project


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


@guarded
def save_project(session: Session) -> View:
    """The session's project (the editor's own model) as one downloadable file."""
    state = session.state
    if state.project is None:
        raise PosterError("Open a poster first; there is nothing to save yet.")
    path = write_project(state.project, session.dir("exports") / f"{_slug(state.project.poster.name)}{PROJECT_SUFFIX}")
    return {"project_file": str(path), "status": ok(f"Saved {path.name}: download it to keep your work.")}


@guarded
def open_project(session: Session, uploaded: str | None) -> View:
    """Open a saved project file; it replaces the current poster only once it loaded."""
    if not uploaded:
        raise PosterError("No file arrived: choose a project file (.posterproj) to open.")
    staged = session.stage_upload(uploaded, Path(uploaded).name)
    try:
        project = load_project(staged.temp)  # every limit checked, in a capped child, before anything changes
    except BaseException:
        staged.discard()
        raise
    pending = []
    try:  # the clips are copied beside the autosave under private names first...
        for clip in project.clips.values():
            pending.append((clip, store_clip(session, clip)))
    except BaseException:
        for _, path in pending:
            path.unlink(missing_ok=True)
        staged.discard()
        raise
    stored = staged.keep()  # the clips keep reading the file they opened (POSIX keeps it)
    state = state_for_project(project, f"project:{stored.name}", session.state)
    # ...and only now, with everything read, does the session change.
    state.project.clips = {clip.layer_id: commit_clip(session, clip, path) for clip, path in pending}
    session.state = state
    session.clear_previews()
    autosave(session)
    return adopt(session, full_view(session, ok(f"Opened the project {stored.name}.")))  # its preview, from its clips
