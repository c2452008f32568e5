"""python -m engine.data.build SOURCE… --out TDL_DIR

Turns folders of layered PSDs (or PrismLayers-style folders) into a TDL dataset that
`engine.dmdl.train_decoder` and the DMDL trainer read. Stage I asks the vision LLM set by
OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL; stage II runs the `i2v` engine on the
model folder in I2V_MODEL; stage III optionally uses a CLIP/SigLIP folder (--encoder).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from engine.core.poster import PosterError
from engine.data.build.filtering import Thresholds
from engine.data.build.pipeline import EXECUTORS, build
from engine.data.build.sources import find_sources
from engine.data.build.stages import BuildConfig
from engine.planning.llm import LLMSettings


def _param(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise PosterError(f"--param '{text}' must look like key=value, e.g. steps=30.")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def build_parser() -> argparse.ArgumentParser:
    defaults = Thresholds()
    parser = argparse.ArgumentParser(prog="python -m engine.data.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", help="folders of PSDs or PrismLayers-style posters, or PSD files")
    parser.add_argument("--out", required=True, help="the TDL folder to create or resume")
    parser.add_argument("--frames", type=int, default=49, help="frames per clip (4k+1; default 49)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default="i2v", help="stage II engine for object layers (default i2v)")
    parser.add_argument("--param", action="append", default=[], metavar="key=value",
                        help="a stage II engine parameter, e.g. steps=30 (repeatable)")
    parser.add_argument("--license", default="unknown", help="licence for sources whose folder has no LICENSE file")
    parser.add_argument("--encoder", help="local CLIP/SigLIP folder for the semantic-consistency filter")
    parser.add_argument("--vlm-alignment", action="store_true",
                        help="ask the vision LLM to rate each clip 1-5 against its prompt and reject low ratings")
    parser.add_argument("--executor", choices=EXECUTORS, default="ray",
                        help="ray (local Ray, or the cluster in RAY_ADDRESS) or loop (one process)")
    parser.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per stage-II actor on Ray")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--still-above", type=float, default=defaults.still_above)
    parser.add_argument("--flicker-below", type=float, default=defaults.flicker_below)
    parser.add_argument("--consistency-min", type=float, default=defaults.consistency_min)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.frames < 1 or (args.frames - 1) % 4:
            raise PosterError(f"Clips need 4k+1 frames (5, 9, …, 49), the VAE's rule; got {args.frames}.")
        config = BuildConfig(
            out=args.out, frames=args.frames, seed=args.seed, engine=args.engine,
            engine_params=tuple(sorted(dict(_param(p) for p in args.param).items())),
            llm=LLMSettings.from_env(), encoder=args.encoder, align=args.vlm_alignment,
            thresholds=Thresholds(args.still_above, args.flicker_below, args.consistency_min),
        )
        if not config.llm.enabled:
            raise PosterError("Stage I needs a vision LLM: set OPENAI_BASE_URL (and OPENAI_API_KEY for hosted APIs).")
        manifest = build(find_sources(args.sources, args.license), config, args.executor, args.gpus_per_worker,
                         args.val_fraction)
    except PosterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for key, value in manifest["counts"].items():
        print(f"{key}: {value}")
    for stage, seconds in manifest["timing_s"].items():
        print(f"{stage}: {seconds:.1f} s")
    print(f"Wrote {args.out} (manifest: build.json, splits: splits.json).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
