"""Matting quality where the truth is known: preset clips laid over gray, matted back.

The image-to-video engines generate a layer over 50 % gray and matte it back to RGBA
(engine.motion.matting). A preset clip over gray is exactly such a video with a known
answer, so each matting method is scored against it: mean alpha error (SAD per pixel),
alpha IoU and premultiplied RGBA PSNR, per sample layer and overall.

The learned method (`vitmatte`) is scored beside the closed-form ones: with the model
`--vitmatte FOLDER` names (or `I2V_MATTING_MODEL`), else with a tiny random ViTMatte built
here, whose quality numbers mean nothing (only the band it decides is affected, and
randomly): that row then checks the harness and measures the overhead, not the model.

    .venv/bin/python -m benchmarks.matting [--frames 12] [--vitmatte FOLDER]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from engine import load_psd
from engine.core.poster import Box
from engine.motion.matting import MATTING_METHODS, matte, matte_quality, over_gray
from engine.motion.matting_model import MODEL_ENV, matting_model
from engine.motion.presets import PresetAnimator
from engine.motion.base import MotionRequest
from tests.helpers.paths import ASSETS_DIR

#: (poster, layer, prompt): layers of every colour family the samples have, muted ones included.
CASES = (
    ("balloon.psd", "Balloon", "floats gently"),
    ("balloon.psd", "Title", "title waves"),
    ("flower.psd", "Bloom", "sways in the breeze"),
    ("flower.psd", "Leaves", "sways"),
    ("ocean.psd", "Fish", "bobs up and down"),
    ("ocean.psd", "Seaweed Left", "sways in the current"),
    ("ocean.psd", "Bubbles", "bubbles rise"),
)


def truth_clips(frames: int):
    """(name, static layer in its box, true RGBA frames) for every case."""
    animator = PresetAnimator()
    posters = {}
    for poster_name, layer_name, prompt in CASES:
        poster = posters.setdefault(poster_name, load_psd(ASSETS_DIR / "samples" / poster_name))
        layer = next(layer for layer in poster.layers if layer.name == layer_name)
        box = Box(layer.box.x - 32, layer.box.y - 32, layer.box.w + 64, layer.box.h + 64).intersection(poster.canvas)
        clip = animator.animate([MotionRequest(layer=layer, box=box, prompt=prompt, frames=frames)])[0]
        true = [clip.frame(i) for i in range(clip.frame_count)]
        yield f"{poster_name[:-4]}/{layer_name}", true


def learned_model(folder: str | None, scratch: Path) -> tuple[str, bool]:
    """(ViTMatte folder, whether it is a real model): the one named, else a tiny random one."""
    folder = folder or os.environ.get(MODEL_ENV, "").strip() or None
    if folder:
        return folder, True
    from tests.helpers.matting_tiny import vitmatte

    return str(vitmatte(scratch / "tiny-vitmatte")), False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--vitmatte", help=f"a local ViTMatte folder (default: {MODEL_ENV}, else a tiny random one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder, real = learned_model(args.vitmatte, Path(scratch))
        os.environ[MODEL_ENV] = folder
        matting_model()  # loaded before the clock starts: ms/frame is matting alone
        report(args.frames, real)


def report(frames: int, real_model: bool) -> None:
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in MATTING_METHODS}
    print("| layer | method | alpha SAD | alpha IoU | RGBA PSNR (dB) | ms/frame |")
    print("|---|---|---|---|---|---|")
    for name, true in truth_clips(frames):
        gray = [over_gray(frame) for frame in true]
        for method in MATTING_METHODS:
            started = time.perf_counter()
            matted = list(matte(gray, true[0], method))
            elapsed = (time.perf_counter() - started) * 1000 / len(gray)
            # frame 0 is the static layer by construction: score the generated frames only
            score = matte_quality(true[1:], matted[1:])
            rows[method].append(score)
            print(f"| {name} | {method} | {score['alpha_sad']:.4f} | {score['alpha_iou']:.3f} | "
                  f"{score['rgba_psnr']:.1f} | {elapsed:.0f} |")
    print()
    print("| method | median alpha SAD | median alpha IoU | median RGBA PSNR (dB) |")
    print("|---|---|---|---|")
    for method, scores in rows.items():
        print(f"| {method} | {statistics.median(s['alpha_sad'] for s in scores):.4f} | "
              f"{statistics.median(s['alpha_iou'] for s in scores):.3f} | "
              f"{statistics.median(s['rgba_psnr'] for s in scores):.1f} |")
    if not real_model:
        print("\nvitmatte ran a tiny RANDOM model: its quality numbers are meaningless (the harness and the "
              "overhead are what they show); pass --vitmatte FOLDER for a real one.")


if __name__ == "__main__":
    main()
