"""Export an animated poster: flat videos and images, transparent clips, layered bundles.

`export(path, frames, fps, format=key)` writes one of the formats in FORMATS
(engine.export.formats); without `format` the file extension picks it (the command line).
`export_many([(path, format), ...], frames, ...)` writes several from one render
(engine.export.fanout); `options=ExportOptions(...)` sets size, quality, frame rate and
loop count for either (engine.export.options).
`frames` is a FrameStream (engine.render.compositor.poster_stream), an (F, H, W, 4) array
or a callable returning either (called only once the output folder checks out). Every
writer consumes frames one at a time, so an export holds a few frames, not the video.

Every writer is also importable on its own (write_mp4, write_bundle, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from engine.core.clip import LayerClip
from engine.core.poster import Poster, PosterError
from engine.export.bundle import Frames, write_bundle
from engine.export.fanout import export_many
from engine.export.frames import Progress
from engine.export.formats import FORMATS, ExportFormat, export_format, format_for_path
from engine.export.options import DEFAULT_QUALITY, ExportOptions
from engine.export.sequence import write_png_folder, write_png_zip
from engine.export.video import (
    MP4_QUALITIES, write_apng, write_gif, write_mp4, write_prores, write_webm, write_webp,
)


def export(
    path: str | os.PathLike,
    frames: Frames,
    fps: float = 24,
    *,
    format: str | None = None,
    poster: Poster | None = None,
    clips: Mapping[int, LayerClip] | None = None,
    background: tuple[int, int, int] | str | None = None,
    quality: str | None = None,
    options: ExportOptions | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write `frames` to `path` in the format `format` (a FORMATS key) or the one its extension names.

    `options` (engine.export.options.ExportOptions) set the size, quality, frame rate and
    loop count; `quality` alone is short for ExportOptions(quality=...). Returns the path
    written. Raises PosterError for an unknown format or option, a missing or read-only
    folder, or empty frames, before any encoding starts where possible.
    """
    path = Path(path)
    options = _options(options, quality)
    chosen = export_format(format) if format is not None else format_for_path(path, layered=poster is not None)
    return export_many([(path, chosen)], frames, fps, options=options, poster=poster, clips=clips,
                       background=background, progress=progress)[0]


def _options(options: ExportOptions | None, quality: str | None) -> ExportOptions:
    if options is not None and quality is not None:
        raise PosterError("Give the quality inside options= or as quality=, not both.")
    return options or ExportOptions(quality=quality or DEFAULT_QUALITY)


__all__ = [
    "FORMATS", "MP4_QUALITIES", "ExportFormat", "ExportOptions", "export", "export_format", "export_many", "format_for_path", "write_apng",
    "write_bundle", "write_gif", "write_mp4", "write_png_folder", "write_png_zip", "write_prores", "write_webm",
    "write_webp",
]
