"""Throughput of the TDL builder per stage, plain loop vs local Ray, on tiny models (CPU).

Stage I talks to a local OpenAI-compatible stand-in (tests/helpers/chat_server.py), stage II
runs the real `i2v` engine on a tiny random LTX pipeline, stage III the real filters with
a tiny random CLIP, over `--posters` PrismLayers-style posters (4 samples each). Both
executors build the same dataset side by side in one run; samples per minute are
reported per stage. The extrapolation to the paper's 100k samples is arithmetic on
`--gpu-seconds-per-clip` (stated, not measured here: no GPU was lent), not a measurement.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.tdl_build [--posters 6] [--gpu-seconds-per-clip 60] [--gpus 8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from engine.data.build.pipeline import build
from engine.data.build.sources import find_sources
from engine.data.build.stages import BuildConfig
from engine.data.build.filtering import Thresholds
from engine.planning.llm import LLMSettings
from tests.helpers import i2v_tiny
from tests.helpers.chat_server import MODEL, ChatServer
from tests.helpers.image_encoder_tiny import tiny_clip
from tests.helpers.tdl_sources import plausible_vlm, prism_poster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posters", type=int, default=6)
    parser.add_argument("--frames", type=int, default=9)
    parser.add_argument("--gpu-seconds-per-clip", type=float, default=60.0,
                        help="assumed I2V seconds per 49-frame clip on one GPU, for the extrapolation")
    parser.add_argument("--gpus", type=int, default=8)
    args = parser.parse_args()
    import ray

    chat = ChatServer()
    chat.responder = plausible_vlm
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        model, encoder = i2v_tiny.BUILDERS["LTXImageToVideoPipeline"](root / "ltx"), tiny_clip(root / "clip")
        os.environ["I2V_MODEL"] = str(model)
        sources = find_sources([prism_poster(root / "src" / f"p{i}", extra_objects=2) for i in range(args.posters)])

        def config(out: str) -> BuildConfig:
            return BuildConfig(out=str(root / out), frames=args.frames,
                               engine_params=(("resolution", i2v_tiny.TINY_RESOLUTION), ("steps", 2)),
                               llm=LLMSettings(api_key="k", base_url=chat.base_url, model=MODEL, timeout=30, max_retries=0),
                               encoder=str(encoder), thresholds=Thresholds(still_above=0.9999, flicker_below=0.05))

        rows = []
        started = time.perf_counter()
        loop = build(sources, config("loop"), executor="loop")
        rows.append(("loop", time.perf_counter() - started, loop))
        ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[1]),
                                           "I2V_MODEL": str(model), "OMP_NUM_THREADS": "1"}})
        started = time.perf_counter()
        on_ray = build(sources, config("ray"), executor="ray")
        rows.append(("ray (local, incl. actor start)", time.perf_counter() - started, on_ray))
        ray.shutdown()
    chat.close()
    print(f"{args.posters} posters, {args.frames} frames, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| executor | samples | wall s | samples/min | stage seconds |")
    print("|---|---|---|---|---|")
    for name, wall, manifest in rows:
        samples = manifest["counts"]["stage III accepted"]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in manifest["timing_s"].items())
        print(f"| {name} | {samples} | {wall:.1f} | {60 * samples / wall:.1f} | {stages} |")
    days = 100_000 * args.gpu_seconds_per_clip / args.gpus / 86400
    print(f"\nExtrapolation (arithmetic, not measured): 100k clips × {args.gpu_seconds_per_clip:g} GPU-s each on "
          f"{args.gpus} GPUs ≈ {days:.1f} days of stage II; stages I and III are CPU/API-bound and overlap with it on Ray.")


if __name__ == "__main__":
    main()
