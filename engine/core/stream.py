"""A video as a stream of frames: what the compositor produces and every exporter consumes.

A 26 MP poster at 24 fps for 2 s is 5 GB as one array, so nothing between the engines
and the files holds a whole video: a FrameStream knows its frame count, size and fps up
front (encoders need them before the first frame) and yields one frame at a time. It can
be iterated again, from the start, by a format that needs two passes.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from engine.core.clip import LayerClip
from engine.core.poster import PosterError


class FrameStream:
    """`count` frames of `width` × `height` straight-alpha RGBA uint8, at `fps`.

    Iterating yields (height, width, 4) arrays in order. A stream may yield the same
    buffer every time, overwritten by the next frame (the compositor does, so a render
    costs one frame of memory): a consumer that keeps a frame copies it. `opaque=True`
    promises every pixel of every frame has alpha 255 (exporters then skip their
    transparency scan); it may be a callable answering on demand; None means unknown.
    """

    def __init__(
        self,
        frames: Callable[[], Iterable[np.ndarray]],
        count: int,
        width: int,
        height: int,
        fps: float | None = None,
        *,
        opaque: bool | Callable[[], bool] | None = None,
        pick: Callable[[Sequence[int]], Iterable[np.ndarray]] | None = None,
    ) -> None:
        if count < 1:
            raise PosterError("There are no frames to export: animate the poster first.")
        self._frames = frames
        self.count, self.width, self.height = int(count), int(width), int(height)
        self.fps = fps
        self._opaque = opaque
        self._pick = pick

    @classmethod
    def of_array(cls, frames: np.ndarray, fps: float | None = None) -> "FrameStream":
        """An in-memory (F, H, W, 4) uint8 video (tests, small clips)."""
        count, height, width = frames.shape[:3]
        return cls(lambda: iter(frames), count, width, height, fps, pick=lambda indices: (frames[i] for i in indices))

    @classmethod
    def of_clip(cls, clip: LayerClip, count: int | None = None, fps: float | None = None) -> "FrameStream":
        """A layer clip over `count` timeline frames (default its own length), per its loop mode."""
        count = clip.frame_count if count is None else count
        return cls(lambda: clip.iter_frames(count), count, clip.box.w, clip.box.h, fps)

    @property
    def opaque(self) -> bool | None:
        """True when every pixel of every frame is known to be opaque; None when unknown."""
        return self._opaque() if callable(self._opaque) else self._opaque

    def __len__(self) -> int:
        return self.count

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.count, self.height, self.width, 4)

    def __iter__(self) -> Iterator[np.ndarray]:
        expected = (self.height, self.width, 4)
        produced = 0
        for frame in self._frames():
            if frame.shape != expected or frame.dtype != np.uint8:
                raise PosterError(
                    f"Frame {produced} is {frame.shape[1]}×{frame.shape[0]} {frame.dtype}, but this video is "
                    f"{self.width}×{self.height} RGBA uint8: render the poster again."
                )
            produced += 1
            if produced > self.count:
                break
            yield frame
        if produced < self.count:
            raise PosterError(f"The video ended after {produced} of its {self.count} frames: render it again.")

    def pick(self, indices: Sequence[int], fps: float | None = None) -> "FrameStream":
        """Only frames `indices` (ascending, repeats allowed), e.g. every other one for half the
        frame rate. A stream that can draw one frame on its own (the compositor) draws only
        those; any other is read through and the rest skipped."""
        indices = list(indices)
        if any(not 0 <= i < self.count for i in indices) or indices != sorted(indices):
            raise PosterError(f"Frames to pick must be ascending and within the {self.count} frames of this video.")
        if self._pick is not None:
            frames: Callable[[], Iterable[np.ndarray]] = lambda: self._pick(indices)  # type: ignore[misc]
        else:
            frames = lambda: _picked(iter(self), indices)  # noqa: E731
        return FrameStream(frames, len(indices), self.width, self.height, self.fps if fps is None else fps,
                           opaque=self._opaque)

    def map(
        self, convert: Callable[[np.ndarray], np.ndarray], width: int | None = None, height: int | None = None
    ) -> "FrameStream":
        """This stream with `convert` applied to each frame (new size when it resizes)."""
        return FrameStream(
            lambda: (convert(frame) for frame in self), self.count,
            self.width if width is None else width, self.height if height is None else height, self.fps,
        )


def _picked(frames: Iterator[np.ndarray], indices: list[int]) -> Iterator[np.ndarray]:
    position, frame = -1, None
    for wanted in indices:
        while position < wanted:
            frame, position = next(frames), position + 1
        yield frame  # type: ignore[misc]


def stack(stream: FrameStream) -> np.ndarray:
    """The whole stream as one (F, H, W, 4) array: for tests and small videos only."""
    out = np.empty(stream.shape, dtype=np.uint8)
    for index, frame in enumerate(stream):
        out[index] = frame
    return out
