"""A GIF's size before it is written, from a short encoded sample.

GIFs are the one format whose size surprises designers (a 4 s poster GIF can pass 20 MB),
and their size is hard to predict from pixels: it depends on the palette, the dither
and how much changes between frames. So we encode: a few consecutive frames from the
middle of the animation, and the first of them alone. A GIF is its first frame in full
plus, for each later frame, only the rectangle that changed (diff_mode), so
size ≈ first + (frames − 1) × (sample − first) / (sample frames − 1). Costs a render and
encode of about `SAMPLE_FRAMES` + 1 frames.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from engine.export.bundle import Frames
from engine.export.fanout import Color, view_for, write_format
from engine.export.formats import export_format
from engine.export.frames import as_stream, check_fps
from engine.export.options import ExportOptions

SAMPLE_FRAMES = 8


def estimate_gif_bytes(
    frames: Frames, fps: float, options: ExportOptions | None = None, *, background: Color = None,
    sample: int = SAMPLE_FRAMES,
) -> int:
    """About how many bytes the GIF of `frames` under `options` will take."""
    options = options or ExportOptions()
    source, fps = as_stream(frames), check_fps(fps)
    gif = export_format("gif")
    view = view_for(gif, source, fps, options, background)
    count = len(view.picks)
    taken = min(max(2, sample), count)
    start = (count - taken) // 2
    chosen = view.picks[start : start + taken]
    with tempfile.TemporaryDirectory(prefix="gif-estimate-") as scratch:
        sizes = []
        for length in (taken, 1) if taken < count else (taken,):
            path = Path(scratch) / f"{length}.gif"
            sample_view = replace(view, picks=chosen[:length])
            write_format(gif, path, sample_view.stream(source), view.fps, options, poster=None, clips=None,
                         background=background, progress=None)
            sizes.append(path.stat().st_size)
    if taken == count:
        return sizes[0]
    whole, first = sizes
    return round(first + (count - 1) * (whole - first) / (taken - 1))


def describe_bytes(size: int) -> str:
    """'4.1 MB', '380 KB': how the editor and the command line say a file size."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(1, round(size / 1000))} KB"
