"""What an evaluation leaves behind: paper-shaped markdown tables, a per-sample CSV, and
contact sheets of each engine's worst samples (reference row above generated row, over gray)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from PIL import Image

from engine.eval.harness import Evaluation, Summary
from engine.dmdl.metrics import over_gray
from engine.eval.metrics import HIGHER_IS_BETTER
from engine.eval.paper import PUBLISHED, TABLE_OF_SETTING

METRICS = ("FVD", "PSNR", "SSIM", "LPIPS")
#: Frames per contact-sheet row and the height each is drawn at.
SHEET_FRAMES, SHEET_HEIGHT = 6, 128


def _cell(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    return f"{value:.2f}" if metric in ("FVD", "PSNR") else f"{value:.3f}"


def table(setting: str, summaries: list[Summary]) -> str:
    """One markdown table: our engines, then the paper's published rows for the setting."""
    arrows = {m: "↑" if HIGHER_IS_BETTER[m] else "↓" for m in METRICS}
    lines = [f"### {TABLE_OF_SETTING[setting]} ({setting})", "",
             "| method | samples | " + " | ".join(f"{m} {arrows[m]}" for m in METRICS) + " |",
             "|---|---|" + "---|" * len(METRICS)]
    for summary in summaries:
        cells = " | ".join(_cell(summary.metrics.get(m), m) for m in METRICS)
        lines.append(f"| {summary.engine} | {summary.samples} | {cells} |")
    for method, values in PUBLISHED.get(setting, {}).items():
        cells = " | ".join(_cell(values.get(m), m) for m in METRICS)
        lines.append(f"| {method} (paper) | — | {cells} |")
    missing = [m for m in ("FVD", "LPIPS") if all(s.metrics.get(m) is None for s in summaries)]
    if missing:
        lines += ["", f"— {' and '.join(missing)} not computed: give their feature networks "
                      "(--i3d / EVAL_I3D for FVD, --lpips / EVAL_LPIPS_BACKBONE for LPIPS)."]
    return "\n".join(lines) + "\n"


def write_csv(path: Path, evaluation: Evaluation) -> None:
    rows = [row.as_dict() for row in evaluation.rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["engine"])
        writer.writeheader()
        writer.writerows(rows)


def _strip(frames: np.ndarray) -> np.ndarray:
    """SHEET_FRAMES frames of a clip over gray, side by side, SHEET_HEIGHT tall."""
    picks = np.linspace(0, len(frames) - 1, SHEET_FRAMES).round().astype(int)
    rgb = (over_gray(frames[picks]).numpy() * 255).round().astype(np.uint8)
    h, w = rgb.shape[1:3]
    width = max(1, round(w * SHEET_HEIGHT / h))
    tiles = [np.asarray(Image.fromarray(f).resize((width, SHEET_HEIGHT), Image.Resampling.BILINEAR)) for f in rgb]
    return np.concatenate(tiles, axis=1)


def write_contact_sheets(folder: Path, summary: Summary) -> list[Path]:
    """One PNG per worst sample: reference frames on top, the engine's below."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for rank, (row, generated, reference) in enumerate(summary.worst, 1):
        sheet = np.concatenate([_strip(reference), _strip(generated)], axis=0)
        safe = "".join(c if c.isalnum() else "-" for c in f"{summary.engine}-{summary.setting}")
        path = folder / f"{safe}-worst{rank}-{row.poster}-layer{row.layer_id}.png"
        Image.fromarray(sheet).save(path)
        written.append(path)
    return written
