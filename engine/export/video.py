"""Video and animated-image formats, all encoded by ffmpeg from piped frames.

Each writer takes a FrameStream (or an array) and pipes it frame by frame.

Flat formats (MP4, GIF, APNG, WebP) show the poster as a viewer sees it; the alpha
formats (WebM VP9, ProRes 4444) carry transparency for editing tools. A `background`
flattens transparency onto a colour; without one, formats that can keep alpha keep it
and MP4 (which cannot) uses white paper.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from engine.core.atomic import atomic_output
from engine.export.ffmpeg import HUGE_FRAME_PIXELS, encode
from engine.core.stream import FrameStream
from engine.export.frames import (
    Progress,
    as_stream,
    check_fps,
    clear_transparent,
    even_size,
    flatten,
    has_transparency,
    iter_converted,
    over_background,
    pad_to_even,
    parse_color,
)
from engine.core.poster import PosterError
from engine.export.options import FOREVER, QUALITIES, Quality, quality as quality_level

Color = tuple[int, int, int] | str | None

# Tag what we encode: BT.709 matrix, limited range, so browsers and players decode the
# colours the designer picked instead of guessing (and drifting) per player.
_BT709 = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]

#: MP4 quality -> (x264 preset, crf), from the one quality table (engine.export.options).
#: "standard" (alias "final") is what a designer downloads; "preview" is the editor's
#: after-Animate video at preview size, where waiting costs more than bytes: `ultrafast`
#: at crf 18 (docs/benchmarks/editor.md; at full size `veryfast` was as fast end to end,
#: docs/benchmarks/export.md), played from the editor's own server.
MP4_QUALITIES: dict[str, tuple[str, int]] = {q.key: q.x264 for q in QUALITIES}


#: x264 settings for huge frames: a short lookahead, no sync-lookahead buffer, and
#: slice threads (they split one frame; frame threads each hold frames of their own).
HUGE_FRAME_X264 = "rc-lookahead=4:sync-lookahead=0:sliced-threads=1:threads=2"


def x264_memory_args(width: int, height: int) -> list[str]:
    """x264 options that bound the encoder's memory for a frame of width × height."""
    if width * height <= HUGE_FRAME_PIXELS:
        return []
    return ["-x264-params", HUGE_FRAME_X264]


def _write(
    path: str | os.PathLike,
    frames: FrameStream,
    fps: float,
    convert: Callable[[np.ndarray], np.ndarray],
    size: tuple[int, int],
    pixel_format: str,
    output_args: Sequence[str],
    what: str,
    progress: Progress | None,
    filter_complex: str | None = None,
) -> Path:
    with atomic_output(path) as temp:
        encode(
            iter_converted(frames, convert), len(frames), size, fps, pixel_format,
            output_args, temp, what, progress, filter_complex,
        )
    return Path(path)


def _flat_or_alpha(frames: FrameStream, background: Color) -> tuple[Callable, str, bool]:
    """How to feed a format that may keep alpha: (convert, input pixel format, keeps alpha)."""
    if background is None and has_transparency(frames):
        return clear_transparent, "rgba", True
    color = parse_color(background)
    return (lambda frame: flatten(frame, color)), "rgb24", False


def write_mp4(
    path: str | os.PathLike,
    frames: FrameStream | np.ndarray,
    fps: float = 24,
    *,
    background: Color = None,
    quality: str = "standard",
    crf: int | None = None,
    max_side: int | None = None,
    progress: Progress | None = None,
) -> Path:
    """H.264 MP4 that plays everywhere: yuv420p, moov atom first for instant web playback.

    `quality` picks the x264 speed/size trade-off from the quality table (draft, standard,
    high; "preview" for the editor's quick look); `crf` overrides that quality's crf.
    Odd canvas sizes are padded by one repeated edge pixel (never resized), unless
    `max_side` asks for a smaller video: then ffmpeg scales (bilinear) to an even size
    with the longer side at most `max_side`, in the same pass as the colour conversion,
    several times faster than resizing each frame in Python first.
    """
    preset, default_crf = mp4_quality(quality)
    frames, fps = as_stream(frames), check_fps(fps)
    color = parse_color(background)
    height, width = frames.height, frames.width
    scaled = _scaled_size(width, height, max_side)
    resize = f"{scaled[0]}:{scaled[1]}:flags=bilinear:" if scaled else ""
    args = [
        "-vf", f"scale={resize}out_color_matrix=bt709:out_range=tv,format=yuv420p",
        "-c:v", "libx264", "-preset", preset,
        "-crf", str(int(default_crf if crf is None else crf)), *_BT709,
        *x264_memory_args(*(scaled or (width, height))),
        "-movflags", "+faststart", "-f", "mp4",
    ]
    # a stream known to be opaque (a poster over an opaque background) skips the per-frame scan for see-through pixels
    flat = (lambda frame: frame) if frames.opaque else (lambda frame: over_background(frame, color))
    if scaled:
        convert, size = flat, (width, height)
    else:
        convert, size = (lambda frame: pad_to_even(flat(frame))), even_size(width, height)
    return _write(path, frames, fps, convert, size, "rgba", args, "MP4", progress)


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int] | None:
    """Even (width, height) with the longer side at most `max_side`; None when no smaller."""
    if max_side is None or max(width, height) <= max_side:
        return None
    if max_side < 2:
        raise PosterError(f"A video needs at least 2 pixels a side; max_side {max_side} is too small.")
    scale = max_side / max(width, height)
    return tuple(max(2, int(side * scale) // 2 * 2) for side in (width, height))  # type: ignore[return-value]


def mp4_quality(quality: str) -> tuple[str, int]:
    """(x264 preset, crf) for a quality name; a typo is refused before any frame is encoded."""
    return quality_level(quality).x264


def gif_loop(plays: int) -> str:
    """ffmpeg's GIF `-loop` for "plays this many times": the NETSCAPE extension counts
    *repeats* after the first play, and no extension at all means play once."""
    return "0" if plays == FOREVER else "-1" if plays == 1 else str(plays - 1)


def write_gif(
    path: str | os.PathLike,
    frames: FrameStream | np.ndarray,
    fps: float = 24,
    *,
    background: Color = None,
    quality: str = "standard",
    plays: int = FOREVER,
    progress: Progress | None = None,
) -> Path:
    """GIF with one palette tuned to the whole clip, in one ffmpeg call (split filter):
    palettegen counts the colours of what moves (`stats_mode=diff`: a static poster's
    background does not crowd out the moving layer's colours), paletteuse dithers with the
    quality's method and redraws only the changed rectangle of each frame (`diff_mode`),
    which keeps static areas byte-stable and the file small.

    A poster with transparency keeps it (GIF has 1-bit alpha: pixels under half opacity
    become transparent) unless a background colour is given. `plays`: 0 forever.
    """
    level = quality_level(quality)
    frames, fps = as_stream(frames), check_fps(fps)
    convert, pixel_format, alpha = _flat_or_alpha(frames, background)
    graph = gif_filter(level, alpha)
    height, width = frames.height, frames.width
    args = ["-loop", gif_loop(plays), "-f", "gif"]
    return _write(path, frames, fps, convert, (width, height), pixel_format, args, "GIF", progress, graph)


def gif_filter(level: Quality, alpha: bool) -> str:
    """The one-pass palette graph: split → palettegen (diff stats) → paletteuse."""
    return (
        f"[0:v]split[a][b];[a]palettegen=max_colors={level.gif_colors}:stats_mode=diff:"
        f"reserve_transparent={int(alpha)}[p];"
        f"[b][p]paletteuse=dither={level.gif_dither}:diff_mode=rectangle:alpha_threshold=128"
    )


def write_apng(
    path: str | os.PathLike,
    frames: FrameStream | np.ndarray,
    fps: float = 24,
    *,
    background: Color = None,
    quality: str = "standard",
    plays: int = FOREVER,
    progress: Progress | None = None,
) -> Path:
    """Animated PNG: lossless, keeps full alpha; large, so best for short or small posters.

    Quality only trades encode time for size (the prediction filter); pixels are exact.
    """
    level = quality_level(quality)
    frames, fps = as_stream(frames), check_fps(fps)
    convert, pixel_format, _ = _flat_or_alpha(frames, background)
    height, width = frames.height, frames.width
    args = ["-c:v", "apng", "-pred", level.apng_pred, "-plays", str(int(plays)), "-pix_fmt", pixel_format,
            "-f", "apng"]
    return _write(path, frames, fps, convert, (width, height), pixel_format, args, "APNG", progress)


def write_webp(
    path: str | os.PathLike,
    frames: FrameStream | np.ndarray,
    fps: float = 24,
    *,
    background: Color = None,
    quality: str = "standard",
    plays: int = FOREVER,
    progress: Progress | None = None,
) -> Path:
    """Animated WebP (lossy, with alpha when the poster has it): small files for the web."""
    level = quality_level(quality)
    frames, fps = as_stream(frames), check_fps(fps)
    convert, pixel_format, alpha = _flat_or_alpha(frames, background)
    height, width = frames.height, frames.width
    args = [
        "-c:v", "libwebp_anim", "-lossless", "0", "-quality", str(level.webp),
        "-compression_level", "4", "-pix_fmt", "yuva420p" if alpha else "yuv420p",
        "-loop", str(int(plays)), "-f", "webp",
    ]
    return _write(path, frames, fps, convert, (width, height), pixel_format, args, "WebP", progress)


def write_webm(
    path: str | os.PathLike,
    frames: FrameStream | np.ndarray,
    fps: float = 24,
    *,
    quality: str = "standard",
    crf: int | None = None,
    progress: Progress | None = None,
) -> Path:
    """WebM VP9 with an alpha channel (yuva420p), the transparent clip browsers play.

    Players that use ffmpeg's built-in VP9 decoder drop the alpha; decode with libvpx-vp9.
    An odd width or height gains one fully transparent column or row.
    """
    level = quality_level(quality)
    frames, fps = as_stream(frames), check_fps(fps)
    height, width = frames.height, frames.width
    args = [
        "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-crf", str(int(level.vp9_crf if crf is None else crf)),
        "-b:v", "0", "-deadline", "good", "-cpu-used", str(level.vp9_cpu_used), "-row-mt", "1", "-auto-alt-ref", "0",
        *_BT709, "-f", "webm",
    ]
    convert = lambda frame: pad_to_even(clear_transparent(frame), transparent=True)  # noqa: E731
    return _write(path, frames, fps, convert, even_size(width, height), "rgba", args, "WebM", progress)


def write_prores(
    path: str | os.PathLike,
    frames: FrameStream | np.ndarray,
    fps: float = 24,
    *,
    progress: Progress | None = None,
) -> Path:
    """QuickTime ProRes 4444 with alpha (yuva444p10le): what After Effects and Premiere want."""
    frames, fps = as_stream(frames), check_fps(fps)
    height, width = frames.height, frames.width
    args = [
        "-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le",
        "-vendor", "apl0", *_BT709, "-f", "mov",
    ]
    return _write(path, frames, fps, clear_transparent, (width, height), "rgba", args, "ProRes MOV", progress)
