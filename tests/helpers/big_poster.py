"""A print-size poster animated and exported in a fresh process, reporting its peak memory.

    python -m tests.helpers.big_poster OUT.mp4 [--width 4400 --height 6000 --fps 24 --seconds 2]
                                               [--layer-scale 1.0] [--quality preview|final]

Prints one JSON line: {"peak_rss_mb": …, "seconds": …, "frames": …}. The peak is the
process's VmHWM (Linux), read at the end, so it covers loading, animating, compositing and
encoding (ffmpeg runs as its own process and is not counted). A fresh process is the only
honest way to measure a peak: a test process already holds whatever earlier tests left.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from engine.core.poster import Box, Layer, Poster

#: (preset, share of the canvas width, x, y as shares) of the six animated opaque layers.
PLACES = [
    ("float", 0.30, 0.08, 0.06), ("sway", 0.30, 0.58, 0.08), ("breathe", 0.28, 0.10, 0.38),
    ("bob", 0.28, 0.60, 0.40), ("shake", 0.26, 0.12, 0.70), ("jelly", 0.26, 0.62, 0.72),
]


def big_poster(width: int, height: int, layer_scale: float = 1.0) -> tuple[Poster, list[tuple[int, str, Box]]]:
    """An opaque gradient background and six opaque textured layers, each with a motion box.

    `layer_scale` shrinks the six layers (the test uses smaller ones to run quickly; the
    benchmark keeps them at about a third of the poster's width)."""
    ys = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    xs = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    background = np.empty((height, width, 4), np.uint8)
    background[..., 0] = ys
    background[..., 1] = xs
    background[..., 2] = 128
    background[..., 3] = 255
    layers = [Layer(1, "Background", background, Box(0, 0, width, height))]
    motions = []
    rng = np.random.default_rng(0)
    for index, (preset, share, x, y) in enumerate(PLACES, start=2):
        side = int(width * share * layer_scale)
        pixels = np.empty((side, side, 4), np.uint8)
        pixels[..., :3] = rng.integers(0, 256, 3, dtype=np.uint8)
        pixels[::16, :, :3] = 255  # stripes, so motion shows in the encoded video
        pixels[..., 3] = 255
        box = Box(int(width * x), int(height * y), side, side)
        layers.append(Layer(index, f"Layer {index}", pixels, box))
        margin = side // 8
        motion = Box(box.x - margin, box.y - margin, side + 2 * margin, side + 2 * margin).intersection(
            Box(0, 0, width, height)).union(box)
        motions.append((index, preset, motion))
    return Poster(width, height, layers, name="print"), motions


def vm_hwm_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--width", type=int, default=4400)
    parser.add_argument("--height", type=int, default=6000)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--quality", default="preview")
    parser.add_argument("--layer-scale", type=float, default=1.0)
    args = parser.parse_args()

    from engine.export import export
    from engine.motion import get_engine
    from tests.helpers.motion import animate_one, preset_request
    from engine.render.compositor import poster_stream

    started = time.perf_counter()
    frames = round(args.fps * args.seconds)
    poster, motions = big_poster(args.width, args.height, args.layer_scale)
    animator = get_engine("presets")
    clips = []
    for layer_id, preset, box in motions:
        request = preset_request(preset, layer=poster.layer(layer_id), box=box, frames=frames, fps=args.fps)
        clips.append(animate_one(animator, request))
    export(args.out, poster_stream(poster, clips, frames, fps=args.fps), args.fps, quality=args.quality)
    print(json.dumps({"peak_rss_mb": round(vm_hwm_mb(), 1), "seconds": round(time.perf_counter() - started, 1),
                      "frames": frames, "width": args.width, "height": args.height}))


if __name__ == "__main__":
    main()
