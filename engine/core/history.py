"""Undo history: a bounded list of project snapshots and a cursor, coalescing bursts.

A snapshot is the project as the schema writes it, cut into named parts ("timeline",
"motion:3", "clip:3", …), each part canonical JSON text: equal text means equal part, so
comparing two snapshots, telling what an edit changed and storing fifty of them compactly
(each distinct part once, see `to_json`) are all plain string work. Pixels never enter a
snapshot: a clip part names its immutable file, which whoever keeps the files must keep
while any snapshot names it (`snapshots()` lists them).

`entries[0]` is the state before the oldest undoable edit; `entries[i]` the state after
edit i, with its label ("prompt of Balloon"). Undo moves the cursor back, redo forward; a
new edit after an undo drops the redone-able branch, as every editor does. An edit with
the same coalescing key as the newest one, made within `coalesce_s` of it and with no
undo or redo in between, grows that step instead of adding one: typing a prompt or
dragging a slider is one step, not one per keystroke.

The history knows nothing of posters, sessions or files (the editor's glue is
app.history); it is here so any front end over a Project can keep one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

from pydantic import BaseModel, ValidationError

#: Undoable steps kept; older ones fall off (and the clip files only they named can go).
MAX_STEPS = 50
#: Seconds within which edits with one coalescing key merge into one step.
COALESCE_S = 4.0
HISTORY_FORMAT = "poster-animator-history"
HISTORY_VERSION = 1

Snapshot = Mapping[str, str]


@dataclass
class Entry:
    """The project after one edit: its snapshot, what the edit was, and how it may merge."""

    snapshot: dict[str, str]
    label: str = ""
    key: str | None = None  # None: never merges with the next edit
    at: float = 0.0  # clock time of the last edit merged into it


class History:
    """Bounded undo/redo over snapshots (see the module docstring)."""

    def __init__(self, limit: int = MAX_STEPS, coalesce_s: float = COALESCE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError("a history keeps at least one step")
        self.limit = limit
        self.coalesce_s = coalesce_s
        self.clock = clock
        self.entries: list[Entry] = []
        self.cursor = 0
        self._open = False  # the newest step may still grow (no undo or redo since)

    @property
    def empty(self) -> bool:
        """No baseline yet: the next snapshot recorded becomes it."""
        return not self.entries

    @property
    def current(self) -> dict[str, str] | None:
        return self.entries[self.cursor].snapshot if self.entries else None

    def amend(self, snapshot: Snapshot) -> None:
        """The current step now ends at `snapshot`: for work an edit made necessary (the live
        preview re-rendering a clip for new settings), which undoes and redoes with that edit
        rather than as a step of its own. Redo steps are kept."""
        if not self.entries:
            self.reset(snapshot)
            return
        self.entries[self.cursor].snapshot = dict(snapshot)

    def reset(self, snapshot: Snapshot) -> None:
        """Forget every step; `snapshot` is the state nothing can be undone past."""
        self.entries = [Entry(dict(snapshot))]
        self.cursor = 0
        self._open = False

    def record(self, snapshot: Snapshot, label: str, key: str | None = None) -> bool:
        """Note the state after an edit; False when nothing changed (or it became the baseline)."""
        if not self.entries:
            self.reset(snapshot)
            return False
        if dict(snapshot) == self.current:
            return False
        now = self.clock()
        top = self.entries[self.cursor]
        if (self._open and key is not None and top.key == key and self.cursor == len(self.entries) - 1
                and now - top.at <= self.coalesce_s):
            top.snapshot, top.at = dict(snapshot), now
            if top.snapshot == self.entries[self.cursor - 1].snapshot:  # typed back to where it was
                self.entries.pop()
                self.cursor -= 1
                self._open = False
            return True
        del self.entries[self.cursor + 1:]
        self.entries.append(Entry(dict(snapshot), label, key, now))
        if len(self.entries) > self.limit + 1:
            del self.entries[: len(self.entries) - self.limit - 1]
        self.cursor = len(self.entries) - 1
        self._open = True
        return True

    @property
    def undo_label(self) -> str | None:
        """What Undo would undo, or None when there is nothing to undo."""
        return self.entries[self.cursor].label if self.cursor > 0 else None

    @property
    def redo_label(self) -> str | None:
        return self.entries[self.cursor + 1].label if self.cursor + 1 < len(self.entries) else None

    def undo(self) -> tuple[str, dict[str, str]] | None:
        """Step back: (the label of the step undone, the snapshot to restore), or None."""
        if self.cursor == 0:
            return None
        label = self.entries[self.cursor].label
        self.cursor -= 1
        self._open = False
        return label, dict(self.entries[self.cursor].snapshot)

    def redo(self) -> tuple[str, dict[str, str]] | None:
        """Step forward again: (the label of the step redone, the snapshot to restore), or None."""
        if self.cursor + 1 >= len(self.entries):
            return None
        self.cursor += 1
        self._open = False
        entry = self.entries[self.cursor]
        return entry.label, dict(entry.snapshot)

    def snapshots(self) -> Iterator[dict[str, str]]:
        """Every snapshot kept (undoable and redoable): what must stay restorable."""
        for entry in self.entries:
            yield entry.snapshot

    # ---- on disk: each distinct part once, entries naming parts by index

    def to_json(self) -> str:
        pool: dict[str, int] = {}
        entries = []
        for entry in self.entries:
            parts = {name: pool.setdefault(text, len(pool)) for name, text in entry.snapshot.items()}
            entries.append({"label": entry.label, "key": entry.key, "parts": parts})
        return json.dumps({"format": HISTORY_FORMAT, "version": HISTORY_VERSION, "parts": list(pool),
                           "entries": entries, "cursor": self.cursor}, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes, **options) -> "History":
        """The history `to_json` wrote; ValueError for anything else (damaged, foreign, newer)."""
        try:
            doc = _HistoryFile.model_validate_json(data)
        except ValidationError as error:
            raise ValueError(f"not a history file ({error.error_count()} problems)") from None
        if doc.format != HISTORY_FORMAT or doc.version != HISTORY_VERSION:
            raise ValueError(f"not a version-{HISTORY_VERSION} history")
        if not doc.entries or not 0 <= doc.cursor < len(doc.entries):
            raise ValueError("the cursor is outside the history")
        history = cls(**options)
        if any(not 0 <= i < len(doc.parts) for e in doc.entries for i in e.parts.values()):
            raise ValueError("an entry names a part the history does not have")
        history.entries = [Entry({name: doc.parts[i] for name, i in e.parts.items()}, e.label, e.key)
                           for e in doc.entries]
        history.cursor = doc.cursor
        if len(history.entries) > history.limit + 1:  # kept under a larger limit: the oldest go
            drop = len(history.entries) - history.limit - 1
            history.entries = history.entries[drop:]
            history.cursor = max(0, history.cursor - drop)
        return history


class _EntryFile(BaseModel):
    label: str
    key: str | None = None
    parts: dict[str, int]


class _HistoryFile(BaseModel):
    format: str
    version: int
    parts: list[str]
    entries: list[_EntryFile]
    cursor: int
