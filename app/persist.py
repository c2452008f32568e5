"""Autosave and restore of a session, so a page reload (or a server restart) loses nothing.

Autosave runs after every edit, so it must be cheap: a small JSON of the editor settings
that points at the PSD already kept in the session folder (or a bundled sample), plus one
clip file per animated layer (engine.core.clipstore: compressed frames, written one at a
time, read back lazily) written only when that layer is animated. The designer-facing
"Save project" file (engine.core.project) is a separate, self-contained download.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from app.session import AUTOSAVE_NAME, Session
from app.state import EditorState, LayerMotion
from engine.core.clip import LayerClip
from engine.core.poster import Box, PosterError

FORMAT_VERSION = 1


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


def motion_to_json(motion: LayerMotion) -> dict[str, Any]:
    return {
        "engine": motion.engine, "prompt": motion.prompt, "preset": motion.preset,
        "params": motion.params, "box": None if motion.box is None else list(motion.box.as_tuple()),
        "seed": motion.seed, "start_offset": motion.start_offset, "group": motion.group,
        "rationale": motion.rationale, "planned_by": motion.planned_by, "box_sized": motion.box_sized,
    }


def motion_from_json(data: dict[str, Any]) -> LayerMotion:
    box = data.get("box")
    return LayerMotion(
        engine=str(data.get("engine", "presets")), prompt=str(data.get("prompt", "")),
        preset=str(data.get("preset", "auto")), params=dict(data.get("params") or {}),
        box=None if box is None else Box.from_any(box), seed=int(data.get("seed", 0)),
        start_offset=int(data.get("start_offset", 0)), group=data.get("group"),
        rationale=str(data.get("rationale", "")), planned_by=str(data.get("planned_by", "")),
        box_sized=bool(data.get("box_sized", False)),
    )


def autosave(session: Session) -> None:
    state = session.state
    if state.poster is None:
        return
    document = {
        "version": FORMAT_VERSION,
        "source": state.source_name,
        "fps": state.fps,
        "duration_s": state.duration_s,
        "selection": state.selection,
        "active": state.active,
        "motions": {str(k): motion_to_json(m) for k, m in state.motions.items()},
        "clips": sorted(state.clips),
    }
    folder = session.dir(AUTOSAVE_NAME)
    _write_atomic(folder / "editor.json", json.dumps(document, indent=1).encode())


def _clip_path(session: Session, layer_id: int) -> Path:
    return session.dir(AUTOSAVE_NAME) / f"clip-{layer_id}.zip"


def save_clip(session: Session, clip: LayerClip) -> None:
    """Keep one animated layer in the autosave: frames compressed, written one at a time."""
    from engine.core.clipstore import save_clip_file

    save_clip_file(_clip_path(session, clip.layer_id), clip)


def store_clip(session: Session, clip: LayerClip) -> Path:
    """Write a new clip beside the autosave under a private name (no session lock needed:
    nothing else reads it until `commit_clip`)."""
    from engine.core.clipstore import save_clip_file

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
    or two per clip, not the videos; a file replaced later stays readable by clips
    already open on it (POSIX keeps the old file until they close).
    """
    from engine.core.clipstore import load_clip_file

    target = _clip_path(session, clip.layer_id)
    os.replace(pending, target)
    stored = load_clip_file(target)
    stored.messages = clip.messages
    return stored


def _load_clip(folder: Path, layer_id: int) -> LayerClip | None:
    """The autosaved clip of a layer, read lazily; an autosave from before streaming (.npz) too."""
    from engine.core.clipstore import load_clip_file

    path = folder / f"clip-{layer_id}.zip"
    if path.exists():
        return load_clip_file(path)
    legacy = folder / f"clip-{layer_id}.npz"
    if not legacy.exists():
        return None
    with np.load(legacy, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        return LayerClip(layer_id=layer_id, box=Box.from_any(data["box"].tolist()), frames=data["frames"],
                         engine=meta.get("engine", "presets"), preset=meta.get("preset"),
                         params=meta.get("params") or {}, messages=meta.get("messages") or [])


def source_path(session: Session, source: str) -> Path:
    """Where an autosaved poster came from; only the samples folder or this session's uploads."""
    from app.views import SAMPLES_DIR, samples

    kind, _, name = source.partition(":")
    if kind == "sample" and name in samples():
        return SAMPLES_DIR / name
    if kind in {"upload", "project"} and name and "/" not in name and "\\" not in name:
        return session.inside(session.dir("uploads") / name)
    raise PosterError("The autosaved poster cannot be found any more; open it again.")


def restore(session: Session) -> bool:
    """Load the session's autosave into `session.state`; False when there is none."""
    from app.handlers import load_poster

    path = session.folder / AUTOSAVE_NAME / "editor.json"
    if not path.exists():
        return False
    document = json.loads(path.read_text())
    if document.get("version") != FORMAT_VERSION:
        return False
    source = str(document["source"])
    path = source_path(session, source)
    if source.startswith("project:"):
        from app.exporting import from_project
        from engine.core.project import load_project

        session.state = from_project(load_project(path))
        session.state.source_name = source
    else:
        load_poster(session, path, source, keep_previews=True)
    state: EditorState = session.state
    valid = {layer.id for layer in state.poster.layers}
    state.fps = int(document.get("fps", state.fps))
    state.duration_s = float(document.get("duration_s", state.duration_s))
    state.motions = {int(k): motion_from_json(v) for k, v in document.get("motions", {}).items() if int(k) in valid}
    state.selection = [int(i) for i in document.get("selection", []) if int(i) in valid]
    active = document.get("active")
    state.active = active if active in state.selection else (state.selection[0] if state.selection else None)
    for layer_id in document.get("clips", []):
        if int(layer_id) in valid:
            clip = _load_clip(session.folder / AUTOSAVE_NAME, int(layer_id))
            if clip is not None:
                state.clips[int(layer_id)] = clip
    return True
