"""Generated clips kept on disk, so identical inputs are never generated twice.

A generative engine spends minutes of GPU per layer; a designer re-opening a project,
refreshing a layer for a new timeline or pressing Animate again on unchanged settings
should get the earlier result at once. Each clip is stored the way every clip is stored
(engine.core.clipstore: raw RGBA frames, deflated, read back lazily) under a key that
hashes everything the result depends on: the layer's pixels and place, its prompt and
the group prompt, the motion box, seed, length, frame rate and start offset, the engine
and its resolved parameters, and the model's identity (its folder's files, their sizes
and modification times, and the bytes of model_index.json). Change any of them (a new
seed from Re-roll, an edited prompt, a re-downloaded model) and the key changes.

The cache is bounded: after each write the least recently used files (by modification
time, refreshed on every hit) are removed until the folder is under its cap.

    POSTER_CACHE_DIR   the folder (default: <data dir>/cache/clips, the data dir being
                       the editor's --data-dir, else POSTER_DATA_DIR, else ./data)
    POSTER_CACHE_MB    the cap in megabytes (default 2048; 0 turns the cache off)

The preset engine is not cached (docs/benchmarks/serving.md): reading a preset clip back
is quicker than rendering it, but every miss would pay the write too (1.1-1.9x the render)
and, in a bounded cache, clips re-made in a second would evict ones that took minutes of
GPU. The editor's autosave already keeps every clip it made.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from engine.core.clip import LayerClip
from engine.core.clipstore import load_clip_file, save_clip_file
from engine.core.jsonable import json_default
from engine.core.poster import PosterError
from engine.motion.base import MotionRequest

CACHE_DIR_ENV = "POSTER_CACHE_DIR"
CACHE_MB_ENV = "POSTER_CACHE_MB"
DATA_DIR_ENV = "POSTER_DATA_DIR"
DEFAULT_CACHE_MB = 2048
#: Bump when an engine's output changes for the same inputs (a fixed bug, a new matte):
#: every earlier entry then misses and is evicted in time.
KEY_VERSION = 1
SUFFIX = ".clip"

_data_dir: Path | None = None  # set by the editor from --data-dir


def set_data_dir(path: str | os.PathLike | None) -> None:
    """The editor's data folder: the cache lives under it unless POSTER_CACHE_DIR says otherwise."""
    global _data_dir
    _data_dir = None if path is None else Path(path)


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    data = _data_dir or Path(os.environ.get(DATA_DIR_ENV, "").strip() or "./data").expanduser()
    return data / "cache" / "clips"


def cache_bytes() -> int:
    raw = os.environ.get(CACHE_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_CACHE_MB << 20
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = -1.0
    if megabytes < 0:
        raise PosterError(
            f"{CACHE_MB_ENV} must be a number of megabytes (0 turns the result cache off); got {raw!r}."
        )
    return int(megabytes * (1 << 20))


# --- keys ------------------------------------------------------------------------------------


def model_identity(folder: str | os.PathLike | None) -> str:
    """A digest of a model folder that changes when its weights or config change.

    Every file's relative path, size and modification time (two levels deep, which covers
    diffusers' layout of one sub-folder per component) plus the bytes of model_index.json:
    cheap to compute on every call, unlike hashing gigabytes of weights.
    """
    if not folder:
        return ""
    root = Path(folder).expanduser()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(root.resolve()).encode())
    try:
        digest.update((root / "model_index.json").read_bytes())
    except OSError:
        pass
    for path in sorted(_files(root, depth=2)):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _files(root: Path, depth: int) -> Iterable[Path]:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir():
            if depth > 0:
                yield from _files(Path(entry.path), depth - 1)
        else:
            yield Path(entry.path)


def layer_part(request: MotionRequest, params: Mapping[str, Any]) -> dict[str, Any]:
    """What one request contributes to a key (the pixels as a digest)."""
    layer = request.layer
    pixels = hashlib.blake2b(memoryview(np.ascontiguousarray(layer.pixels)).cast("B"), digest_size=16).hexdigest()
    return {
        "pixels": pixels, "layer_box": list(layer.box.as_tuple()), "kind": str(layer.kind.value),
        "box": list(request.box.as_tuple()), "prompt": request.prompt, "params": dict(params),
        "seed": request.seed, "frames": request.frames, "fps": request.fps,
        "phase": request.phase, "start": request.start, "duration": request.duration,
    }


def result_key(engine: str, model: str, group_prompt: str | None, layers: list[dict[str, Any]]) -> str:
    """The key of one engine call's result (one layer, or a joint batch)."""
    document = {"version": KEY_VERSION, "engine": engine, "model": model, "group_prompt": group_prompt,
                "layers": layers}
    text = json.dumps(document, sort_keys=True, default=json_default, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


# --- the store ---------------------------------------------------------------------------------


class ClipCache:
    """Clips on disk under `root`, at most `max_bytes` in all, least recently used out first."""

    def __init__(self, root: str | os.PathLike, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()  # one eviction pass at a time in this process

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def path(self, key: str) -> Path:
        return self.root / f"{key}{SUFFIX}"

    def get(self, key: str) -> LayerClip | None:
        """The clip stored under `key` (its frames read lazily), or None; a damaged file is dropped."""
        path = self.path(key)
        if not self.enabled or not path.is_file():
            return None
        try:
            clip = load_clip_file(path)
        except PosterError:
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)  # most recently used now
        except OSError:
            pass
        return clip

    def put(self, key: str, clip: LayerClip) -> Path | None:
        """Store `clip` under `key`, then evict down to the cap; None when the cache is off
        or the folder cannot be written (a cache never stops a generation from landing)."""
        if not self.enabled:
            return None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            path = save_clip_file(self.path(key), clip)
        except (OSError, PosterError):
            return None
        self.evict()
        return path if path.exists() else None

    def entries(self) -> list[tuple[float, int, Path]]:
        """(last use, bytes, path) of every stored clip, oldest first."""
        found = []
        try:
            scan = list(os.scandir(self.root))
        except OSError:
            return []
        for entry in scan:
            if entry.name.endswith(SUFFIX) and entry.is_file():
                try:
                    stat = entry.stat()
                except OSError:
                    continue
                found.append((stat.st_mtime, stat.st_size, Path(entry.path)))
        return sorted(found)

    def size(self) -> int:
        return sum(size for _, size, _ in self.entries())

    def evict(self) -> list[Path]:
        """Remove least recently used clips until the folder is within the cap."""
        removed = []
        with self._lock:
            entries = self.entries()
            total = sum(size for _, size, _ in entries)
            for _, size, path in entries:
                if total <= self.max_bytes:
                    break
                path.unlink(missing_ok=True)  # a reader holding it open keeps its frames
                total -= size
                removed.append(path)
        return removed


def current_cache() -> ClipCache:
    """The cache the configuration names now (read on every call, so tests and the editor's
    --data-dir take effect without a restart)."""
    return ClipCache(cache_dir(), cache_bytes())


__all__ = [
    "CACHE_DIR_ENV", "CACHE_MB_ENV", "ClipCache", "DEFAULT_CACHE_MB", "KEY_VERSION", "cache_bytes", "cache_dir",
    "current_cache", "layer_part", "model_identity", "result_key", "set_data_dir",
]
