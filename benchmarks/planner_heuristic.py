"""How fast the offline planner plans, and what an LLM request costs before it is sent.

    /work/main/.venv/bin/python -m benchmarks.planner_heuristic

Prints medians over repeated runs: plans per second for single layers and groups, and the
milliseconds spent preparing one LLM request (thumbnail, boxes drawn, PNG data URL).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np


from engine.planning import plan
from engine.planning.thumbnail import annotated_thumbnail, png_data_url, poster_thumbnail
from engine.core.poster import Box, Layer, LayerKind, Poster

PROMPTS = [
    "the cat jumps", "the tree sways gently in the wind", "the wheel spins fast", "the heart pulses",
    "the car drives in from the left", "the bird flies away to the right", "the flag waves", "the title waves gently",
    "the text appears letter by letter", "something mysterious happens",
]
REPEATS = 7


def make_poster(width: int, height: int, layers: int) -> Poster:
    rng = np.random.default_rng(0)
    made = []
    for i in range(layers):
        w, h = int(rng.integers(width // 10, width // 3)), int(rng.integers(height // 10, height // 3))
        x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        pixels = rng.integers(0, 255, (h, w, 4), dtype=np.uint8)
        kind = LayerKind.TEXT if i % 4 == 0 else LayerKind.PIXEL
        made.append(Layer(id=i + 1, name=f"Layer {i + 1}", pixels=pixels, box=Box(x, y, w, h), kind=kind))
    return Poster(width=width, height=height, layers=made)


def median_seconds(work, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    poster = make_poster(1080, 1350, 12)
    singles = [(f"Layer {1 + i % 12}", PROMPTS[i % len(PROMPTS)]) for i in range(200)]
    groups = [([f"Layer {1 + i % 12}", f"Layer {1 + (i + 5) % 12}"], PROMPTS[i % len(PROMPTS)]) for i in range(200)]
    print("| what | median | rate |")
    print("| --- | --- | --- |")
    for label, requests in (("heuristic, one layer per request", singles), ("heuristic, two-layer groups", groups)):
        seconds = median_seconds(lambda: plan(poster, requests, use_llm=False))
        print(f"| {label} (200 requests) | {seconds * 1000:.1f} ms | {len(requests) / seconds:,.0f} plans/s |")
    for width, height in ((1080, 1350), (4000, 5000)):
        big = make_poster(width, height, 30)
        seconds = median_seconds(lambda: png_data_url(annotated_thumbnail(poster_thumbnail(big), big, [1, 2])), 5)
        print(f"| LLM request preparation, {width}×{height}, 30 layers | {seconds * 1000:.1f} ms | {1 / seconds:.1f} /s |")


if __name__ == "__main__":
    main()
