"""The editor's undo history: snapshots of the autosave, what each edit was, its file.

Every edit of the project ends in an autosave (app.persist.autosave), so the autosave is
the one place a step is recorded: whatever a handler changed, the snapshot after it
differs from the one before, and the difference itself says what the edit was ("prompt
of Balloon", "Animate of Sun", "fps and length"). No handler names its step, and an edit
added later is undoable without touching this module. What is on screen only (selection,
the layer being edited) is not in a snapshot, so selecting is never a step.

A snapshot is the AutosaveManifest cut into parts (engine.core.history): source, timeline,
links, one part per motion and per clip. A clip part names the clip's file beside the
autosave; those files are never rewritten (each Animate writes a new one), so undoing an
Animate points the layer back at the file it had, and the files no snapshot names any
more are deleted (`prune_clip_files`).

The history is kept in `history.json` beside `editor.json`: a reload or a server restart
keeps it. A missing, damaged or foreign history file, or one that does not end at the
restored autosave, just means an empty history.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from app.state import EditorState
from engine.core import schema
from engine.core.atomic import atomic_output
from engine.core.history import History, Snapshot
from engine.core.project import Motion

log = logging.getLogger(__name__)

HISTORY_FILE = "history.json"
#: Autosave clip files (app.persist): `clip-<layer>.zip` (older sessions), `clip-<layer>-<tag>.zip`.
CLIP_FILES = "clip-*.zip"

_SINGLE = ("source", "timeline", "links", "unlinked")

#: What a changed motion field is called in "Undo: … of Balloon", most telling first: a
#: prompt that also reset the parameters is an edit of the prompt; a shared prompt given to
#: several layers is the group prompt.
_FIELD_WORDS = (
    ("group", "group prompt"), ("prompt", "prompt"), ("engine", "engine"), ("planned_by", "plan"),
    ("rationale", "plan"), ("params", ""), ("phase", "phase"), ("start", "start"), ("duration", "duration"),
    ("loop", "loop mode"), ("box", "box"), ("box_sized", "box"), ("seed", "seed"),
)
#: Edits that come in bursts (keystrokes, slider drags, box drags): one step per burst.
_BURSTS = {"prompt", "phase", "start", "duration", "box", "seed", "fps and length"}
_DEFAULT_MOTION = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
                   for f in dataclasses.fields(Motion) if f.name != "layer_ids"}


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def snapshot_of(manifest: schema.AutosaveManifest) -> dict[str, str]:
    """The project part of an autosave manifest, as named canonical JSON parts."""
    doc = json.loads(schema.dump(manifest, indent=None))
    parts = {name: _canon(doc.get(name)) for name in _SINGLE}
    for motion in doc["motions"]:
        parts["motion:" + ",".join(map(str, motion["layer_ids"]))] = _canon(motion)
    for clip in doc["clips"]:
        parts[f"clip:{clip['layer_id']}"] = _canon(clip)
    return parts


def manifest_from(snapshot: Snapshot, selection: list[int], active: int | None) -> schema.AutosaveManifest:
    """The autosave manifest a snapshot was cut from, with the screen's selection; validated
    by the schema like any autosave (PosterError when it does not hold)."""
    doc: dict[str, Any] = {name: json.loads(snapshot[name]) for name in _SINGLE if name in snapshot}
    doc.update(format=schema.AUTOSAVE_FORMAT, schema_version=schema.SCHEMA_VERSION, selection=selection,
               active=active, motions=_parts(snapshot, "motion:"), clips=_parts(snapshot, "clip:"))
    return schema.load(json.dumps(doc), schema.AutosaveManifest, name="undo history")


def _parts(snapshot: Snapshot, prefix: str) -> list[Any]:
    return [json.loads(text) for name, text in snapshot.items() if name.startswith(prefix)]


def clip_files(snapshot: Snapshot) -> set[str]:
    """The clip files a snapshot names."""
    return {clip["frames"] for clip in _parts(snapshot, "clip:")}


# ---------------------------------------------------------------- what an edit was


def _layer_ids(name: str) -> list[int]:
    return [int(i) for i in name.partition(":")[2].split(",")]


def _names(ids: Iterable[int], layer_name: Callable[[int], str]) -> str:
    names = list(dict.fromkeys(layer_name(i) for i in ids))
    if len(names) > 3:
        return f"{', '.join(names[:3])} and {len(names) - 3} more"
    return ", ".join(names)


def _motion_words(before: str | None, after: str | None) -> list[tuple[int, str]]:
    """The changed fields of one motion as (rank in `_FIELD_WORDS`, word); a parameter by its name."""
    old = {**_DEFAULT_MOTION, **(json.loads(before) if before else {})}
    new = {**_DEFAULT_MOTION, **(json.loads(after) if after else {})}
    words = []
    for rank, (name, word) in enumerate(_FIELD_WORDS):
        if old.get(name) == new.get(name):
            continue
        if name == "params":
            changed = sorted(k for k in old["params"].keys() | new["params"].keys()
                             if old["params"].get(k) != new["params"].get(k))
            words.extend((rank, k.replace("_", " ")) for k in changed)
        else:
            words.append((rank, word))
    return words


def describe(before: Snapshot, after: Snapshot, layer_name: Callable[[int], str]) -> tuple[str, str | None]:
    """What turned `before` into `after`: (label, coalescing key or None).

    The label completes "Undo: …" ("prompt of Balloon", "Animate of Sun, Moon").
    """
    changed = _changed(before, after)
    clips = [i for n in changed if n.startswith("clip:") for i in _layer_ids(n)]
    motions = {n: _motion_words(before.get(n), after.get(n)) for n in changed if n.startswith("motion:")}
    if clips:
        reseeded = any(word == "seed" for words in motions.values() for _, word in words)
        return f"{'Re-roll' if reseeded and len(clips) == 1 else 'Animate'} of {_names(clips, layer_name)}", None
    if "unlinked" in changed:
        old, new = (set(json.loads(s.get("unlinked", "[]"))) for s in (before, after))
        word = "unlink" if new - old else "link"
        return f"{word} of {_names(sorted(old ^ new), layer_name)}", None
    if "timeline" in changed:
        return "fps and length", "fps and length"
    words = [w for ws in motions.values() for w in ws]
    if not words:
        return "edit", None
    rank, word = min(words)
    ids = [i for n, ws in motions.items() if (rank, word) in ws for i in _layer_ids(n)]
    label = f"{word} of {_names(ids, layer_name)}"
    burst = word in _BURSTS or _FIELD_WORDS[rank][0] == "params"  # a parameter is dragged or typed too
    return label, label if burst else None


def _changed(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))


def touched_layers(before: Snapshot, after: Snapshot) -> list[int]:
    """The layers whose motion or clip differs between two snapshots."""
    ids = [i for n in _changed(before, after) if n.startswith(("motion:", "clip:")) for i in _layer_ids(n)]
    return list(dict.fromkeys(ids))


def clips_changed(before: Snapshot, after: Snapshot) -> bool:
    return any(n.startswith("clip:") for n in _changed(before, after))


def record(state: EditorState, manifest: schema.AutosaveManifest, *, amend: bool = False) -> None:
    """Note the project as `manifest` has it: the first snapshot is the baseline, a changed
    one is a step labelled by what changed; `amend` folds it into the current step instead."""
    snapshot = snapshot_of(manifest)
    history = state.history
    if amend:
        history.amend(snapshot)
        return
    if history.empty or history.current is None:
        history.reset(snapshot)
        return
    if snapshot == history.current:
        return
    label, key = describe(history.current, snapshot, lambda i: _layer_name(state, i))
    history.record(snapshot, label, key)


def _layer_name(state: EditorState, layer_id: int) -> str:
    poster = state.poster
    known = poster is not None and any(layer.id == layer_id for layer in poster.layers)
    return state.layer(layer_id).name if known else f"layer {layer_id}"


# ---------------------------------------------------------------- on disk


def save(history: History, folder: Path) -> None:
    """Write the history beside the autosave, atomically."""
    with atomic_output(folder / HISTORY_FILE) as temp:
        temp.write_text(history.to_json())


def load(folder: Path, restored: Snapshot) -> History:
    """The history saved beside an autosave that restored to `restored`; an empty one
    (just that baseline) when the file is missing, damaged or ends elsewhere."""
    history = History()
    path = folder / HISTORY_FILE
    try:
        saved = History.from_json(path.read_bytes())
    except FileNotFoundError:
        saved = None
    except (OSError, ValueError) as error:
        log.warning("undo history %s not used: %s", path, error)
        saved = None
    if saved is not None and saved.current == dict(restored):
        return saved
    history.reset(restored)
    return history


def prune_clip_files(folder: Path, history: History, current: Mapping[str, str]) -> list[Path]:
    """Delete the autosave's clip files that neither the project nor any undo step names."""
    kept = clip_files(current).union(*(clip_files(s) for s in history.snapshots()))
    removed = []
    for path in folder.glob(CLIP_FILES):
        if path.name not in kept:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def hint(state: EditorState) -> tuple[str | None, str | None]:
    """What Undo and Redo would do now (None: nothing), for the buttons' tooltips."""
    return state.history.undo_label, state.history.redo_label
