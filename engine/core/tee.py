"""One clip read by two consumers at once, each frame rendered once.

After Animate the editor writes a fresh clip to its autosave file and composites the
poster preview from it at the same time (zlib and ffmpeg use the second core while the
compositor uses the first). Both read the clip front to back; a lazily rendered clip
(presets) would render every frame twice if each read its own way, since its cache holds
a couple of chunks only. `Tee` hands each frame to every reader from one render, and
keeps memory bounded: a reader more than `window` frames ahead of the slowest waits, and
a frame every reader has passed is dropped.
"""

from __future__ import annotations

import threading

import numpy as np

from engine.core.clip import FrameSource


class Tee:
    """`readers` FrameSources (`view(i)`) over one source, read in any order, rendered once
    where they read in step. A reader that stops early must be `close`d so the others never
    wait for it."""

    def __init__(self, source: FrameSource, readers: int = 2, window: int = 16) -> None:
        self.source = source
        self.window = max(1, int(window))
        self._next = [0] * readers  # the next frame each reader is expected to ask for
        self._closed = [False] * readers
        self._frames: dict[int, np.ndarray] = {}
        self._cond = threading.Condition()

    def view(self, reader: int) -> "TeeView":
        return TeeView(self, reader)

    def close(self, reader: int) -> None:
        with self._cond:
            self._closed[reader] = True
            self._drop()
            self._cond.notify_all()

    def frame(self, reader: int, index: int) -> np.ndarray:
        with self._cond:
            self._cond.wait_for(lambda: index - self._slowest(reader) < self.window)
            frame = self._frames.get(index)
        if frame is None:
            frame = self.source.frame(index)  # outside the lock: the other reader keeps going
        with self._cond:
            self._frames.setdefault(index, frame)
            self._next[reader] = max(self._next[reader], index + 1)
            self._drop()
            self._cond.notify_all()
        return frame

    def _slowest(self, reader: int) -> int:
        """Where the slowest other open reader is (this reader's own place when alone)."""
        others = [n for i, n in enumerate(self._next) if i != reader and not self._closed[i]]
        return min(others, default=self._next[reader])

    def _drop(self) -> None:
        open_places = [n for n, closed in zip(self._next, self._closed) if not closed]
        floor = min(open_places, default=1 << 62)
        for index in [i for i in self._frames if i < floor]:
            del self._frames[index]


class TeeView:
    """One reader's FrameSource over a Tee."""

    def __init__(self, tee: Tee, reader: int) -> None:
        self.tee, self.reader = tee, reader
        self.count, self.height, self.width = tee.source.count, tee.source.height, tee.source.width

    def frame(self, index: int) -> np.ndarray:
        return self.tee.frame(self.reader, index)

    def close(self) -> None:
        self.tee.close(self.reader)
