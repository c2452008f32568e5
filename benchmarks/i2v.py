"""Latency per request of the `i2v` engine on tiny random pipelines, one per family, on the CPU.

The tiny models (tests/helpers/i2v_tiny.py) make the model's own share negligible, so the
numbers are the engine's fixed cost around a generation: text and image encoders, the
scheduler loop, VAE decode at a tiny canvas, then cropping, retiming and matting at the
box's real size (the part that scales with the layer, shown in its own column). Each
family's folder is built in a temporary directory and loaded once (load time shown), then
animates the same layer `--repeats` times; the median is reported.

    .venv/bin/python -m benchmarks.i2v [--repeats 3] [--frames 12] [--layer Butterfly]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from engine import load_psd
from engine.core.poster import Box
from engine.motion.base import MotionRequest
from engine.motion.i2v import I2VAnimator
from tests.helpers import i2v_tiny
from tests.helpers.paths import ASSETS_DIR

#: layer name -> poster it comes from (a small and a large one).
LAYERS = {"Butterfly": "flower.psd", "Balloon": "balloon.psd"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--layer", default="Butterfly", choices=sorted(LAYERS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (tiny models: 1 is fastest)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    poster = load_psd(ASSETS_DIR / "samples" / LAYERS[args.layer])
    layer = poster.layer(args.layer)
    b = layer.box
    box = Box(b.x - 20, b.y - 30, b.w + 36, b.h + 50).intersection(poster.canvas)
    print(f"layer {args.layer} in a {box.w}×{box.h} box, {args.frames} frames, {args.steps} steps, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| family | build (s) | load (s) | request median (s) | of which crop+retime+matte (s) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as root:
        for name, build in i2v_tiny.BUILDERS.items():
            started = time.perf_counter()
            folder = build(Path(root) / name)
            built = time.perf_counter() - started
            os.environ["I2V_MODEL"] = str(folder)
            engine = I2VAnimator(device="cpu")
            started = time.perf_counter()
            engine.pipeline()
            loaded = time.perf_counter() - started
            post: list[float] = []
            original = engine._clip

            def timed_clip(*a, _original=original):
                t = time.perf_counter()
                clip = _original(*a)
                post.append(time.perf_counter() - t)
                return clip

            engine._clip = timed_clip
            request = MotionRequest(layer=layer, box=box, prompt="the butterfly flaps its wings", frames=args.frames,
                                    params={"resolution": i2v_tiny.TINY_RESOLUTION, "steps": args.steps})
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                engine.animate([request])
                times.append(time.perf_counter() - started)
            print(f"| {engine.model_folder().family.label} | {built:.2f} | {loaded:.2f} | "
                  f"{statistics.median(times):.2f} | {statistics.median(post):.2f} |")
            engine.release()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
