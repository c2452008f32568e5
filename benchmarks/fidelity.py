"""Fidelity of import + static render against psd-tools, per file, and the import cost.

For every PSD of the shared corpus (and assets/samples/*.psd), prints:
  * PSNR of render_static(load_psd(f)) against psd-tools' own composite
    PSDImage.composite(ignore_preview=True), compared premultiplied RGBA (benchmarks.fidelity_metrics);
  * for context, PSNR of each against the preview Photoshop stored in the file, which shows
    what psd-tools itself does not render (layer effects, some adjustments);
  * import time in-process and in the isolated child (median of --runs), i.e. the cost
    of the memory/time cap.

    /work/main/.venv/bin/python -m benchmarks.fidelity [--runs 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from engine import ImportLimits, LayerKind, PosterError, load_psd, render_static
from benchmarks.fidelity_metrics import photoshop_preview, psd_tools_render, psnr

CORPUS = ROOT.parent / "shared" / "psd-corpus"
if not CORPUS.exists():
    CORPUS = Path("/work/shared/psd-corpus")


def corpus_rows() -> list[dict]:
    with (CORPUS / "manifest.tsv").open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["mode"] != "PNG-reference"]
    samples = sorted((ROOT / "assets" / "samples").glob("*.psd"))
    return [dict(row, file=CORPUS / row["local_path"]) for row in rows] + [
        {"file": path, "mode": "sample", "depth": "", "composite_ok": "y"} for path in samples
    ]


def median_seconds(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    in_process, isolated = ImportLimits(isolate=False), ImportLimits()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load}; PSNR compared premultiplied RGBA, 99 = identical")
    header = f"{'file':32s} {'mode':12s} {'layers':>6s} {'baked':>5s} {'vs psd-tools':>12s} {'vs preview':>10s} " \
             f"{'ref vs preview':>14s} {'import s':>8s} {'isolated s':>10s} {'overhead':>8s}"
    print(header)
    overheads = []
    for row in corpus_rows():
        path = row["file"]
        try:
            poster = load_psd(path)
        except PosterError as error:
            print(f"{path.name:32s} refused: {error}")
            continue
        ours = render_static(poster)
        reference = psd_tools_render(path)
        preview = photoshop_preview(path)
        ours_vs_preview = f"{psnr(ours, preview):10.1f}" if preview is not None else f"{'-':>10s}"
        reference_vs_preview = f"{psnr(reference, preview):14.1f}" if preview is not None else f"{'-':>14s}"
        plain = median_seconds(lambda: load_psd(path, in_process), args.runs)
        capped = median_seconds(lambda: load_psd(path, isolated), args.runs)
        overheads.append(capped - plain)
        baked = sum(layer.kind is LayerKind.BAKED for layer in poster.layers)
        print(f"{path.name:32s} {row['mode'] + ' ' + row['depth']:12s} {len(poster.layers):6d} {baked:5d} "
              f"{psnr(ours, reference):12.1f} {ours_vs_preview} {reference_vs_preview} "
              f"{plain:8.3f} {capped:10.3f} {capped - plain:+8.3f}")
    print(f"median isolation overhead per import: {statistics.median(overheads) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
