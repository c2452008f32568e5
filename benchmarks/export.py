"""Time every export format on a real-sized poster: 1080×1350, 49 frames at 24 fps.

    python -m benchmarks.export [--runs 3] [--frames 49]

The frames are the balloon sample poster with its Balloon layer drifting upwards (most of
the picture static, one subject moving, as in real use). Prints a markdown table of the
median and fastest wall time per format over `--runs` runs, the file size, and for the two
MP4 qualities ("final" for exports, "preview" for the editor) the PSNR of the decoded
video against the input frames. `--fanout` instead compares writing MP4 + GIF + WebP one
after another, through the tee (engine.export.fanout) and through one ffmpeg with three outputs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from psd_tools import PSDImage

ROOT = Path(__file__).resolve().parents[1]

from engine.export import export
from engine.core.clip import LayerClip
from engine.core.poster import Box, Layer, Poster
from tests.helpers.video_decode import decode, psnr

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "samples" / "balloon.psd"


def balloon_frames(count: int) -> tuple[np.ndarray, Poster, dict[int, LayerClip]]:
    """The flat frames plus a two-layer poster (background, balloon clip) for the bundle."""
    psd = PSDImage.open(SAMPLE)
    balloon = next(layer for layer in psd.descendants() if layer.name == "Balloon")
    sprite = np.asarray(balloon.composite().convert("RGBA"))
    left, top = balloon.left, balloon.top
    balloon.visible = False
    background = np.asarray(psd.composite(force=True).convert("RGBA")).copy()
    height, width = background.shape[:2]
    lift = 3
    box = Box(left, top - lift * (count - 1), sprite.shape[1], sprite.shape[0] + lift * (count - 1))
    clip_frames = np.zeros((count, box.h, box.w, 4), np.uint8)
    frames = np.empty((count, height, width, 4), np.uint8)
    for t in range(count):
        y = top - lift * t
        clip_frames[t, y - box.y : y - box.y + sprite.shape[0]] = sprite
        frame = background.astype(np.float32)
        region = frame[y : y + sprite.shape[0], left : left + sprite.shape[1]]
        alpha = sprite[..., 3:4] / 255.0
        region[..., :3] = sprite[..., :3] * alpha + region[..., :3] * (1 - alpha)
        frames[t] = np.round(frame).astype(np.uint8)
    poster = Poster(width, height, [
        Layer(1, "Background", background, Box(0, 0, width, height)),
        Layer(2, "Balloon", clip_frames[0][box.h - sprite.shape[0]:], Box(left, top, sprite.shape[1], sprite.shape[0])),
    ], name="balloon")
    return frames, poster, {2: LayerClip(2, box, clip_frames, preset="float")}


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir())
    return path.stat().st_size


def one_ffmpeg_three_outputs(frames: np.ndarray, folder: Path, fps: int = 24) -> list[Path]:
    """MP4 + GIF + WebP from one ffmpeg process: one input pipe, a split filter, three encoders
    (the alternative to engine.export.fanout's tee into one process per format)."""
    import subprocess

    from engine.export.ffmpeg import ffmpeg_exe
    from engine.export.options import quality
    from engine.export.video import gif_filter

    level = quality("standard")
    count, height, width = frames.shape[:3]
    gif_graph = gif_filter(level, alpha=False).replace("[0:v]split[a][b]", "[g]split[a][b]") + "[go]"
    graph = (f"[0:v]split=3[m][g][w];[m]scale=out_color_matrix=bt709:out_range=tv,format=yuv420p[mo];"
             f"{gif_graph};[w]format=yuv420p[wo]")
    outputs = [folder / "one.mp4", folder / "one.gif", folder / "one.webp"]
    command = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba",
        "-s", f"{width}x{height}", "-framerate", str(fps), "-i", "pipe:0", "-filter_complex", graph,
        "-map", "[mo]", "-c:v", "libx264", "-preset", level.x264[0], "-crf", str(level.x264[1]),
        "-movflags", "+faststart", "-f", "mp4", str(outputs[0]),
        "-map", "[go]", "-loop", "0", "-f", "gif", str(outputs[1]),
        "-map", "[wo]", "-c:v", "libwebp_anim", "-lossless", "0", "-quality", str(level.webp),
        "-compression_level", "4", "-loop", "0", "-f", "webp", str(outputs[2]),
    ]
    process = subprocess.Popen(command, stdin=subprocess.PIPE)
    assert process.stdin is not None
    for frame in frames:
        process.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit("ffmpeg with three outputs failed")
    return outputs


def fanout_rows(frames: np.ndarray, folder: Path, runs: int) -> dict[str, tuple[float, float]]:
    """MP4 + GIF + WebP: one after another, the tee (one ffmpeg per format, side by side) and
    one ffmpeg with three outputs. (median s, fastest s) per row."""
    from engine.export import export_many
    from engine.export.formats import export_format

    keys = ("mp4", "gif", "webp")
    targets = [(folder / export_format(k).file_name("tee"), export_format(k)) for k in keys]
    ways = {
        "MP4 + GIF + WebP, one after another": lambda: [export(path, frames, 24, format=f.key)
                                                        for path, f in targets],
        "MP4 + GIF + WebP, tee: one ffmpeg per format": lambda: export_many(targets, frames, 24),
        "MP4 + GIF + WebP, one ffmpeg, three outputs": lambda: one_ffmpeg_three_outputs(frames, folder),
    }
    rows = {}
    for name, way in ways.items():
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            way()
            times.append(time.perf_counter() - start)
        rows[name] = (statistics.median(times), min(times))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--only", nargs="*", help="formats to time, e.g. .mp4 .gif")
    parser.add_argument("--fanout", action="store_true",
                        help="only compare the ways of writing MP4 + GIF + WebP from one render")
    args = parser.parse_args()
    frames, poster, clips = balloon_frames(args.frames)
    if args.fanout:
        with tempfile.TemporaryDirectory() as folder:
            rows = fanout_rows(frames, Path(folder), args.runs)
        print(f"{frames.shape[0]} frames of {frames.shape[2]}×{frames.shape[1]}, {args.runs} runs, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
        print("| way | median s | fastest s |\n| --- | ---: | ---: |")
        for name, (median, fastest) in rows.items():
            print(f"| {name} | {median:.2f} | {fastest:.2f} |")
        return
    # row name -> (file name, export options)
    jobs = {
        ".mp4": ("poster.mp4", {}),
        ".mp4 preview": ("preview.mp4", {"quality": "preview"}),
        **{suffix: (f"poster{suffix}", {}) for suffix in (".gif", ".png", ".webp", ".webm", ".mov")},
        "frames.zip": ("frames.zip", {}),
        "bundle.zip": ("bundle.zip", {"poster": poster, "clips": clips}),
    }
    print(f"{frames.shape[0]} frames of {frames.shape[2]}×{frames.shape[1]}, {args.runs} runs, "
          f"{os.cpu_count()} CPUs\n")
    print("| format | median s | fastest s | ms / frame | size MB | PSNR dB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for name, (file_name, options) in jobs.items():
            if args.only and name not in args.only:
                continue
            target = Path(folder) / file_name
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                export(target, frames, 24, **options)
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            # the poster is opaque, so the MP4's RGB should match the input's RGB
            quality = f"{psnr(decode(target)[..., :3], frames[..., :3]):.2f}" if name.startswith(".mp4") else "–"
            print(f"| {name} | {median:.2f} | {min(times):.2f} | {1000 * median / len(frames):.0f} | "
                  f"{size_of(target) / 1e6:.2f} | {quality} |", flush=True)


if __name__ == "__main__":
    main()
