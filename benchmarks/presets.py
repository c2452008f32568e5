"""Time every preset on a realistic layer and print a table of medians.

    python -m benchmarks.presets                 # 500×500 layer in a 700×700 box, 49 frames
    python -m benchmarks.presets --layer 600x400 --box 700x500 --repeats 5

For each preset: the median wall time of `PresetAnimator.animate`, the median CPU time of
the process (all threads), frames per second, and, measured side by side in the same run,
the CPU time with the landing-region crop switched off and the saving the crop gives.
CPU time is the steadier measure on a shared machine: wall time there mostly measures how
much of the CPU the other processes left.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from pathlib import Path
from typing import Iterator

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from engine.motion import presets as preset_engine
from engine.motion.presets import resample as sampling
from engine.motion.base import MotionRequest
from engine.core.poster import Box, Layer, LayerKind


def poster_like_layer(width: int, height: int) -> Layer:
    """An anti-aliased blob with a colour gradient and soft edge, like a cut-out object."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    nx, ny = (xx + 0.5) / width * 2 - 1, (yy + 0.5) / height * 2 - 1
    radius = np.sqrt(nx**2 + ny**2) + 0.08 * np.sin(6 * np.arctan2(ny, nx))
    alpha = np.clip((0.95 - radius) * 40.0, 0.0, 1.0)
    pixels = np.zeros((height, width, 4), dtype=np.uint8)
    pixels[..., 0] = (255 * (0.5 + 0.5 * nx)).astype(np.uint8)
    pixels[..., 1] = (255 * (0.5 + 0.5 * ny)).astype(np.uint8)
    pixels[..., 2] = 180
    pixels[..., 3] = (255 * alpha).round().astype(np.uint8)
    pixels[pixels[..., 3] == 0, :3] = 0
    return Layer(id=1, name="Object", pixels=pixels, box=Box(0, 0, width, height), kind=LayerKind.PIXEL)


@contextlib.contextmanager
def intra_op_threads() -> Iterator[int]:
    """Stand-in for the sampler's frame pool: one worker, torch's thread setting untouched."""
    yield 1


def size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def timed(request: MotionRequest, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of animating `request`."""
    animator = preset_engine.PresetAnimator()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        animator.animate([request])[0]
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer", default="500x500", help="layer size WxH")
    parser.add_argument("--box", default="700x700", help="motion box size WxH (layer centred)")
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--presets", nargs="*", default=list(preset_engine.PRESETS))
    parser.add_argument("--no-compare", action="store_true", help="skip the side-by-side run without cropping")
    parser.add_argument(
        "--intra-op", action="store_true",
        help="for comparison: let torch use its own intra-op threads instead of the frame pool",
    )
    args = parser.parse_args()
    if args.intra_op:
        sampling._frames_in_parallel = intra_op_threads

    (lw, lh), (bw, bh) = size(args.layer), size(args.box)
    layer = poster_like_layer(lw, lh)
    layer = layer.with_pixels(layer.pixels, Box((bw - lw) // 2, (bh - lh) // 2, lw, lh))
    box = Box(0, 0, bw, bh)
    print(f"layer {lw}×{lh} in a {bw}×{bh} box, {args.frames} frames, median of {args.repeats}, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    header = "| preset | wall ms | CPU ms | frames/s |" + ("" if args.no_compare else " CPU ms, no crop | crop saving |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    render = sampling.render_motion
    walls, cpus = [], []
    for name in args.presets:
        request = MotionRequest(layer=layer, box=box, params={"preset": name}, frames=args.frames)
        timed(request, 1)  # warm-up: first call pays for imports and allocations
        wall, cpu = timed(request, args.repeats)
        walls.append(wall)
        cpus.append(cpu)
        row = f"| {name} | {wall * 1000:.0f} | {cpu * 1000:.0f} | {args.frames / wall:.0f} |"
        if not args.no_compare:
            preset_engine.render_motion = lambda static, motion, **kw: render(static, motion, crop=False, **kw)
            try:
                _, full_cpu = timed(request, args.repeats)
            finally:
                preset_engine.render_motion = render
            row += f" {full_cpu * 1000:.0f} | {full_cpu / cpu:.2f}× |"
        print(row, flush=True)
    print(f"median over presets: {statistics.median(walls) * 1000:.0f} ms wall, "
          f"{statistics.median(cpus) * 1000:.0f} ms CPU per {args.frames}-frame clip")


if __name__ == "__main__":
    main()
