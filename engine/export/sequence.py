"""PNG sequences: one lossless PNG per frame, in a zip or a folder.

The most portable way to carry exact RGBA frames into any tool, at the cost of size.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from engine.core.atomic import atomic_output
from engine.core.stream import FrameStream
from engine.export.frames import Progress, as_stream, clear_transparent
from engine.core.poster import PosterError

#: zlib level 3: nearly the size of the default (6) at about half the time per frame.
_PNG_LEVEL = 3


def frame_name(index: int) -> str:
    return f"frame_{index:05d}.png"


def png_bytes(pixels: np.ndarray) -> bytes:
    """An RGBA PNG of one image (RGB when fully opaque), colour under alpha 0 zeroed."""
    mode_pixels = pixels[..., :3] if (pixels[..., 3] == 255).all() else clear_transparent(pixels)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(mode_pixels)).save(buffer, format="PNG", compress_level=_PNG_LEVEL)
    return buffer.getvalue()


def add_png_sequence(
    archive: zipfile.ZipFile, folder: str, frames: FrameStream, progress: Progress | None = None
) -> list[str]:
    """Store frames as PNGs under `folder` inside an open zip; returns the member names."""
    names = []
    for index, frame in enumerate(frames):
        name = f"{folder}/{frame_name(index)}" if folder else frame_name(index)
        archive.writestr(name, png_bytes(frame), compress_type=zipfile.ZIP_STORED)
        names.append(name)
        if progress is not None:
            progress(index + 1, len(frames))
    return names


def write_png_zip(
    path: str | os.PathLike, frames: FrameStream | np.ndarray, fps: float = 24, *, progress: Progress | None = None
) -> Path:
    """A zip of frame_00000.png, frame_00001.png, ... (stored: PNG is already compressed)."""
    frames = as_stream(frames)
    with atomic_output(path) as temp:
        with zipfile.ZipFile(temp, "w") as archive:
            add_png_sequence(archive, "", frames, progress)
    return Path(path)


def write_png_folder(
    path: str | os.PathLike, frames: FrameStream | np.ndarray, fps: float = 24, *, progress: Progress | None = None
) -> Path:
    """frame_00000.png, ... in a folder (created if needed; earlier frame files are replaced)."""
    frames = as_stream(frames)
    folder = Path(path)
    if not folder.parent.is_dir():
        raise PosterError(
            f"The folder '{folder.parent}' does not exist: create it or choose another place to save."
        )
    if folder.exists() and not folder.is_dir():
        raise PosterError(f"'{folder}' is a file: give a folder name for the PNG sequence.")
    try:
        folder.mkdir(exist_ok=True)
        for stale in folder.glob("frame_*.png"):
            stale.unlink()
        for index, frame in enumerate(frames):
            (folder / frame_name(index)).write_bytes(png_bytes(frame))
            if progress is not None:
                progress(index + 1, len(frames))
    except OSError as error:
        raise PosterError(f"Cannot write PNG frames into '{folder}' ({error.strerror}).") from None
    return folder
