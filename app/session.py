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
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from app.messages import MessageOrder
from app.state import EditorState
from engine.core.poster import PosterError

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
AUTOSAVE_NAME = "autosave"
MAX_IDLE_ON_DISK_S = 7 * 24 * 3600  # folders of sessions unused for a week are removed
MAX_IDLE_IN_MEMORY_S = 2 * 3600  # idle sessions leave memory; their autosave stays on disk
#: Live sessions kept in memory; past it the least recently used idle one leaves memory
#: (its autosave stays on disk), so forged page loads cannot grow the server without end.
DEFAULT_MAX_LIVE_SESSIONS = 64
#: New sessions one address may start per minute (each costs a folder and tens of MB).
DEFAULT_NEW_SESSIONS_PER_MINUTE = 20
#: Names a file gets while it is being written or checked; swept at start-up.
LEFTOVER_PREFIXES = (".tmp-", ".pending-", ".upload-")
LEFTOVER_SUFFIXES = (".part",)


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
    # Gradio's upload cache: uploads found there are moved out of it (never served back).
    upload_cache: Path | None = None
    # Why the autosave could not be restored (None when it was, or there was none).
    restore_problem: str | None = None
    # Which late reply may still set the status line (app.messages).
    messages: MessageOrder = field(default_factory=MessageOrder)

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
        staged = self.stage_upload(uploaded, keep_name)
        return staged.keep()

    def stage_upload(self, uploaded: str | Path, keep_name: str) -> "StagedUpload":
        """Take a file Gradio received under a unique temporary name in this session's uploads.

        The stored file of the same name is replaced only by `StagedUpload.keep`, once the
        upload has loaded: a damaged re-upload never destroys the good copy that the
        autosave points at. Gradio's own copy in its upload cache is moved, not copied, so
        nothing uploaded stays where the file route could reach it.
        """
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(keep_name).name).strip("._") or "upload"
        target = self.dir("uploads") / safe[-120:]
        temp = target.with_name(f".upload-{secrets.token_hex(6)}-{target.name}")
        source = Path(uploaded).resolve()
        if self.upload_cache is not None and source.is_relative_to(self.upload_cache.resolve()):
            shutil.move(source, temp)
            _remove_empty(source.parent)
        else:
            shutil.copyfile(source, temp)
        return StagedUpload(temp=temp, target=target)


@dataclass
class StagedUpload:
    """An upload under its temporary name until it has loaded (see Session.stage_upload)."""

    temp: Path
    target: Path

    def keep(self) -> Path:
        """The upload loaded: it becomes the stored file of its name."""
        os.replace(self.temp, self.target)
        return self.target

    def discard(self) -> None:
        """The upload was refused: it leaves no trace."""
        self.temp.unlink(missing_ok=True)


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


class SessionStore:
    """All sessions of one server, backed by `data_dir/sessions/<token>/`.

    One lock guards the table of sessions and is held only to look a token up or add one;
    restoring a session's autosave (seconds for a big poster) holds that session's own
    lock, so other visitors' pages load meanwhile.
    """

    def __init__(self, data_dir: Path, restore=None, *, upload_cache: Path | None = None,
                 max_live: int = DEFAULT_MAX_LIVE_SESSIONS,
                 new_per_minute: int = DEFAULT_NEW_SESSIONS_PER_MINUTE) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.root = self.data_dir / "sessions"
        self.root.mkdir(parents=True, exist_ok=True)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._restore = restore  # callable(Session) -> bool, loads the autosave into session.state
        self.upload_cache = upload_cache
        self.max_live = max_live
        self.new_per_minute = new_per_minute
        self._started: dict[str, deque[float]] = {}

    def open(self, token: object, client: str | None = None) -> tuple[Session, bool]:
        """The session for `token`, restored from disk if needed; a new one if unusable.

        Returns (session, restored) where restored says the state came back from an
        autosave, so the caller knows whether to open the default poster. A token this
        server never handed out (no live session, no folder) gets a fresh one: the client
        does not choose its session's name. `client` (the caller's address) is held to
        `new_per_minute` new sessions; PosterError beyond.
        """
        restoring = False
        with self._lock:
            session = self._sessions.get(token) if valid_token(token) else None  # type: ignore[arg-type]
            if session is None:
                existed = valid_token(token) and (self.root / str(token)).is_dir()
                if not existed:
                    self._admit(client)
                session = self._create(str(token) if existed else secrets.token_hex(16))
                restoring = existed and self._restore is not None
                if restoring:
                    session.lock.acquire()  # taken before anyone else can find the session
            session.last_used = time.time()
        if not restoring:
            with session.lock:  # waits while this token's autosave is being restored
                return session, session.state.poster is not None
        try:
            return session, self._restore_into(session)
        finally:
            session.lock.release()

    def _restore_into(self, session: Session) -> bool:
        assert self._restore is not None
        try:
            return bool(self._restore(session))
        except Exception as error:  # a broken autosave must not lock the designer out
            log.warning("could not restore session %s: %s", session.token[:8], error)
            session.restore_problem = str(error) if isinstance(error, PosterError) else \
                f"the autosave could not be read ({type(error).__name__})"
            return False

    def _admit(self, client: str | None) -> None:
        """Hold one address to `new_per_minute` new sessions (called under the table lock)."""
        if client is None:
            return
        now = time.monotonic()
        times = self._started.setdefault(client, deque())
        while times and now - times[0] > 60:
            times.popleft()
        if len(times) >= self.new_per_minute:
            raise PosterError("Too many new editing sessions from this address in the last minute; "
                              "wait a minute, then reload the page.")
        times.append(now)
        if len(self._started) > 10_000:  # forget addresses that have been quiet for a minute
            for key in [k for k, v in self._started.items() if not v or now - v[-1] > 60]:
                del self._started[key]

    def browser_secret(self) -> str:
        """The key that encrypts the token in localStorage, kept so restarts keep sessions."""
        path = self.data_dir / "browser-secret"
        if not path.exists():
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "w") as stream:
                stream.write(secrets.token_urlsafe(24))
        return path.read_text().strip()

    def get(self, token: object, client: str | None = None) -> Session:
        """The live session for `token` (a reload that lost memory restores from disk)."""
        with self._lock:
            session = self._sessions.get(token) if valid_token(token) else None  # type: ignore[arg-type]
            if session is not None:
                session.last_used = time.time()
                return session
        # Pages start with /start; a handler called with a token no page was given shares
        # one allowance, so forged calls cannot create sessions faster than /start can.
        session, _ = self.open(token, client or "(handler without /start)")
        return session

    def _create(self, token: str) -> Session:
        """A new live session (called under the table lock); the oldest idle ones leave memory
        when there are `max_live` already."""
        while len(self._sessions) >= self.max_live:
            idle = [s for s in self._sessions.values() if _idle(s)]
            if not idle:
                raise PosterError("The editor is serving as many designers as it can; try again in a few minutes.")
            del self._sessions[min(idle, key=lambda s: s.last_used).token]
        folder = self.root / token
        folder.mkdir(parents=True, exist_ok=True)
        session = Session(token=token, folder=folder, upload_cache=self.upload_cache)
        self._sessions[token] = session
        return session

    @property
    def live(self) -> int:
        return len(self._sessions)

    def sweep_leftovers(self) -> list[Path]:
        """Delete files left half-written by a crash (`.tmp-*`, `.pending-*`, `.upload-*`, `*.part`)."""
        removed = []
        for path in self.root.glob("*/*/*"):
            name = path.name
            if path.is_file() and (name.startswith(LEFTOVER_PREFIXES) or name.endswith(LEFTOVER_SUFFIXES)):
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

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


def _idle(session: Session) -> bool:
    """Not in the middle of anything (its lock is free)."""
    if session.lock.acquire(blocking=False):
        session.lock.release()
        return True
    return False


def _last_modified(folder: Path) -> float:
    times = [folder.stat().st_mtime]
    times += [p.stat().st_mtime for p in folder.rglob("*") if p.is_file()]
    return max(times)
