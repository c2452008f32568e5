"""Streaming frames into the ffmpeg binary that imageio-ffmpeg ships.

We never rely on a system ffmpeg (a fresh machine has none) and never put ours on PATH
(Gradio would then look for an ffprobe that is not there). Frames go through a pipe one
at a time, so ffmpeg holds only what its encoder needs.

imageio_ffmpeg.write_frames was weighed and not taken: it always adds `-pix_fmt` and
`-vcodec` output flags and a quality or bitrate, which clash with a filter graph (the
GIF palette pass, the MP4 scale-and-convert chain), and it reports failures as a raw
ffmpeg log instead of one sentence; this pipe is the few lines that remain.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from engine.export.frames import Progress
from engine.core.poster import PosterError


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:  # pragma: no cover - a broken install
        raise PosterError(
            "Video export needs the imageio-ffmpeg package: reinstall requirements.txt."
        ) from None
    return imageio_ffmpeg.get_ffmpeg_exe()


#: Above this many pixels a frame (a 4K UHD frame is 8.3 MP) the encoders keep few frames in
#: flight: ffmpeg queues 8 raw frames between its threads by default, and x264's lookahead
#: and frame threads hold dozens more: 2.57 GB for a 26 MP print poster's MP4 on its own
#: (docs/benchmarks.md, "x264 child").
HUGE_FRAME_PIXELS = 8_300_000


def input_queue_args(width: int, height: int) -> list[str]:
    """ffmpeg input options that bound its queue of raw frames for huge frames."""
    return ["-thread_queue_size", "1"] if width * height > HUGE_FRAME_PIXELS else []


def encode(
    frames: Iterable[np.ndarray],
    total: int,
    size: tuple[int, int],
    fps: float,
    pixel_format: str,
    output_args: Sequence[str],
    target: Path,
    what: str,
    progress: Progress | None = None,
    filter_complex: str | None = None,
) -> None:
    """Pipe raw frames (`pixel_format`, `size` = (width, height)) into ffmpeg writing `target`.

    `output_args` hold the codec, muxer (`-f`, always explicit because `target` is a
    temporary name) and quality settings. `what` names the format in error messages.
    """
    width, height = size
    command = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", pixel_format, "-s", f"{width}x{height}",
        "-framerate", _rate(fps), *input_queue_args(width, height), "-i", "pipe:0",
    ]
    if filter_complex:
        command += ["-filter_complex", filter_complex]
    command += [*output_args, str(target)]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=errors)
        assert process.stdin is not None
        try:
            for done, frame in enumerate(frames, start=1):
                # a contiguous frame goes to the pipe as it is: no bytes copy of a 100 MB frame
                process.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
                if progress is not None:
                    progress(done, total)
            process.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg stopped early; its own message explains why, below
        except BaseException:
            process.kill()
            process.wait()
            raise
        code = process.wait()
        if code != 0:
            errors.seek(0)
            message = errors.read().decode("utf-8", "replace").strip().splitlines()
            detail = message[-1] if message else f"exit status {code}"
            raise PosterError(f"Could not write the {what} file (ffmpeg said: {detail}).")


def _rate(fps: float) -> str:
    """fps as ffmpeg wants it: exact integers stay integers, 23.976 becomes a fraction."""
    if float(fps).is_integer():
        return str(int(fps))
    from fractions import Fraction

    fraction = Fraction(fps).limit_denominator(1001)
    return f"{fraction.numerator}/{fraction.denominator}"
