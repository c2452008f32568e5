"""Frame checks and per-frame conversions shared by every export format.

Writers take a FrameStream (`as_stream` turns an array or a deferred render into one) and
convert one frame at a time, so exporting a long poster never holds the whole video.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np

from engine.core.poster import PosterError
from engine.core.progress import ProgressCallback
from engine.core.stream import FrameStream

#: Called as progress(done, total) after each frame reaches the encoder (the team's shared type).
Progress = ProgressCallback

WHITE = (255, 255, 255)


def check_frames(frames: np.ndarray) -> np.ndarray:
    """Frames as (F, H, W, 4) uint8 straight-alpha RGBA; RGB frames get an opaque alpha."""
    if frames is None:
        raise PosterError("There are no frames to export: animate the poster first.")
    frames = np.asarray(frames)
    if frames.size == 0 or frames.ndim != 4 or frames.shape[0] == 0:
        raise PosterError(
            "There are no frames to export (expected a clip of frames × height × width × RGBA): "
            "animate the poster first."
        )
    if frames.dtype != np.uint8:
        raise PosterError(f"Frames must be 8-bit (uint8) RGBA, got {frames.dtype}.")
    if frames.shape[3] == 3:
        opaque = np.full(frames.shape[:3] + (1,), 255, dtype=np.uint8)
        frames = np.concatenate([frames, opaque], axis=3)
    if frames.shape[3] != 4:
        raise PosterError(f"Frames must have 4 channels (RGBA), got {frames.shape[3]}.")
    return frames


def as_stream(frames: "FrameStream | np.ndarray | Callable[[], FrameStream | np.ndarray]") -> FrameStream:
    """Frames to write as a FrameStream: a stream as it is, an (F, H, W, 3|4) array checked,
    a callable (a deferred render) called now."""
    if callable(frames) and not isinstance(frames, (FrameStream, np.ndarray)):
        frames = frames()
    if isinstance(frames, FrameStream):
        return frames
    return FrameStream.of_array(check_frames(frames))


def check_fps(fps: float) -> float:
    if not isinstance(fps, (int, float, np.integer, np.floating)) or not 0 < float(fps) <= 240:
        raise PosterError(f"Frames per second must be a number between 1 and 240, got {fps!r}.")
    return float(fps)


def parse_color(color: tuple[int, int, int] | str | None) -> tuple[int, int, int]:
    """An RGB triple from a tuple or '#rrggbb' text; None means white (paper)."""
    if color is None:
        return WHITE
    if isinstance(color, str):
        text = color.strip().lstrip("#")
        if len(text) == 3:
            text = "".join(c * 2 for c in text)
        try:
            if len(text) != 6:
                raise ValueError
            return tuple(int(text[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
        except ValueError:
            raise PosterError(f"A background colour looks like '#ffffff'; got {color!r}.") from None
    values = tuple(int(v) for v in color)
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise PosterError(f"A background colour needs three values from 0 to 255; got {color!r}.")
    return values  # type: ignore[return-value]


def has_transparency(frames: FrameStream) -> bool:
    """Whether any pixel may be see-through: asked of the stream first (the compositor knows
    whether its poster can show through anywhere), else scanned frame by frame (a second
    pass, which a stream fed to several encoders at once cannot make)."""
    opaque = frames.opaque
    if opaque is not None:
        return not opaque
    return any(bool((frame[..., 3] < 255).any()) for frame in frames)


def flatten(frame: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """RGB of a straight-alpha frame laid over a solid background (rounded, not truncated)."""
    return over_background(frame, background)[..., :3]


def over_background(frame: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """The frame laid over a solid background, kept as RGBA with alpha 255.

    Kept RGBA because ffmpeg reads RGBA as fast as RGB, so an opaque frame (the usual
    composited poster) goes to the encoder as it is: dropping the alpha byte alone is a
    strided copy that costs about as much as a fast MP4 encode of the frame. A frame with
    few see-through pixels blends only those (same bytes, about 2× faster than all); a
    mostly see-through one is blended whole (gathering most pixels would be slower).
    The caller's frame is never written to.
    """
    see_through = frame[..., 3] < 255
    count = np.count_nonzero(see_through)
    if count == 0:
        return frame
    back = np.asarray(background, dtype=np.uint16)
    out = frame.copy()
    out[..., 3] = 255
    if count > see_through.size // 4:
        alpha = frame[..., 3:4].astype(np.uint16)
        out[..., :3] = (frame[..., :3] * alpha + back * (255 - alpha) + 127) // 255
        return out
    pixels = frame[see_through].astype(np.uint16)
    alpha = pixels[:, 3:]
    out[see_through, :3] = (pixels[:, :3] * alpha + back * (255 - alpha) + 127) // 255
    return out


def clear_transparent(frame: np.ndarray) -> np.ndarray:
    """Zero the colour under alpha 0.

    Invisible pixels still cost bits and their stray colour bleeds into neighbours through
    chroma subsampling and filtering in other tools; black is the neutral choice.
    """
    hidden = frame[..., 3] == 0
    if not hidden.any():
        return frame
    out = frame.copy()
    out[hidden] = 0
    return out


def pad_to_even(frame: np.ndarray, transparent: bool = False) -> np.ndarray:
    """Add one row/column where a size is odd: 4:2:0 video needs even sizes.

    Padding (never resizing) keeps every poster pixel exactly where the designer put it.
    Flat video repeats the edge (the extra line looks like its neighbour); clips with
    alpha get a fully transparent line, so a tool placing the clip sees nothing extra.
    """
    pad_y, pad_x = frame.shape[0] % 2, frame.shape[1] % 2
    if not (pad_y or pad_x):
        return frame
    padding = ((0, pad_y), (0, pad_x), (0, 0))
    return np.pad(frame, padding, mode="constant") if transparent else np.pad(frame, padding, mode="edge")


def even_size(width: int, height: int) -> tuple[int, int]:
    return width + width % 2, height + height % 2


def iter_converted(
    frames: Iterable[np.ndarray], convert: Callable[[np.ndarray], np.ndarray]
) -> Iterator[np.ndarray]:
    for frame in frames:
        yield convert(frame)
