"""Layer styles (issue 17): fidelity against Photoshop's preview, cost per effect, cost per frame.

1. For every corpus file with layer styles: PSNR of our static render and of psd-tools'
   composite against the merged preview Photoshop stored in the file (premultiplied RGBA,
   benchmarks.fidelity_metrics), side by side.
2. Cost of drawing each effect alone on a 400×300 layer (a rounded badge with a hole),
   median of --runs.
3. Live styles: on each sample poster, its Badge layer (about 200×200) spun through 24
   frames in a motion box, rendered with `iter_frames` plain and with a drop shadow +
   stroke + outer glow drawn per frame; median ms per frame of each and the difference.

    /work/main/.venv/bin/python -m benchmarks.styles [--runs 5] [--parts fidelity,effects,live]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.fidelity_metrics import photoshop_preview, psd_tools_render, psnr
from engine import ImportLimits, load_psd, render_static
from engine.core.clip import LayerClip
from engine.core.poster import Box, Poster
from engine.core.style import (
    BevelEmboss,
    ColorOverlay,
    DropShadow,
    Gradient,
    GradientOverlay,
    GradientStop,
    InnerGlow,
    InnerShadow,
    LayerStyle,
    OuterGlow,
    PatternOverlay,
    Satin,
    Stroke,
    encode_tile,
)
from engine.render.compositor import iter_frames
from engine.render.effects import render_style

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path("/work/shared/psd-corpus") if not (ROOT.parent / "shared" / "psd-corpus").exists() \
    else ROOT.parent / "shared" / "psd-corpus"
STYLED_FILES = [
    "psd-tools__psd-tools/tests/psd_files/layer_effects.psd",
    "layervault__psd.rb/spec/files/slices.psd",
    "psd-tools__psd-tools/tests/psd_files/masks.psd",
    "psd-tools__psd-tools/tests/psd_files/fill_adjustments.psd",
    "psd-tools__psd-tools/tests/psd_files/clipping-mask2.psd",
    "psd-tools__psd-tools/tests/psd_files/blend-and-clipping.psd",
]
GRADIENT = Gradient(stops=(GradientStop(0.0, (0.1, 0.0, 0.4)), GradientStop(1.0, (1.0, 0.5, 0.0))), angle=60.0)
TILE = np.dstack([np.indices((8, 8)).sum(0) % 2 * 255] * 3 + [np.full((8, 8), 255)]).astype(np.uint8)
EFFECTS = {
    "drop shadow": DropShadow(distance=12, size=16),
    "inner shadow": InnerShadow(distance=8, size=12),
    "outer glow": OuterGlow(size=18),
    "inner glow": InnerGlow(size=12),
    "colour overlay": ColorOverlay(color=(0.1, 0.3, 0.8)),
    "gradient overlay": GradientOverlay(gradient=GRADIENT),
    "pattern overlay": PatternOverlay(tile=encode_tile(TILE)),
    "stroke (outside, 6 px)": Stroke(size=6, color=(1.0, 1.0, 1.0)),
    "satin": Satin(distance=10, size=14),
    "bevel (inner, smooth)": BevelEmboss(size=10),
}
LIVE = LayerStyle((DropShadow(distance=10, size=12), Stroke(size=4, color=(1.0, 1.0, 1.0)), OuterGlow(size=10)))


def median_seconds(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def badge(width: int = 400, height: int = 300) -> np.ndarray:
    image = Image.new("RGBA", (width, height))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((10, 10, width - 10, height - 10), radius=40, fill=(200, 60, 60, 255))
    draw.ellipse((width // 2 - 50, height // 2 - 50, width // 2 + 50, height // 2 + 50), fill=(0, 0, 0, 0))
    return np.asarray(image)


def fidelity_table() -> None:
    print(f"{'file':24s} {'styled layers':>13s} {'ours vs preview':>15s} {'psd-tools vs preview':>20s}")
    for name in STYLED_FILES:
        path = CORPUS / name
        poster = load_psd(path, ImportLimits(isolate=False))
        styled = sum(layer.style is not None for layer in poster.layers)
        ours = render_static(poster)
        preview = photoshop_preview(path)
        reference = psd_tools_render(path)
        if preview is None:
            print(f"{path.name:24s} {styled:13d} {'no preview':>15s} {'(ours vs psd-tools ' + format(psnr(ours, reference), '.1f') + ')':>20s}")
            continue
        print(f"{path.name:24s} {styled:13d} {psnr(ours, preview):15.1f} {psnr(reference, preview):20.1f}")


def effect_costs(runs: int) -> None:
    pixels = badge()
    box = Box(0, 0, pixels.shape[1], pixels.shape[0])
    print(f"\n{'effect (400×300 layer)':28s} {'ms':>8s}")
    for name, effect in EFFECTS.items():
        style = LayerStyle((effect,))
        seconds = median_seconds(lambda: render_style(pixels, box, style), runs)
        print(f"{name:28s} {seconds * 1000:8.1f}")


def spun_clip(poster: Poster, layer_id: int, frames: int = 24) -> LayerClip:
    layer = poster.layer(layer_id)
    side = int(np.ceil(np.hypot(layer.box.w, layer.box.h))) + 2
    box = Box(layer.box.x + layer.box.w // 2 - side // 2, layer.box.y + layer.box.h // 2 - side // 2, side, side)
    canvas = Image.new("RGBA", (side, side))
    canvas.paste(Image.fromarray(layer.pixels, "RGBA"), (layer.box.x - box.x, layer.box.y - box.y))
    stack = np.stack([np.asarray(canvas.rotate(360.0 * i / frames, resample=Image.Resampling.BILINEAR))
                      for i in range(frames)])
    return LayerClip(layer_id, box, stack)


def live_costs(runs: int) -> None:
    print(f"\n{'sample':12s} {'layer':>22s} {'plain ms/frame':>15s} {'styled ms/frame':>16s} {'style cost':>11s}")
    for path in sorted((ROOT / "assets" / "samples").glob("*.psd")):
        poster = load_psd(path, ImportLimits(isolate=False))
        layer = poster.layer("Badge")
        clip = spun_clip(poster, layer.id)
        styled = Poster(poster.width, poster.height,
                        [replace(item, style=LIVE) if item.id == layer.id else item for item in poster.layers])

        def run(target: Poster) -> None:
            for _ in iter_frames(target, [clip]):
                pass

        plain = median_seconds(lambda: run(poster), runs) / clip.frame_count
        live = median_seconds(lambda: run(styled), runs) / clip.frame_count
        print(f"{path.stem:12s} {layer.name[:14] + ' ' + str(layer.box.w) + '×' + str(layer.box.h):>22s} "
              f"{plain * 1000:15.1f} {live * 1000:16.1f} {(live - plain) * 1000:+11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--parts", default="fidelity,effects,live")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load}; PSNR premultiplied RGBA")
    if "fidelity" in parts:
        fidelity_table()
    if "effects" in parts:
        effect_costs(args.runs)
    if "live" in parts:
        live_costs(max(1, args.runs // 2))
    print(f"load average at the end {', '.join(f'{value:.1f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
