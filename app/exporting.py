"""Downloads: every export format of the engine, and project files to save and reopen.

Files are written into the session's own exports folder under names the server makes
up from the poster name, so nothing the browser sends ever becomes a path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

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
    return [(f.label, f.key) for f in export_formats()]


def size_choices() -> list[tuple[str, str]]:
    """The engine's size table; a custom W×H is typed into the same field."""
    from engine.export.options import CUSTOM, SIZES

    return [(s.label, s.key) for s in SIZES if s.key != CUSTOM]


def quality_choices() -> list[tuple[str, str]]:
    from engine.export.options import QUALITIES

    return [(q.label, q.key) for q in QUALITIES if q.offered]


def export_options(size: str | None, quality: str | None, fps: float | None, plays: float | None):
    """The panel's fields as the engine's ExportOptions (PosterError for a bad one)."""
    from engine.export.options import DEFAULT_QUALITY, ExportOptions, parse_size

    key, custom = parse_size(size or "original")
    fps = None if fps in (None, "", 0) else float(fps)
    if plays is not None and float(plays) != int(float(plays)):
        raise PosterError(f"Plays is a whole number of times (0 = forever); got {plays}.")
    return ExportOptions(size=key, custom=custom, quality=quality or DEFAULT_QUALITY, fps=fps,
                         plays=int(float(plays or 0)))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:60] or "poster"


def _chosen(fmt: str | Sequence[str] | None) -> list:
    keys = [fmt] if isinstance(fmt, str) else list(fmt or [])
    formats = export_formats()
    if ALL in keys:
        return list(formats)
    if not keys:
        raise PosterError("Pick at least one format to export.")
    by_key = {f.key: f for f in formats}
    unknown = [key for key in keys if key not in by_key]
    if unknown:
        raise PosterError(f"'{unknown[0]}' is not an export format; pick one from the list.")
    return [by_key[key] for key in dict.fromkeys(keys)]


def _poster_and_clips(session: Session) -> tuple[Any, dict, float, int]:
    with session.lock:
        state = session.state
        if state.poster is None:
            raise PosterError("Open a poster first.")
        if not state.clips:
            raise PosterError("Nothing is animated yet: press ▶ Animate first, then export.")
        poster, fps, count = state.poster, state.fps, state.frames
        clips = {layer.id: state.clips[layer.id] for layer in poster.layers if layer.id in state.clips}
    return poster, clips, fps, count


@guarded(lock=False)
def export(session: Session, fmt: str | Sequence[str], report: Report = quiet, options=None) -> View:
    """Write the chosen formats of the full-resolution poster from one render.

    Frames are composited once and streamed to every format's encoder at once
    (engine.export.fanout): a few frames in memory, however big the poster or how many formats.
    """
    from engine.export import ExportOptions, export_many
    from engine.export.estimate import describe_bytes
    from engine.render.compositor import poster_stream

    chosen = _chosen(fmt)
    options = options or ExportOptions()
    poster, clips, fps, count = _poster_and_clips(session)
    options.output_fps(fps)  # a rate above the animation's is refused before anything is drawn
    frames = poster_stream(poster, list(clips.values()), count, fps=fps)
    folder = session.dir("exports")
    targets = [(folder / f.file_name(_slug(poster.name)), f) for f in chosen]
    label = ", ".join(f.key.upper() for f in chosen) if len(chosen) > 1 else chosen[0].label
    progress = lambda done, total: report(0.05 + 0.95 * done / max(total, 1), f"Writing {label}")  # noqa: E731
    report(0.05, f"Writing {label}")
    written = export_many(targets, frames, fps, options=options, poster=poster, clips=clips, progress=progress)
    report(1.0, "Done")
    names = ", ".join(f"{p.name} ({describe_bytes(p.stat().st_size)})" for p in written)
    kept = any(f.layered for f in chosen) and (options.size != "original" or options.output_fps(fps) != fps)
    note = " The layered bundle keeps the poster's own size and frame rate." if kept else ""
    return {"exports": export_files(session, first=written),
            "status": ok(f"Exported {names}: download below.{note}")}


@guarded(lock=False)
def estimate(session: Session, fmt: str | Sequence[str], options=None) -> View:
    """The GIF's size before it is written, from a short encoded sample (engine.export.estimate)."""
    from engine.export import ExportOptions
    from engine.export.estimate import SAMPLE_FRAMES, describe_bytes, estimate_gif_bytes
    from engine.render.compositor import poster_stream

    if "gif" not in [f.key for f in _chosen(fmt)]:
        return {"export_note": ""}
    options = options or ExportOptions()
    poster, clips, fps, count = _poster_and_clips(session)
    size = estimate_gif_bytes(poster_stream(poster, list(clips.values()), count, fps=fps), fps, options)
    return {"export_note": f"GIF: about {describe_bytes(size)} (estimated from {SAMPLE_FRAMES} encoded frames)"}


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
