"""Compositor speed: our render() against a naive per-frame PIL alpha_composite loop.

A 1080×1350 poster, 12 normal-mode layers, 6 of them animated with 49-frame clips.
Both sides produce the same 49 RGBA frames (checked), timed in the same run, median of
several runs. The naive loop is what one writes first: per frame, every layer pasted on
a transparent full-size image and Image.alpha_composite'd over the canvas. A second,
smarter PIL baseline composites each layer in place only over its own box
(Image.alpha_composite with dest=), to show where our gain comes from.

The memory-bandwidth column relates our time to the bytes a render must at least move
(write every output frame once, read the static frame it starts from) and to this
machine's bandwidth, measured here as a large numpy copy.

    /work/main/.venv/bin/python -m benchmarks.compositor [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image


from engine import Box, Layer, Poster
from engine.render.compositor import iter_frames, render
from engine.core.clip import LayerClip, place_static

WIDTH, HEIGHT, FRAMES = 1080, 1350, 49

# (name, box, animated motion box or None), bottom first. A typical poster: a background,
# a photo and its frame, a person, clouds, a sun, sparkles and the title moving; the
# subtitle and the logo stay still on top.
LAYOUT = [
    ("background", Box(0, 0, 1080, 1350), None),
    ("texture", Box(0, 0, 1080, 700), None),
    ("photo", Box(90, 260, 900, 700), None),
    ("frame", Box(60, 230, 960, 760), None),
    ("sun", Box(700, 80, 260, 260), Box(672, 48, 320, 320)),
    ("cloud left", Box(40, 180, 360, 160), Box(16, 160, 480, 208)),
    ("person", Box(300, 420, 480, 640), Box(272, 400, 544, 688)),
    ("title", Box(120, 1040, 840, 150), Box(96, 1008, 896, 208)),
    ("subtitle", Box(200, 1200, 680, 60), None),
    ("sparkle a", Box(150, 900, 120, 120), Box(128, 880, 176, 176)),
    ("sparkle b", Box(820, 860, 120, 120), Box(800, 832, 176, 176)),
    ("logo", Box(900, 1250, 140, 80), None),
]

# The worst case for us: a full-canvas static overlay (grain, a vignette) above every
# animated layer, so every dirty pixel needs one more layer per frame.
OVERLAY = ("grain overlay", Box(0, 0, 1080, 1350), None)


def soft_layer_pixels(rng, w: int, h: int, opaque: bool) -> np.ndarray:
    pixels = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    if opaque:
        pixels[..., 3] = 255
    else:
        ys, xs = np.mgrid[0:h, 0:w]
        radius = np.hypot((xs - w / 2) / (w / 2), (ys - h / 2) / (h / 2))
        pixels[..., 3] = (np.clip((1.05 - radius) * 3, 0, 1) * 255).astype(np.uint8)
    return pixels


def build_scene(layout: list = LAYOUT, seed: int = 0) -> tuple[Poster, dict[int, LayerClip]]:
    rng = np.random.default_rng(seed)
    layers, clips = [], {}
    for index, (name, box, motion) in enumerate(layout, start=1):
        pixels = soft_layer_pixels(rng, box.w, box.h, opaque=index == 1)
        layer = Layer(id=index, name=name, pixels=pixels, box=box)
        layers.append(layer)
        if motion is not None:
            frames = np.empty((FRAMES, motion.h, motion.w, 4), np.uint8)
            for t in range(FRAMES):  # the layer drifting around inside its motion box
                dx = int(round((motion.w - box.w) / 2 * (1 + np.sin(2 * np.pi * t / FRAMES))))
                dy = int(round((motion.h - box.h) / 2 * (1 + np.cos(2 * np.pi * t / FRAMES))))
                frames[t] = 0
                frames[t, dy:dy + box.h, dx:dx + box.w] = pixels
            frames[0] = place_static(layer, motion)
            clips[index] = LayerClip(layer_id=index, box=motion, frames=frames)
    return Poster(WIDTH, HEIGHT, layers), clips


def frame_sources(poster: Poster, clips: dict[int, LayerClip], index: int):
    """(key, pixels, box) of every layer as frame `index` shows it; key names the image."""
    for layer in poster.layers:
        clip = clips.get(layer.id)
        if clip is None:
            yield (layer.id, -1), layer.pixels, layer.box
        else:
            yield (layer.id, index % clip.frame_count), clip.frame(index), clip.box


def naive_frames(poster: Poster, clips: dict[int, LayerClip], images: dict) -> Iterator[np.ndarray]:
    """Per frame, every layer pasted on a transparent full-size image and alpha_composite'd."""
    for index in range(FRAMES):
        canvas = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
        for key, _pixels, box in frame_sources(poster, clips, index):
            placed = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
            placed.paste(images[key], (box.x, box.y))
            canvas = Image.alpha_composite(canvas, placed)
        yield np.asarray(canvas)


def boxed_frames(poster: Poster, clips: dict[int, LayerClip], images: dict) -> Iterator[np.ndarray]:
    """Per frame, every layer alpha_composite'd in place over its own box only."""
    for index in range(FRAMES):
        canvas = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
        for key, _pixels, box in frame_sources(poster, clips, index):
            canvas.alpha_composite(images[key], dest=(box.x, box.y))
        yield np.asarray(canvas)


def collect(frames: Iterator[np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
    """All frames in one (F, H, W, 4) array, as render() returns them."""
    out = np.empty((FRAMES, HEIGHT, WIDTH, 4), np.uint8) if out is None else out
    for index, frame in enumerate(frames):
        out[index] = frame
    return out


def drain(frames: Iterator[np.ndarray]) -> None:
    """Consume frames one at a time, as a streaming exporter does."""
    for _frame in frames:
        pass


def pil_images(poster: Poster, clips: dict[int, LayerClip]) -> dict:
    """PIL views of every layer and clip frame, made before timing (both baselines share them)."""
    images = {}
    for index in range(FRAMES):
        for key, pixels, _box in frame_sources(poster, clips, index):
            images.setdefault(key, Image.fromarray(pixels, "RGBA"))
    return images


def copy_bandwidth_gbs(megabytes: int = 512, runs: int = 5) -> float:
    """Bytes read + written per second by a large numpy copy (the machine's practical bandwidth)."""
    source = np.ones(megabytes * 1024 * 1024, np.uint8)
    target = np.empty_like(source)
    best = min(_timed(lambda: np.copyto(target, source)) for _ in range(runs))
    return 2 * source.nbytes / best / 1e9


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def measure(title: str, layout: list, runs: int, bandwidth: float) -> None:
    poster, clips = build_scene(layout)
    images = pil_images(poster, clips)
    static = render(poster)[0]

    def floor() -> None:
        out = np.empty((FRAMES, HEIGHT, WIDTH, 4), np.uint8)
        for frame in out:
            np.copyto(frame, static)

    buffer = np.zeros((FRAMES, HEIGHT, WIDTH, 4), np.uint8)  # faulted in once, shared by both sides
    cases = {
        "ours: render(out=buffer)": lambda: render(poster, clips, out=buffer),
        "naive: full-canvas Image.alpha_composite": lambda: collect(naive_frames(poster, clips, images), buffer),
        "PIL alpha_composite(dest=) per layer box": lambda: collect(boxed_frames(poster, clips, images), buffer),
        "ours: render() allocating its frames": lambda: render(poster, clips),
        "floor: allocate F frames, copy the static": floor,
        "ours streaming: iter_frames()": lambda: drain(iter_frames(poster, clips)),
        "naive streaming": lambda: drain(naive_frames(poster, clips, images)),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(values) for name, values in times.items()}

    ours, naive = render(poster, clips), collect(naive_frames(poster, clips, images))
    worst = int(np.abs(ours.astype(np.int16) - naive.astype(np.int16)).max())
    moved = 2 * ours.nbytes  # write each output frame, read the static frame it starts from
    animated_area = sum(clip.box.area for clip in clips.values())
    print(f"\n{title}: {WIDTH}×{HEIGHT}, {len(poster.layers)} layers, {len(clips)} animated, {FRAMES} frames; "
          f"motion boxes cover {animated_area / (WIDTH * HEIGHT):.0%} of the canvas; median of {runs} runs")
    print(f"{'method':44s} {'seconds':>8s} {'÷ ours':>8s}")
    for index, name in enumerate(cases):
        ours_name = "ours streaming: iter_frames()" if "streaming" in name else "ours: render(out=buffer)"
        print(f"{name:44s} {median[name]:8.3f} {median[name] / median[ours_name]:8.1f}")
    ours_s = median["ours: render(out=buffer)"]
    print(f"max |ours - naive| = {worst} (8-bit levels)")
    print(f"render(out=buffer) moves at least {moved / 1e9:.2f} GB -> {moved / ours_s / 1e9:.2f} GB/s = "
          f"{moved / ours_s / 1e9 / bandwidth:.0%} of this machine's copy bandwidth")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bandwidth = copy_bandwidth_gbs()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (other work on this machine slows every row alike)")
    print(f"memory bandwidth (numpy copy of 512 MiB, read+write): {bandwidth:.1f} GB/s")
    measure("typical poster", LAYOUT, args.runs, bandwidth)
    measure("worst case, full-canvas static overlay on top", LAYOUT + [OVERLAY], args.runs, bandwidth)


if __name__ == "__main__":
    main()
