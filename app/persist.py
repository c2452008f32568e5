"""Autosave and restore of a session, so a page reload (or a server restart) loses nothing.

Autosave runs after every edit, so it must be cheap: `editor.json` is the schema's
AutosaveManifest (the project without its pixels: it points at the PSD or project file
already kept in the session folder, or a bundled sample) plus one clip file per animated
layer (engine.core.clipstore: frames deflated one per member, written one at a time, read
back lazily), written only when that layer is animated, each take under a name of its own
and never rewritten, so the undo history (app.history, saved beside it on every autosave)
can point a layer back at an earlier take. The designer-facing "Save project" file
(engine.core.projectfile) is a separate, self-contained download; both go through one
schema (engine.core.schema), so they never disagree on what a motion is.

Restoring reads and validates everything into a new EditorState first and only then
replaces the session's state, so a damaged autosave never costs the work in memory.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from app import history
from app.session import AUTOSAVE_NAME, Session
from app.state import EditorState
from app.views import SAMPLES_DIR, samples
from engine.core import schema
from engine.core.clip import LayerClip, SequenceStep, Timing
from engine.core.clipstore import StoredSource, open_stored_clip, save_clip_file
from engine.core.poster import Poster, PosterError
from engine.core.project import Project
from engine.core.projectfile import ProjectLimits, check_clip_entry, checked, clip_entry, clip_from, load_project
from engine.psd.load import load_psd

MANIFEST = "editor.json"


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def clip_member(layer_id: int) -> str:
    """The autosave file holding a layer's clip frames (schema-1/2 autosaves: clip-<id>.npz)."""
    return f"clip-{int(layer_id)}.zip"


def clip_file(clip: LayerClip, folder: Path) -> str:
    """The autosave file holding `clip`: the take it was read from, or (a clip not read from
    this folder) the layer's own `clip_member`."""
    source = clip.source
    if isinstance(source, StoredSource) and source.path.parent == folder:
        return source.path.name
    return clip_member(clip.layer_id)


def manifest_of(state: EditorState, folder: Path) -> schema.AutosaveManifest:
    project = state.project
    assert project is not None
    return schema.AutosaveManifest(
        source=state.source_name, timeline=project.timeline, motions=project.motions,
        clips=[clip_entry(clip, clip_file(clip, folder)) for clip in project.clips.values()],
        selection=list(state.selection), active=state.active,
        links=project.links, unlinked=project.unlinked,
    )


def autosave(session: Session, *, record: bool = True, amend: bool = False) -> None:
    """Write editor.json and, `record`ing the edit that led here as an undo step, the history;
    clip files no longer named by either are deleted. Undo and redo pass record=False; work
    an edit made necessary (the live preview's re-render) passes amend=True: it joins that
    edit's step, so one Ctrl+Z takes back the setting and its re-rendered clip together."""
    state = session.state
    if state.project is None:
        return
    folder = session.dir(AUTOSAVE_NAME)
    manifest = manifest_of(state, folder)
    _write_atomic(folder / MANIFEST, schema.dump(manifest).encode())
    if record or state.history.empty:
        history.record(state, manifest, amend=amend and not state.history.empty)
    history.save(state.history, folder)
    history.prune_clip_files(folder, state.history, history.snapshot_of(manifest))


def save_clip(session: Session, clip: LayerClip) -> None:
    """The clip's frames, compressed and written one at a time; its settings go into
    editor.json with the next autosave."""
    save_clip_file(session.dir(AUTOSAVE_NAME) / clip_member(clip.layer_id), clip)


def store_clip(session: Session, clip: LayerClip) -> Path:
    """Write a new clip beside the autosave under a private name (no session lock needed:
    nothing else reads it until `commit_clip`)."""
    handle, temp = tempfile.mkstemp(dir=session.dir(AUTOSAVE_NAME), prefix=".pending-", suffix=".zip")
    os.close(handle)
    try:
        return save_clip_file(temp, clip)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def commit_clip(session: Session, clip: LayerClip, pending: Path) -> LayerClip:
    """Make a stored clip the layer's autosaved clip, and return it read from there.

    The returned clip reads its frames lazily from the file, so the session holds a frame
    or two per clip, not the videos, and each clip is rendered once. Each take gets a file
    of its own, never rewritten: the undo history may point the layer back at an older one
    (a file deleted later stays readable by clips already open on it: POSIX keeps it).
    """
    target = session.dir(AUTOSAVE_NAME) / f"clip-{int(clip.layer_id)}-{secrets.token_hex(6)}.zip"
    os.replace(pending, target)
    return _stored(target, clip.layer_id, clip.box, clip.frame_count, engine=clip.engine, preset=clip.preset,
                   params=clip.params, messages=clip.messages, loop_mode=clip.loop_mode, timing=clip.timing,
                   steps=clip.steps)


def _stored(path: Path, layer_id: int, box, frame_count: int, **meta: Any) -> LayerClip:
    return open_stored_clip(path, "frames", layer_id=layer_id, box=box, frame_count=frame_count, **meta)


def _legacy_clip_settings(folder: Path):
    """Schema-1 autosaves kept each clip's box and settings inside its .npz."""

    def read(member: str) -> Mapping[str, Any]:
        with np.load(folder / member, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return {"box": data["box"].tolist(), "frame_count": int(data["frames"].shape[0]),
                    "engine": meta.get("engine", "presets"), "preset": meta.get("preset"),
                    "params": meta.get("params") or {}, "messages": meta.get("messages") or []}

    return read


def _clip_frames(path: Path, entry: schema.ClipEntry) -> np.ndarray | None:
    """A clip's frames if its file is there and matches its entry; None otherwise.

    A clip written just before a crash may not match the last editor.json: that layer is
    simply animated again, the rest of the session comes back.
    """
    try:
        data = path.read_bytes()
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            frames = archive["frames"]
        return checked(frames, (entry.frame_count, entry.box.h, entry.box.w, 4), path.name)
    except (OSError, KeyError, ValueError):
        return None


def source_path(session: Session, source: str) -> Path:
    """Where an autosaved poster came from; only the samples folder or this session's uploads."""
    kind, _, name = source.partition(":")
    if kind == "sample" and name in samples():
        return SAMPLES_DIR / name
    if kind in {"upload", "project"} and name and "/" not in name and "\\" not in name:
        return session.inside(session.dir("uploads") / name)
    raise PosterError("The autosaved poster cannot be found any more; open it again.")


def state_for_poster(poster: Poster, source: str, previous: EditorState) -> EditorState:
    """A fresh editor on `poster`, keeping the previous timeline and nothing else."""
    state = EditorState(project=Project(poster=poster, timeline=previous.timeline, source=source))
    # The importer lists layer-level losses on the poster too; keep each sentence once.
    state.notices = list(dict.fromkeys([*poster.unsupported, *(n for l in poster.layers for n in l.unsupported)]))
    state.revision = previous.revision + 1
    # Undo goes back as far as the poster as it opened (a project's history starts with the
    # autosave that follows its clips being stored).
    state.history.reset(history.snapshot_of(manifest_of(state, Path())))
    return state


def state_for_project(project: Project, source: str, previous: EditorState) -> EditorState:
    """The editor on a project file's work (a group motion gives each member its own)."""
    project.source = source
    state = EditorState.for_project(project, notices=list(project.poster.unsupported))
    state.revision = previous.revision + 1
    return state


def open_source(session: Session, source: str) -> EditorState:
    """The poster or project `source` names, as a new editor state (not yet swapped in)."""
    path = source_path(session, source)
    if source.startswith("project:"):
        return state_for_project(load_project(path), source, session.state)
    return state_for_poster(load_psd(path), source, session.state)


def restore(session: Session) -> bool:
    """Load the session's autosave into `session.state`; False when there is none.

    PosterError for a damaged or too-new autosave; `session.state` is replaced only once
    everything has been read and checked.
    """
    folder = session.folder / AUTOSAVE_NAME
    path = folder / MANIFEST
    if not path.exists():
        return False
    manifest = schema.load(path.read_bytes(), schema.AutosaveManifest, legacy=_legacy_clip_settings(folder),
                           name="autosave")
    limits = ProjectLimits()
    limits.work.check_timeline(manifest.timeline.fps, manifest.timeline.frames)
    state = open_source(session, manifest.source)
    project = state.project
    assert project is not None
    apply_manifest(project, manifest, folder, limits)
    valid = {layer.id for layer in project.poster.layers}
    state.selection = [i for i in manifest.selection if i in valid]
    active = manifest.active
    state.active = active if active in state.selection else (state.selection[0] if state.selection else None)
    state.history = history.load(folder, history.snapshot_of(manifest_of(state, folder)))
    session.state = state
    return True


def apply_manifest(project: Project, manifest: schema.AutosaveManifest, folder: Path, limits: ProjectLimits,
                   reuse: Mapping[str, LayerClip] | None = None) -> None:
    """Put an autosave's (or an undo snapshot's) timeline, motions, links and clips into `project`.

    Clips are read from their files in `folder` (those already open in `reuse`, by file
    name, are kept as they are); a clip whose file is missing or does not match its entry
    is left out, so that layer is animated again.
    """
    valid = {layer.id for layer in project.poster.layers}
    project.timeline = manifest.timeline
    project.motions = [m for m in manifest.motions if all(i in valid for i in m.layer_ids)]
    project.split_groups()
    if manifest.links is not None:  # an older autosave keeps the links detected on opening
        project.links = {f: o for f, o in manifest.links.items() if f in valid and o in valid}
    project.unlinked = [i for i in manifest.unlinked if i in (project.links or {})]
    project.clips = {}
    for entry in manifest.clips:
        plain_name = entry.frames == Path(entry.frames).name and not entry.frames.startswith(".")
        if not plain_name or entry.layer_id not in valid:
            continue
        try:
            check_clip_entry(entry, "autosave", limits)
        except PosterError:
            continue  # a clip no editor would have written: that layer is animated again
        if entry.encoding is None:  # a schema-1/2 autosave: the whole clip in one .npz
            frames = _clip_frames(folder / entry.frames, entry)
            if frames is not None:
                clip = clip_from(entry, frames)
                save_clip_file(folder / clip_member(entry.layer_id), clip)  # what editor.json names from now on
                project.clips[entry.layer_id] = clip
            continue
        kept = (reuse or {}).get(entry.frames)
        if kept is not None and clip_entry(kept, entry.frames) == entry:
            project.clips[entry.layer_id] = kept
            continue
        try:
            project.clips[entry.layer_id] = _stored(
                folder / entry.frames, entry.layer_id, entry.box, entry.frame_count, engine=entry.engine,
                preset=entry.preset, params=dict(entry.params), messages=list(entry.messages),
                loop_mode=entry.loop_mode, timing=Timing.of(entry),
                steps=tuple(SequenceStep.of(step) for step in entry.steps))
        except PosterError:
            continue  # a clip file that did not make it to disk: that layer is animated again


def restore_snapshot(session: Session, snapshot: Mapping[str, str]) -> None:
    """Put the session's project back as an undo snapshot has it, and autosave that (not
    as a new step). The selection stays; clips still open are reused."""
    state = session.state
    project = state.project
    assert project is not None
    folder = session.dir(AUTOSAVE_NAME)
    manifest = history.manifest_from(snapshot, list(state.selection), state.active)
    if manifest.source != state.source_name:
        raise PosterError("That undo step belongs to another poster; it was not applied.")
    open_clips = {clip_file(clip, folder): clip for clip in project.clips.values()}
    apply_manifest(project, manifest, folder, ProjectLimits(), reuse=open_clips)
    autosave(session, record=False)
