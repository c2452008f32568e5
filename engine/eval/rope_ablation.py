"""Table 4, the positional-embedding ablation: which DMDL configuration each row is, and its table.

The three rows differ only in two transformer config keys (engine.dmdl.transformer):
3D-RoPE puts every layer on the same positions (`rope_layer_spacing` 0), 3D-RoPE + AM adds
the layer-isolation attention mask of eq. 9, 4D-RoPE gives each layer its own place on the
shared frame band. The keys `3d`, `3d-mask`, `4d` are the trainer's `--rope` values, so a
checkpoint trained with `--rope 4d` is evaluated as `--checkpoint 4d=DIR`.

`python -m engine.eval --ablation rope --checkpoint 3d=DIR …` scores one DMDL folder per
row with the harness (same samples, prompts, boxes and seeds) and `rope_table` prints our
rows beside the paper's. PSNR/SSIM/LPIPS carry a 95 % bootstrap interval over the
validation samples (one trained model per row, so the interval covers which samples were
drawn, not retraining); FVD is a set statistic and has none.
"""

from __future__ import annotations

from typing import Any

import torch

from engine.core.poster import PosterError
from engine.dmdl.transformer import DEFAULT_LAYER_SPACING, DMDLTransformer
from engine.eval.harness import Evaluation
from engine.eval.metrics import HIGHER_IS_BETTER
from engine.eval.paper import PUBLISHED_ROPE_ABLATION
from engine.eval.stats import bootstrap_interval

#: key (the trainer's --rope value) -> (Table 4 row, DMDLTransformer config that makes it).
ROPE_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "3d": ("3D-RoPE", {"rope_layer_spacing": 0.0, "layer_isolation": False}),
    "3d-mask": ("3D-RoPE+AM", {"rope_layer_spacing": 0.0, "layer_isolation": True}),
    "4d": ("4D-RoPE", {"rope_layer_spacing": DEFAULT_LAYER_SPACING, "layer_isolation": False}),
}
METRICS = ("FVD", "PSNR", "SSIM", "LPIPS")
#: Per-sample CSV field of each metric that has one.
SAMPLE_FIELD = {"PSNR": "psnr", "SSIM": "ssim", "LPIPS": "lpips"}


def rope_variant(key: str) -> tuple[str, dict[str, Any]]:
    """The Table 4 row name and transformer config of `key` (3d, 3d-mask or 4d)."""
    if key not in ROPE_VARIANTS:
        raise PosterError(f"Unknown positional-embedding variant '{key}': use one of {', '.join(ROPE_VARIANTS)}.")
    return ROPE_VARIANTS[key]


def rope_transformer(base_config: dict[str, Any], key: str, seed: int) -> DMDLTransformer:
    """A DMDLTransformer of `base_config` made variant `key`, initialised from `seed`.

    The variants add no parameters, so one seed gives every variant the very same initial
    weights: the rows of Table 4 then differ only in how positions and attention are wired.
    """
    _, overrides = rope_variant(key)
    torch.manual_seed(seed)
    return DMDLTransformer(**{**base_config, **overrides})


def parse_checkpoints(texts: list[str]) -> list[tuple[str, str]]:
    """`KEY=DIR` pairs (--checkpoint 4d=runs/4d) -> [(key, dir)], every key known and given once."""
    pairs = []
    for text in texts:
        key, sep, folder = text.partition("=")
        if not sep or not folder:
            raise PosterError(f"--checkpoint '{text}' must look like VARIANT=DIR, e.g. 4d=runs/rope-4d.")
        rope_variant(key)
        pairs.append((key, folder))
    if len({k for k, _ in pairs}) != len(pairs):
        raise PosterError("Give each positional-embedding variant one --checkpoint.")
    return pairs


def _cell(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if metric in ("FVD", "PSNR") else f"{value:.3f}"


def rope_table(setting: str, evaluation: Evaluation) -> str:
    """Table 4 as markdown: one row per variant, ours (with intervals) then the paper's numbers."""
    arrows = {m: "↑" if HIGHER_IS_BETTER[m] else "↓" for m in METRICS}
    head = " | ".join(f"{m} {arrows[m]}" for m in METRICS)
    lines = [
        f"### Table 4, positional-embedding ablation ({setting} setting; the paper's numbers are its group setting)",
        "",
        f"| variant | samples | {head} | " + " | ".join(f"{m} (paper)" for m in METRICS) + " |",
        "|---|---|" + "---|" * (2 * len(METRICS)),
    ]
    for summary in evaluation.summaries:
        rows = [r for r in evaluation.rows if r.engine == summary.engine and r.setting == setting]
        cells = []
        for metric in METRICS:
            value = summary.metrics.get(metric)
            per_sample = [getattr(r.score, SAMPLE_FIELD[metric]) for r in rows] if metric in SAMPLE_FIELD else []
            if value is not None and per_sample and None not in per_sample:
                digits = 2 if metric == "PSNR" else 3
                cells.append(bootstrap_interval([min(v, 100.0) for v in per_sample]).format(digits))
            else:
                cells.append(_cell(value, metric))
        published = PUBLISHED_ROPE_ABLATION.get(summary.engine, {})
        cells += [_cell(published.get(m), m) for m in METRICS]
        lines.append(f"| {summary.engine} | {summary.samples} | " + " | ".join(cells) + " |")
    lines += ["", "Intervals: 95 % BCa bootstrap over the validation samples (one trained model per row)."]
    return "\n".join(lines) + "\n"
