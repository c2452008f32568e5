"""Export an animated poster: flat videos and images, transparent clips, layered bundles.

`export(path, frames, fps, format=key)` writes one of the formats in FORMATS
(engine.export.formats); without `format` the file extension picks it (the command line).
`frames` is a FrameStream (engine.render.compositor.poster_stream), an (F, H, W, 4) array
or a callable returning either (called only once the output folder checks out). Every
writer consumes frames one at a time, so an export holds a few frames, not the video.

Every writer is also importable on its own (write_mp4, write_bundle, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from engine.core.atomic import check_output_folder
from engine.core.clip import LayerClip
from engine.core.poster import Poster, PosterError
from engine.export.bundle import Frames, write_bundle
from engine.export.frames import Progress, as_stream
from engine.export.formats import FORMATS, ExportFormat, export_format, format_for_path
from engine.export.sequence import write_png_folder, write_png_zip
from engine.export.video import (
    MP4_QUALITIES, mp4_quality, write_apng, write_gif, write_mp4, write_prores, write_webm, write_webp,
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
    quality: str = "final",
    progress: Progress | None = None,
) -> Path:
    """Write `frames` to `path` in the format `format` (a FORMATS key) or the one its extension names.

    `quality` ("final" or "preview", see MP4_QUALITIES) trades MP4 encode time for picture quality;
    other formats have one setting and ignore it. Returns the path written. Raises
    PosterError for an unknown format or quality, a missing or read-only folder, or
    empty frames, before any encoding starts where possible.
    """
    path = Path(path)
    mp4_quality(quality)  # a typo is an error whatever the format, not silently ignored
    if clips and poster is None:
        raise PosterError("Exporting animated layers needs their poster too: pass poster= with clips=.")
    chosen = export_format(format) if format is not None else format_for_path(path, layered=poster is not None)
    if chosen.layered:
        if poster is None:
            raise PosterError("The layered bundle is made from the poster's layers: pass poster= (and clips=).")
        return write_bundle(path, poster, clips or {}, frames, fps, background=background, progress=progress)
    if chosen.download:
        check_output_folder(path)  # before rendering: a wrong folder should not cost a render
    options: dict = {"background": background} if chosen.background else {}
    if chosen.writer is write_mp4:
        options["quality"] = quality
    return chosen.writer(path, as_stream(frames), fps, progress=progress, **options)


__all__ = [
    "FORMATS", "MP4_QUALITIES", "ExportFormat", "export", "export_format", "format_for_path", "write_apng",
    "write_bundle", "write_gif", "write_mp4", "write_png_folder", "write_png_zip", "write_prores", "write_webm",
    "write_webp",
]
