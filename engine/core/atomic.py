"""Write files so that a crash, a full disk or a bad frame never leaves half a file behind.

Exports and project saves both write into a temporary file beside the target and move it
into place with `os.replace`, which is atomic on one file system: the old file stays
intact until the new one is complete.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from engine.core.poster import PosterError


def check_output_folder(path: str | os.PathLike) -> Path:
    """The target as a Path, once we know its folder exists and accepts files.

    Checked up front so a designer hears about a wrong folder before minutes of encoding.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise PosterError(
            f"The folder '{folder}' does not exist: create it or choose another place to save."
        )
    if not folder.is_dir():
        raise PosterError(f"'{folder}' is a file, not a folder: choose a folder to save into.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PosterError(f"The folder '{folder}' does not accept new files: choose another place to save.")
    if path.is_dir():
        raise PosterError(f"'{path}' is a folder: give a file name to save into.")
    return path


@contextmanager
def atomic_output(path: str | os.PathLike, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; move it onto `path` only on success.

    With `fsync` the bytes reach the disk before the rename, so a power cut cannot leave
    a renamed but empty file (project files are the designer's only copy of their work).
    """
    path = check_output_folder(path)
    try:
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise PosterError(
            f"Cannot write into the folder '{path.parent}' ({error.strerror}): choose another place to save."
        ) from None
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        if fsync:
            with open(temp, "rb+") as written:
                os.fsync(written.fileno())
        os.replace(temp, path)
        if fsync:
            _fsync_folder(path.parent)
    except OSError as error:
        kept = " The previous file is unchanged." if path.exists() else ""
        raise PosterError(
            f"Could not save '{path.name}' ({error.strerror or error}): free some disk space or "
            f"choose another folder.{kept}"
        ) from None
    finally:
        if temp.exists():
            temp.unlink()


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where folders cannot be opened."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
