"""Clip frames stored compressed, one zip member per frame, and read back lazily.

Project files and the editor's autosave both keep clips this way: frames are written one
at a time (a lazily rendered clip is rendered as it is saved, never stacked), each
deflated on its own (a motion box is mostly transparent, so frames shrink a lot), and a
clip opened again reads a frame only when the compositor asks for it. Raw RGBA bytes,
not PNG: exact for every channel (colour under alpha 0 included) and several times
faster to write than a PNG encode.

    <folder>/00000.rgba, <folder>/00001.rgba, …   (box.h × box.w × 4 bytes each, deflated)

No pickle, no whole-clip array: a stored clip is safe to open and costs a frame of memory.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.atomic import atomic_output
from engine.core.clip import LayerClip, SequenceStep, Timing
from engine.core.jsonable import json_default
from engine.core.poster import Box, PosterError

#: The name of the frame encoding, written beside the folder so a later format can differ.
ENCODING = "rgba-deflate"
#: zlib level 1: transparent margins compress almost as well as at 6, at a fraction of the time.
_LEVEL = 1
_META = "clip.json"


def frame_member(folder: str, index: int) -> str:
    return f"{folder}/{index:05d}.rgba"


def write_clip_frames(archive: zipfile.ZipFile, folder: str, clip: LayerClip) -> dict[str, Any]:
    """Add the clip's own frames (0 … frame_count-1) under `folder` in an open zip.

    Returns what a manifest needs to open them again with `open_stored_clip`.
    """
    frame_bytes = clip.box.w * clip.box.h * 4
    for index in range(clip.frame_count):
        frame = np.ascontiguousarray(clip.source.frame(index))
        info = zipfile.ZipInfo(frame_member(folder, index), date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = _LEVEL  # type: ignore[attr-defined]  # what ZipFile.open("w") reads (an alias from 3.13)
        with archive.open(info, "w", force_zip64=frame_bytes >= 1 << 31) as member:
            member.write(memoryview(frame).cast("B"))
    return {"frames": folder, "frame_count": clip.frame_count, "encoding": ENCODING}


class StoredSource:
    """A clip's frames read one at a time from a zip (the last one read is kept).

    The zip is opened once, when the clip is opened, and every frame member is checked
    for presence and size then; a frame damaged on disk is caught by the zip's CRC when
    read and reported as a PosterError.
    """

    def __init__(self, path: str | os.PathLike, folder: str, count: int, box: Box) -> None:
        self.path = Path(path)
        self.folder = folder
        self.count, self.height, self.width = int(count), box.h, box.w
        if self.count < 1:
            raise PosterError(f"The saved clip in '{self.path.name}' has no frames; animate the layer again.")
        self._lock = threading.Lock()
        self._last: tuple[int, np.ndarray] | None = None
        try:
            self._archive = zipfile.ZipFile(self.path)
            expected = self.height * self.width * 4
            for index in range(self.count):
                if self._archive.getinfo(frame_member(folder, index)).file_size != expected:
                    raise ValueError("frame size")
            if frame_member(folder, self.count) in self._archive.NameToInfo:
                raise ValueError("more frames than the manifest says")
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            if hasattr(self, "_archive"):
                self._archive.close()
            raise self._damaged() from None

    def _damaged(self) -> PosterError:
        return PosterError(
            f"The saved animation in '{self.path.name}' is damaged or incomplete: animate the layer again."
        )

    def frame(self, index: int) -> np.ndarray:
        with self._lock:
            if self._last is not None and self._last[0] == index:
                return self._last[1]
            try:
                data = self._archive.read(frame_member(self.folder, index))
            except (OSError, EOFError, KeyError, ValueError, zlib.error, zipfile.BadZipFile):
                raise self._damaged() from None
            frame = np.frombuffer(data, dtype=np.uint8).reshape(self.height, self.width, 4)
            self._last = (index, frame)
            return frame


def open_stored_clip(
    path: str | os.PathLike,
    folder: str,
    *,
    layer_id: int,
    box: Box,
    frame_count: int,
    encoding: str = ENCODING,
    **meta: Any,
) -> LayerClip:
    """A clip whose frames stay in the zip at `path` under `folder` until read.

    `meta` carries the clip's other fields (engine, preset, params, messages, loop_mode).
    """
    if encoding != ENCODING:
        raise PosterError(
            f"'{Path(path).name}' stores a clip as '{encoding}', which this version cannot read: update the editor."
        )
    source = StoredSource(path, folder, frame_count, box)
    return LayerClip(layer_id=layer_id, box=box, frames=source, **meta)


def clip_meta(clip: LayerClip) -> dict[str, Any]:
    """The fields of a clip besides its frames, as JSON values."""
    return {
        "layer_id": clip.layer_id, "box": list(clip.box.as_tuple()), "engine": clip.engine,
        "preset": clip.preset, "params": clip.params, "messages": list(clip.messages),
        "loop_mode": clip.loop_mode, **clip.timing.fields(), **clip.steps_fields(),
    }


def save_clip_file(path: str | os.PathLike, clip: LayerClip) -> Path:
    """One clip in a file of its own (the editor's autosave), written atomically."""
    meta = {**clip_meta(clip), "frame_count": clip.frame_count, "encoding": ENCODING}
    with atomic_output(path) as temp, zipfile.ZipFile(temp, "w") as archive:
        archive.writestr(_META, json.dumps(meta, default=json_default))
        write_clip_frames(archive, "frames", clip)
    return Path(path)


def load_clip_file(path: str | os.PathLike) -> LayerClip:
    """A clip saved by `save_clip_file`, its frames read lazily."""
    try:
        with zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read(_META))
        return open_stored_clip(
            path, "frames", layer_id=int(meta["layer_id"]), box=Box(*meta["box"]),
            frame_count=int(meta["frame_count"]), encoding=meta.get("encoding", ENCODING),
            engine=meta.get("engine", "presets"), preset=meta.get("preset"), params=meta.get("params") or {},
            messages=list(meta.get("messages") or []), loop_mode=meta.get("loop_mode", "loop"),
            timing=Timing.of(meta), steps=tuple(SequenceStep.of(step) for step in meta.get("steps") or ()),
        )
    except PosterError:
        raise
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile):
        raise PosterError(
            f"The saved animation '{Path(path).name}' is damaged or incomplete: animate the layer again."
        ) from None
