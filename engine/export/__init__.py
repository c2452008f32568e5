"""Export an animated poster: flat videos and images, transparent clips, layered bundles.

`export(path, frames, fps)` picks the format from the file extension:

    .mp4          H.264 flat video (transparency laid over white or `background`)
    .gif          GIF, one palette per clip
    .png .apng    animated PNG (lossless, alpha kept)
    .webp         animated WebP (alpha kept)
    .webm         VP9 with alpha
    .mov          ProRes 4444 with alpha
    .zip          the layered bundle when `poster` is given, otherwise a PNG-sequence zip
    no extension  a folder of PNG frames

Every writer is also importable on its own (write_mp4, write_bundle, ...).
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Mapping

from engine.core.atomic import check_output_folder
from engine.export.bundle import Frames, resolve_frames, write_bundle
from engine.export.frames import Progress
from engine.export.sequence import write_png_folder, write_png_zip
from engine.export.video import (
    MP4_QUALITIES, mp4_quality, write_apng, write_gif, write_mp4, write_prores, write_webm, write_webp,
)
from engine.core.clip import LayerClip
from engine.core.poster import Poster, PosterError

#: extension -> (writer, whether it takes a background colour)
_WRITERS = {
    ".mp4": (write_mp4, True),
    ".gif": (write_gif, True),
    ".png": (write_apng, True),
    ".apng": (write_apng, True),
    ".webp": (write_webp, True),
    ".webm": (write_webm, False),
    ".mov": (write_prores, False),
}

SUPPORTED = (*_WRITERS, ".zip")


def export(
    path: str | os.PathLike,
    frames: Frames,
    fps: float = 24,
    *,
    poster: Poster | None = None,
    clips: Mapping[int, LayerClip] | None = None,
    background: tuple[int, int, int] | str | None = None,
    quality: str = "final",
    progress: Progress | None = None,
) -> Path:
    """Write `frames` (F, H, W, 4 uint8 straight alpha, or a callable giving them) to `path`.

    `quality` ("final" or "preview", see MP4_QUALITIES) trades MP4 encode time for picture quality;
    other formats have one setting and ignore it. Returns the path written. Raises
    PosterError for an unknown extension or quality, a missing or read-only folder, or
    empty frames, before any encoding starts where possible.
    """
    path = Path(path)
    mp4_quality(quality)  # a typo is an error whatever the format, not silently ignored
    suffix = path.suffix.lower()
    if clips and poster is None:
        raise PosterError("Exporting animated layers needs their poster too: pass poster= with clips=.")
    if suffix == ".zip":
        if poster is not None:
            return write_bundle(path, poster, clips or {}, frames, fps, background=background, progress=progress)
        check_output_folder(path)  # before rendering: a wrong folder should not cost a render
        return write_png_zip(path, resolve_frames(frames), fps, progress=progress)
    if suffix == "":
        return write_png_folder(path, resolve_frames(frames), fps, progress=progress)
    if suffix not in _WRITERS:
        raise PosterError(
            f"Cannot export to '{path.name}': the extension '{suffix}' is not a format we write. "
            f"Use one of {', '.join(SUPPORTED)}, or no extension for a folder of PNG frames."
        )
    writer, takes_background = _WRITERS[suffix]
    check_output_folder(path)
    options = {"background": background} if takes_background else {}
    if writer is write_mp4:
        options["quality"] = quality
    return writer(path, resolve_frames(frames), fps, progress=progress, **options)


__all__ = [
    "MP4_QUALITIES", "SUPPORTED", "export", "write_apng", "write_bundle", "write_gif", "write_mp4",
    "write_png_folder", "write_png_zip", "write_prores", "write_webm", "write_webp",
]


class _CallableModule(types.ModuleType):
    """Let `engine.export(...)` work although `engine.export` is also this package.

    Importing any `engine.export.*` module makes Python bind the package itself to the
    name `export` on `engine`, shadowing the lazily re-exported function; calling the
    package forwards to `export()` so both spellings behave the same.
    """

    def __call__(self, *args, **kwargs) -> Path:
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
