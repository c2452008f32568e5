"""How long a designer waits in the editor, step by step, on a bundled sample poster.

The issue's promise: from the page opening, animate a sample and download the result
within a minute. This times the handlers behind each click (no browser, no network) on
balloon.psd (1080×1350, 17 layers): open the sample, type a prompt, Animate one layer
(12 fps × 2 s), export the MP4, export the layered bundle, and restore the session after
a server restart. Then, at 48 frames (24 fps × 2 s), MP4, GIF and the layered bundle exported
one at a time against all three in one Export (one render, every encoder at once). Medians of several runs, each in a fresh session.

Side by side in the same run: the preview as the editor encodes it (ffmpeg scales to a
longer side ≤ 960 px, "preview" MP4 quality) against the way it used to (Pillow resize
per frame, "final" quality) and a full-resolution "final" encode.

    /work/main/.venv/bin/python -m benchmarks.editor [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable


from app import animating, exporting, handlers
from app.motion_panel import MotionFields
from app.persist import restore
from app.session import SessionStore
from engine.render.compositor import render
from engine.export import write_mp4

PROMPT = "the balloon drifts up gently and sways"


def timed(step: Callable[[], dict]) -> float:
    started = time.perf_counter()
    view = step()
    elapsed = time.perf_counter() - started
    if view.get("error"):
        raise SystemExit(f"step failed: {view['status']}")
    return elapsed


def pil_shrink(frames, max_side: int):
    """The preview's old way: each frame resized by Pillow (bilinear) before encoding
    (app.animating's own helper for it is gone; kept here for the side-by-side row)."""
    import numpy as np
    from PIL import Image

    height, width = frames.shape[1:3]
    scale = min(1.0, max_side / max(width, height))
    size = (max(2, int(width * scale)) // 2 * 2, max(2, int(height * scale)) // 2 * 2)
    return np.stack([np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR)) for f in frames])


def one_run(folder: Path, export_only: bool = False) -> dict[str, float]:
    store = SessionStore(folder, restore=restore)
    session, _ = store.open(None)
    times = {"open sample (page load)": timed(lambda: handlers.start(session, False))}
    balloon = session.state.poster.layer("Balloon").id
    times["select + prompt"] = timed(lambda: {**handlers.set_selection(session, [balloon]),
                                              **handlers.edit_motion(session, balloon, MotionFields(prompt=PROMPT))})
    if export_only:
        return export_rows(session, folder)
    handlers.set_timeline(session, 12, 2)
    times["animate 1 layer, 24 frames"] = timed(lambda: animating.animate(session, "selected"))
    times["export MP4"] = timed(lambda: exporting.export(session, "mp4"))
    times["export layered bundle"] = timed(lambda: exporting.export(session, "layered"))
    times["restore after restart"] = timed(
        lambda: {"restored": SessionStore(folder, restore=restore).open(session.token)[1]})

    # Side by side: the preview as the editor encodes it ("preview" quality, ffmpeg scaling
    # to ≤960 px), as it used to (Pillow resize per frame, "final" quality), and full size.
    state = session.state
    frames = render(state.poster, list(state.clips.values()), state.frames)
    encodes = {
        "preview encode, as the editor does": lambda: write_mp4(
            folder / "editor.mp4", frames, state.fps, quality="preview", max_side=animating.PREVIEW_MAX_SIDE),
        "preview encode, PIL ≤960 px, final q": lambda: write_mp4(
            folder / "before.mp4", pil_shrink(frames, animating.PREVIEW_MAX_SIDE), state.fps),
        "preview encode, 1080×1350, final q": lambda: write_mp4(folder / "full.mp4", frames, state.fps),
    }
    for step, encode in encodes.items():
        started = time.perf_counter()
        encode()
        times[step] = time.perf_counter() - started
    times.update(export_rows(session, folder))
    return times


#: The formats of the render-once comparison: the issue's MP4 + GIF + layered bundle.
TOGETHER = ("mp4", "gif", "layered")


def export_rows(session, folder: Path) -> dict[str, float]:
    """MP4, GIF and the layered bundle of the balloon sample at 48 frames (24 fps × 2 s), one
    Export each, then one Export of all three (one render, encoders side by side).

    Re-animates the session's Balloon at 48 frames first. The session writes into its own
    exports folder; `folder` is the run's scratch folder, where nothing else is needed.
    """
    handlers.set_timeline(session, 24, 2)
    view = animating.animate(session, "selected")
    if view.get("error"):
        raise SystemExit(f"animate failed: {view['status']}")
    assert session.state.frames == 48, session.state.frames
    rows = {}
    for key in TOGETHER:
        rows[f"export {key}, 48 frames"] = timed(lambda key=key: exporting.export(session, key))
    rows["export all three, one after another"] = sum(rows.values())
    rows["export all three together (one render)"] = timed(lambda: exporting.export(session, list(TOGETHER)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--export-only", action="store_true",
                        help="only the export rows (MP4, GIF, bundle alone and together, 48 frames)")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        handlers.start(SessionStore(Path(tmp) / "warm").open(None)[0], False)  # imports, caches
        for index in range(args.runs):
            runs.append(one_run(Path(tmp) / f"run{index}", args.export_only))
    steps = list(runs[0])
    medians = {step: statistics.median(run[step] for run in runs) for step in steps}
    print(f"balloon.psd, median of {args.runs} runs (seconds), load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs\n")
    print(f"| {'step':<40} | median s |")
    print(f"| {'-' * 40} | -------: |")
    for step in steps:
        print(f"| {step:<40} | {medians[step]:8.2f} |")
    slowest = max(medians[f"export {key}, 48 frames"] for key in TOGETHER)
    together = medians["export all three together (one render)"]
    print(f"\nMP4 + GIF + bundle together / slowest alone: {together / slowest:.2f}× (target ≤ 1.5×); "
          f"one after another / together: {medians['export all three, one after another'] / together:.2f}×")
    if args.export_only:
        return
    print(f"\nopen → animate → MP4 download, handler time: {sum(medians[s] for s in steps[:4]):.1f} s")
    editor = medians["preview encode, as the editor does"]
    print(f"before (PIL resize + final quality) / editor preview encode: "
          f"{medians['preview encode, PIL ≤960 px, final q'] / editor:.2f}×; "
          f"full-resolution final / editor preview: {medians['preview encode, 1080×1350, final q'] / editor:.2f}×")


if __name__ == "__main__":
    main()
