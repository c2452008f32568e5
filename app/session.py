"""Per-browser sessions: isolated state, a private folder, autosave, restore, cleanup.

A session is named by a random token kept in the browser's localStorage, so a page
reload finds the same work again. The token is the only thing the client sends that
names files, and it is checked against a strict pattern before it touches the disk;
every other path is built on the server inside the session's folder.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.state import EditorState
from engine.core.poster import PosterError

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
AUTOSAVE_NAME = "autosave"
MAX_IDLE_ON_DISK_S = 7 * 24 * 3600  # folders of sessions unused for a week are removed
MAX_IDLE_IN_MEMORY_S = 2 * 3600  # idle sessions leave memory; their autosave stays on disk


def valid_token(token: object) -> bool:
    return isinstance(token, str) and bool(_TOKEN.match(token))


@dataclass
class Session:
    """One designer's editor: its state, its folder and a lock that serialises edits."""

    token: str
    folder: Path
    state: EditorState = field(default_factory=EditorState)
    lock: threading.RLock = field(default_factory=threading.RLock)
    last_used: float = field(default_factory=time.time)
    # Set by the Cancel button; a running Animate stops after its current step.
    cancel: threading.Event = field(default_factory=threading.Event)

    def dir(self, name: str) -> Path:
        """A subfolder of this session (uploads, exports, work), created on demand."""
        if name not in {"uploads", "exports", "work", AUTOSAVE_NAME}:
            raise ValueError(f"unknown session folder {name!r}")
        path = self.folder / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def clear_previews(self) -> None:
        """Previews belong to the poster they were made from; a new poster starts without."""
        for stale in self.dir("work").glob("*.mp4"):
            stale.unlink(missing_ok=True)

    def inside(self, path: str | Path) -> Path:
        """`path` resolved, or PosterError when it points outside this session's folder."""
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.folder.resolve()):
            raise PosterError("That file does not belong to this editing session.")
        return resolved

    def adopt_upload(self, uploaded: str | Path, keep_name: str) -> Path:
        """Copy a file Gradio received into this session's uploads, under a safe name."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(keep_name).name).strip("._") or "upload"
        target = self.dir("uploads") / safe[-120:]
        if Path(uploaded).resolve() != target.resolve():
            shutil.copyfile(uploaded, target)
        return target


class SessionStore:
    """All sessions of one server, backed by `data_dir/sessions/<token>/`."""

    def __init__(self, data_dir: Path, restore=None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.root = self.data_dir / "sessions"
        self.root.mkdir(parents=True, exist_ok=True)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._restore = restore  # callable(Session) -> bool, loads the autosave into session.state

    def open(self, token: object) -> tuple[Session, bool]:
        """The session for `token`, restored from disk if needed; a new one if unusable.

        Returns (session, restored) where restored says the state came back from an
        autosave, so the caller knows whether to open the default poster. A well-formed
        token whose folder is gone (cleaned up, new data folder) keeps its name, so the
        browser that holds it keeps talking to one session.
        """
        with self._lock:
            if not valid_token(token):
                return self._create(secrets.token_hex(16)), False
            if token in self._sessions:
                session = self._sessions[token]
                session.last_used = time.time()
                return session, session.state.poster is not None
            existed = (self.root / token).is_dir()
            session = self._create(token)
            restored = False
            if existed and self._restore is not None:
                try:
                    restored = bool(self._restore(session))
                except Exception as error:  # a broken autosave must not lock the designer out
                    log.warning("could not restore session %s: %s", token[:8], error)
            return session, restored

    def browser_secret(self) -> str:
        """The key that encrypts the token in localStorage, kept so restarts keep sessions."""
        path = self.data_dir / "browser-secret"
        if not path.exists():
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "w") as stream:
                stream.write(secrets.token_urlsafe(24))
        return path.read_text().strip()

    def get(self, token: object) -> Session:
        """The live session for `token` (a reload that lost memory restores from disk)."""
        if valid_token(token) and token in self._sessions:
            session = self._sessions[token]
            session.last_used = time.time()
            return session
        session, _ = self.open(token)
        return session

    def _create(self, token: str) -> Session:
        folder = self.root / token
        folder.mkdir(parents=True, exist_ok=True)
        session = Session(token=token, folder=folder)
        self._sessions[token] = session
        return session

    def cleanup(self, now: float | None = None) -> list[str]:
        """Forget idle sessions and delete folders unused for a week; returns deleted tokens."""
        now = time.time() if now is None else now
        deleted: list[str] = []
        with self._lock:
            for token, session in list(self._sessions.items()):
                if now - session.last_used > MAX_IDLE_IN_MEMORY_S:
                    del self._sessions[token]
            for folder in self.root.iterdir():
                if not folder.is_dir() or not valid_token(folder.name) or folder.name in self._sessions:
                    continue
                if now - _last_modified(folder) > MAX_IDLE_ON_DISK_S:
                    shutil.rmtree(folder, ignore_errors=True)
                    deleted.append(folder.name)
        return deleted


def _last_modified(folder: Path) -> float:
    times = [folder.stat().st_mtime]
    times += [p.stat().st_mtime for p in folder.rglob("*") if p.is_file()]
    return max(times)
