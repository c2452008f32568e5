"""python -m engine.eval --data TDL_DIR --engine presets [--engine i2v …] --setting layer …
   python -m engine.eval --data TDL_DIR --ablation rope --checkpoint 3d=DIR --checkpoint 3d-mask=DIR --checkpoint 4d=DIR

Prints the paper-shaped tables for the engines given, and writes under --out: tables.md,
samples.csv (one row per sample, engine and setting) and worst/ contact sheets. Generated
clips are cached under --out/cache, so an interrupted run resumes and a second run only
recomputes the metrics. `--ablation rope` scores one DMDL checkpoint per Table 4 row
(engine.eval.rope_ablation) in the joint setting unless --setting says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from engine.core.poster import PosterError
from engine.data.tdl import TDLDataset
from engine.eval.generate import ClipCache, EngineSpec
from engine.eval.harness import SETTINGS, evaluate, load_metric_networks
from engine.eval.report import table, write_contact_sheets, write_csv
from engine.eval.rope_ablation import parse_checkpoints, rope_table, rope_variant


def _engine_params(texts: Sequence[str]) -> dict[str, dict[str, object]]:
    """`ENGINE.key=value` pairs (value read as JSON when it parses, else a string)."""
    params: dict[str, dict[str, object]] = {}
    for text in texts:
        target, sep, value = text.partition("=")
        engine, dot, key = target.partition(".")
        if not sep or not dot or not key:
            raise PosterError(f"--param '{text}' must look like ENGINE.key=value, e.g. i2v.steps=30.")
        try:
            parsed: object = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        params.setdefault(engine, {})[key] = parsed
    return params


def _specs(args: argparse.Namespace, params: dict[str, dict[str, object]]) -> list[EngineSpec]:
    """The rows to evaluate: the engines named, or one dmdl checkpoint per ablation variant."""
    if args.ablation == "rope":
        if args.engine or not args.checkpoint:
            raise PosterError("--ablation rope takes one --checkpoint VARIANT=DIR per row and no --engine.")
        dmdl = tuple(sorted(params.get("dmdl", {}).items()))
        return [EngineSpec("dmdl", dmdl, checkpoint=folder, variant=rope_variant(key)[0])
                for key, folder in parse_checkpoints(args.checkpoint)]
    if args.checkpoint:
        raise PosterError("--checkpoint goes with --ablation rope; the engines read their own model settings.")
    if not args.engine:
        raise PosterError("Name at least one --engine (presets, i2v or dmdl), or give --ablation rope.")
    return [EngineSpec(name, tuple(sorted(params.get(name, {}).items()))) for name in args.engine]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine.eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a TDL dataset folder")
    parser.add_argument("--engine", action="append", default=[], help="presets, i2v or dmdl; repeat to compare")
    parser.add_argument("--ablation", choices=["rope"], help="rope: Table 4, one dmdl --checkpoint per variant")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="VARIANT=DIR",
                        help="with --ablation rope: a DMDL folder per variant (3d, 3d-mask, 4d)")
    parser.add_argument("--param", action="append", default=[], metavar="ENGINE.key=value",
                        help="an engine parameter, e.g. i2v.steps=30 (repeatable)")
    parser.add_argument("--setting", action="append", choices=SETTINGS,
                        help="layer, joint, poster or group (repeatable; default layer)")
    parser.add_argument("--split", default="val", help="val (default), train or all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N samples of the split")
    parser.add_argument("--out", default="out/eval", help="where tables, CSV, contact sheets and the cache go")
    parser.add_argument("--lpips", default=os.environ.get("EVAL_LPIPS_BACKBONE"),
                        help="AlexNet backbone weights (torchvision format) for LPIPS")
    parser.add_argument("--i3d", default=os.environ.get("EVAL_I3D"), help="I3D TorchScript file for FVD")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        dataset = TDLDataset(args.data)
        indices = dataset.split_indices(args.split)
        if args.limit > 0:
            indices = indices[: args.limit]
        params = _engine_params(args.param)
        specs = _specs(args, params)
        lpips, i3d = load_metric_networks(args.lpips, args.i3d)
        out = Path(args.out)
        cache = ClipCache(out / "cache")
        sections, rows = [], []
        for setting in args.setting or ["joint" if args.ablation else "layer"]:
            result = evaluate(dataset, specs, setting, indices, cache, seed=args.seed, lpips=lpips, i3d=i3d,
                              show_progress=not args.quiet)
            sections.append(rope_table(setting, result) if args.ablation else table(setting, result.summaries))
            rows.append(result)
            for summary in result.summaries:
                write_contact_sheets(out / "worst", summary)
        report = f"Data: {dataset.root} · split {args.split} · seed {args.seed}\n\n" + "\n".join(sections)
        out.mkdir(parents=True, exist_ok=True)
        (out / "tables.md").write_text(report)
        merged = rows[0]
        for extra in rows[1:]:
            merged.rows.extend(extra.rows)
        write_csv(out / "samples.csv", merged)
    except PosterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report)
    print(f"Wrote {out / 'tables.md'}, {out / 'samples.csv'} and {out / 'worst'}/.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
