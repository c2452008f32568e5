"""Serving cost per request: in-process vs Ray Serve, the result cache, and why presets skip it.

A tiny random LTX-Video pipeline (tests/helpers/i2v_tiny.py) makes the model's own share
negligible, so the generative rows measure what serving adds around a generation: the
device queue, the cache lookup (hashing the layer and the model folder), and for Ray the
round trip to a replica (pickling the request and the clip, streaming progress). All rows
run in one process, one after the other, on the same layer with fresh seeds (no cache hits
except in the cache row), and report the median of `--repeats` requests. The Ray cluster
is a local one started here (`ray.init(num_cpus=2)`); its first request (deploying the
replica and loading the model there) is shown on its own.

The preset rows decide whether presets should be cached: rendering a preset clip's frames
against reading the same frames back from a cache file.

    .venv/bin/python -m benchmarks.serving [--repeats 5] [--frames 12] [--steps 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from engine import load_psd
from engine.core.poster import Box
from engine.motion.base import MotionRequest
from engine.motion.registry import get_engine, release
from engine.motion.result_cache import ClipCache
from engine.motion.service import get_service
from tests.helpers import i2v_tiny
from tests.helpers.paths import ASSETS_DIR


def median_s(run: Callable[[int], object], repeats: int, first_seed: int) -> float:
    times = []
    for k in range(repeats):
        started = time.perf_counter()
        run(first_seed + k)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def generative_rows(args, root: Path) -> list[tuple[str, float, str]]:
    poster = load_psd(ASSETS_DIR / "samples" / "flower.psd")
    layer = poster.layer("Butterfly")
    b = layer.box
    box = Box(b.x - 20, b.y - 30, b.w + 36, b.h + 50)
    os.environ.update({"I2V_MODEL": str(i2v_tiny.ltx_i2v(root / "ltx")), "I2V_DEVICE": "cpu",
                       "POSTER_CACHE_DIR": str(root / "cache"), "POSTER_CACHE_MB": "0"})
    os.environ.pop("RAY_ADDRESS", None)

    def request(seed: int) -> MotionRequest:
        return MotionRequest(layer=layer, box=box, prompt="the butterfly flaps its wings", frames=args.frames,
                             fps=24, seed=seed, params={"resolution": i2v_tiny.TINY_RESOLUTION, "steps": args.steps})

    rows = []
    engine = get_engine("i2v")
    engine.animate([request(0)])  # load the model here once
    base = median_s(lambda s: engine.animate([request(s)]), args.repeats, 100)
    rows.append(("engine alone, in-process", base, ""))
    rows.append(("service in-process (device queue)",
                 median_s(lambda s: get_service("i2v").animate([request(s)]), args.repeats, 200), ""))
    os.environ["POSTER_CACHE_MB"] = "512"
    get_service("i2v").animate([request(300)])
    rows.append(("service in-process, cache hit",
                 median_s(lambda s: get_service("i2v").animate([request(300)]), args.repeats, 0), ""))
    os.environ["POSTER_CACHE_MB"] = "0"
    release("i2v")

    import ray
    from ray import serve

    started = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    os.environ["RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
    rows.append(("Ray: start a local cluster (once)", time.perf_counter() - started, "not per request"))
    try:
        started = time.perf_counter()
        get_service("i2v").animate([request(400)])
        rows.append(("Ray: first request (deploy, load the model)", time.perf_counter() - started, "once"))
        rows.append(("service on Ray Serve", median_s(lambda s: get_service("i2v").animate([request(s)]),
                                                      args.repeats, 500), ""))
    finally:
        serve.shutdown()
        ray.shutdown()
        os.environ.pop("RAY_ADDRESS", None)
    return [(name, seconds, note or f"{seconds / base:.2f}×") for name, seconds, note in rows]


def preset_rows(args, root: Path) -> list[tuple[str, float, float, float]]:
    """(clip, render all frames, render and write them to the cache, read them back) in seconds."""
    rows = []
    for poster_name, layer_name in (("flower.psd", "Butterfly"), ("balloon.psd", "Balloon")):
        poster = load_psd(ASSETS_DIR / "samples" / poster_name)
        layer = poster.layer(layer_name)
        box = layer.box.expand(24, 24, 24, 24).intersection(poster.canvas)
        req = MotionRequest(layer=layer, box=box, prompt="sways gently", frames=args.preset_frames, fps=24)

        def render(_seed: int) -> None:
            [clip] = get_engine("presets").animate([req])
            for frame in clip.iter_frames():
                pass

        cache = ClipCache(root / "preset-cache", 1 << 30)

        def write(_seed: int) -> None:
            [clip] = get_engine("presets").animate([req])
            cache.put(layer_name, clip)

        def read(_seed: int) -> None:
            for frame in cache.get(layer_name).iter_frames():
                pass

        rows.append((f"{layer_name} {box.w}×{box.h}, {args.preset_frames} frames",
                     median_s(render, args.repeats, 0), median_s(write, args.repeats, 0),
                     median_s(read, args.repeats, 0)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--preset-frames", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (tiny models: 1 is fastest)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs, torch threads {args.threads}, "
          f"median of {args.repeats}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        print(f"\ntiny LTX-Video, Butterfly, {args.frames} frames, {args.steps} steps\n")
        print("| path | seconds per request (median) | vs engine alone |")
        print("|---|---|---|")
        for name, seconds, note in generative_rows(args, root):
            print(f"| {name} | {seconds:.3f} | {note} |")
        print("\npresets: render vs read back from the result cache\n")
        print("| clip | render (s) | render + write to cache (s) | read from cache (s) | read / render |")
        print("|---|---|---|---|---|")
        for name, render, write, read in preset_rows(args, root):
            print(f"| {name} | {render:.3f} | {write:.3f} | {read:.3f} | {read / render:.2f}× |")


if __name__ == "__main__":
    main()
