"""How long a designer waits in the editor, step by step, on a bundled sample poster.

Times the handlers behind each click (no browser, no network) on balloon.psd (1080×1350,
17 layers), side by side in one run, each run in a fresh session: open the sample, type a
prompt, Animate one layer (24 fps × 2 s = 48 frames; its linked shadow follows), change
a preset parameter and get the updated preview (the draft, then the full render),
re-roll the layer, export MP4, GIF and the layered bundle one at a time and all three in
one Export (one render, every encoder at once), restore the session after a server restart, and open the saved
project in a new session (its preview made from the saved clips). Each row is wall
seconds and CPU seconds (this process and its ffmpeg children): on a shared machine the
CPU column says what the step costs, the wall column what it cost then.

`one_run` calls the functions of MEASURES in order, each adding its rows.

    /work/main/.venv/bin/python -m benchmarks.editor [--runs 3] [--export-only | --animate-only] [--side-by-side]
    /work/main/.venv/bin/python -m benchmarks.editor --animate-only --runs 5 --against /work/main [--without ultrafast]

`--side-by-side` alternates each run with one where the preview compositor's fast paths
(issue 16: collapsed static blend layers, resizing only the visible part of clip frames,
kept static composites) are switched off, so both columns see the same load.

`--against CHECKOUT` compares this checkout with another one (main) in one run: every
repeat runs each variant in a fresh process of its own (a warm-up run, then the measured
one), the variants in turn, so all of them see the same load; `--without NAME` adds a
variant of this checkout with one of its speed-ups (WITHOUT) switched off, which says
what that one change is worth.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Callable, ContextManager, Iterator
from unittest import mock

from app import animating, exporting, handlers, live, warmup
from app import canvas as cv
from app.motion_panel import MotionFields
from app.persist import restore
from app.session import Session, SessionStore
from engine.core.stream import FrameStream
from engine.export import options
from engine.render import compositor, scale

PROMPT = "the balloon drifts up gently and sways"
FPS, SECONDS = 24, 2

Row = tuple[float, float]  # wall seconds, CPU seconds
Measure = Callable[[Session, Path], dict[str, Row]]


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(step: Callable[[], dict]) -> Row:
    wall, cpu = time.perf_counter(), _cpu()
    view = step()
    row = (time.perf_counter() - wall, _cpu() - cpu)
    if view.get("error"):
        raise SystemExit(f"step failed: {view['status']}")
    return row


def balloon(session: Session) -> int:
    return session.state.poster.layer("Balloon").id


def open_rows(session: Session, folder: Path) -> dict[str, Row]:
    rows = {"open sample (page load)": timed(lambda: handlers.start(session, False))}
    layer = balloon(session)
    rows["select + prompt"] = timed(lambda: {**handlers.set_selection(session, [layer]),
                                             **handlers.edit_motion(session, layer, MotionFields(prompt=PROMPT))})
    handlers.set_timeline(session, FPS, SECONDS)
    # The designer reads the canvas and types the prompt; meanwhile the preview's layers and
    # static composites are made in the background (app.warmup). Waited for here, so the
    # Animate row starts where a designer's would, and shown, so its cost is not hidden.
    rows["(idle) preview made ready in the background"] = timed(lambda: warmup.wait() or {})
    return rows


def animate_rows(session: Session, folder: Path) -> dict[str, Row]:
    return {f"animate 1 layer, {FPS * SECONDS} frames": timed(lambda: animating.animate(session, "selected"))}


def live_rows(session: Session, folder: Path) -> dict[str, Row]:
    """The Amplitude slider moved: what the page asks for next (app.ui wires these)."""
    layer = balloon(session)
    motion = session.state.motion(layer)
    amplitude = 0.5 if motion.params.get("amplitude") != 0.5 else 0.4
    fields = MotionFields(engine="presets", prompt=motion.prompt, params={**motion.params, "amplitude": amplitude})
    rows = {"parameter change (edit handler)": timed(
        lambda: handlers.edit_motion(session, layer, fields, only=("amplitude",)))}
    rows["parameter change → draft preview"] = timed(lambda: live.draft(session))
    rows["parameter change → full preview"] = timed(lambda: live.full(session))
    return rows


def reroll_rows(session: Session, folder: Path) -> dict[str, Row]:
    return {"re-roll 1 layer": timed(lambda: animating.reroll(session, balloon(session)))}


def reopen_rows(session: Session, folder: Path) -> dict[str, Row]:
    rows = {"restore after restart": timed(
        lambda: {"restored": SessionStore(folder, restore=restore).open(session.token)[1]})}
    saved = exporting.save_project(session)["project_file"]
    other, _ = SessionStore(folder / "other", restore=restore).open(None)
    rows["open saved project, preview shown"] = timed(lambda: _opened_with_preview(other, saved))
    return rows


def _opened_with_preview(session: Session, saved: str) -> dict:
    view = exporting.open_project(session, saved)
    if not view.get("error") and not view.get("preview"):
        raise SystemExit("the opened project shows no preview")
    return view


#: The formats of the render-once comparison: the issue's MP4 + GIF + layered bundle.
TOGETHER = ("mp4", "gif", "layered")


def export_rows(session: Session, folder: Path) -> dict[str, Row]:
    """MP4, GIF and the layered bundle of the animated balloon (48 frames), one Export each,
    then one Export of all three (one render, encoders side by side). The session writes into
    its own exports folder."""
    frames = FPS * SECONDS
    rows = {f"export {key}, {frames} frames": timed(lambda key=key: exporting.export(session, key))
            for key in TOGETHER}
    rows["export all three, one after another"] = tuple(map(sum, zip(*rows.values())))  # type: ignore[assignment]
    rows["export all three together (one render)"] = timed(lambda: exporting.export(session, list(TOGETHER)))
    return rows


MEASURES: list[Measure] = [open_rows, animate_rows, live_rows, reroll_rows, export_rows, reopen_rows]
EXPORT_ONLY: list[Measure] = [open_rows, animate_rows, export_rows]
ANIMATE_ONLY: list[Measure] = [open_rows, animate_rows, live_rows, reroll_rows]


def one_run(folder: Path, measures: list[Measure] = MEASURES) -> dict[str, Row]:
    store = SessionStore(folder, restore=restore)
    session, _ = store.open(None)
    rows: dict[str, Row] = {}
    for measure in measures:
        rows.update(measure(session, folder))
    return rows


@contextmanager
def compositor_fast_paths_off() -> Iterator[None]:
    """The preview compositor without issue 16's fast paths, for the side-by-side columns:
    every static blend layer applied by its own formula (no collapsed per-pixel map),
    clip frames resized whole, the static composites drawn again for every render."""
    with mock.patch.object(compositor, "_collapsed", lambda *args: None), \
            mock.patch.object(scale, "resize_shown", scale.resize), \
            mock.patch.object(compositor, "_KEPT_PIXELS", 0):
        yield


@contextmanager
def _no_warm_up() -> Iterator[None]:
    with mock.patch.object(warmup, "warm_preview", lambda session: None):
        yield


@contextmanager
def _veryfast_preview() -> Iterator[None]:
    """The editor preview encoded with x264 veryfast, its preset before ultrafast."""
    preview = options.QUALITIES_BY_KEY["preview"]
    slower = replace(preview, x264=("veryfast", preview.x264[1]))
    with mock.patch.dict(options.QUALITIES_BY_KEY, {"preview": slower}):
        yield


@contextmanager
def _no_opaque_promise() -> Iterator[None]:
    """Streams that do not say they are opaque: MP4 scans every frame for see-through pixels."""
    with mock.patch.object(FrameStream, "opaque", property(lambda self: None)):
        yield


@contextmanager
def _canvas_backdrop_made_each_time() -> Iterator[None]:
    """The canvas picture's backdrop (poster over the checkerboard, shrunk) made for every redraw."""
    kept = cv._backdrop

    def fresh(static, view):
        cv._BACKDROPS.clear()
        return kept(static, view)

    with mock.patch.object(cv, "_backdrop", fresh):
        yield


#: This checkout's speed-ups for Animate one layer, each switched off by its context manager.
WITHOUT: dict[str, Callable[[], ContextManager[None]]] = {
    "warm-up": _no_warm_up,
    "ultrafast": _veryfast_preview,
    "opaque-skip": _no_opaque_promise,
    "canvas-backdrop": _canvas_backdrop_made_each_time,
}

#: One measured run in a fresh process of any checkout (its own benchmarks.editor), as JSON rows.
_CHILD = """
import json, sys, tempfile
from contextlib import ExitStack
from pathlib import Path
from benchmarks import editor
measures, off = getattr(editor, sys.argv[1]), [name for name in sys.argv[2].split(",") if name]
with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
    for name in off:
        stack.enter_context(editor.WITHOUT[name]())
    editor.one_run(Path(tmp) / "warm", measures)
    print(json.dumps(editor.one_run(Path(tmp) / "run", measures)))
"""


def _child_run(checkout: Path, measures: str, off: tuple[str, ...]) -> dict[str, Row]:
    done = subprocess.run([sys.executable, "-c", _CHILD, measures, ",".join(off)], cwd=checkout,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run in {checkout} failed:\n{done.stderr[-2000:]}")
    return {step: tuple(row) for step, row in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def compare(against: Path, without: list[str], runs: int, measures: str) -> None:
    """`against` (main), this checkout, and this checkout without each of `without`, in turn."""
    here = Path(__file__).resolve().parent.parent
    variants = [(f"{against.name} (against)", against, ()), ("this checkout", here, ())]
    variants += [(f"without {name}", here, (name,)) for name in without]
    results: list[list[dict[str, Row]]] = [[] for _ in variants]
    load = os.getloadavg()[0]
    for index in range(runs):
        order = range(len(variants)) if index % 2 == 0 else reversed(range(len(variants)))
        for which in order:
            _, checkout, off = variants[which]
            results[which].append(_child_run(checkout, measures, off))
    load = (load + os.getloadavg()[0]) / 2
    steps = list(dict.fromkeys([*results[1][0], *(step for runs_of in results for step in runs_of[0])]))
    print(f"balloon.psd, median of {runs} runs per variant (fresh process each, variants in turn), "
          f"load average ≈ {load:.1f} on {os.cpu_count()} CPUs\n")
    print("| step | " + " | ".join(f"{name}: wall s | CPU s" for name, _, _ in variants) + " | CPU / against |")
    print("| --- | " + " | ".join("---: | ---:" for _ in variants) + " | ---: |")
    for step in steps:
        cells, cpus = [], []
        for runs_of in results:
            rows = [run[step] for run in runs_of if step in run]
            wall = statistics.median(r[0] for r in rows) if rows else None
            cpu = statistics.median(r[1] for r in rows) if rows else None
            cells.append("– | –" if wall is None else f"{wall:.2f} | {cpu:.2f}")
            cpus.append(cpu)
        ratio = f"{cpus[1] / cpus[0]:.2f}×" if cpus[0] and cpus[1] is not None else "–"
        print(f"| {step} | " + " | ".join(cells) + f" | {ratio} |")
    animate = f"animate 1 layer, {FPS * SECONDS} frames"
    walls = [statistics.median(run[animate][0] for run in runs_of) for runs_of in results]
    print(f"\n{animate}, wall: " + ", ".join(f"{name} {wall:.2f} s" for (name, _, _), wall in zip(variants, walls))
          + f"; this checkout / against: {walls[1] / walls[0]:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--export-only", action="store_true",
                        help="only open, animate and the export rows (MP4, GIF, bundle alone and together)")
    parser.add_argument("--animate-only", action="store_true",
                        help="only open, animate, the parameter-change previews and re-roll")
    parser.add_argument("--side-by-side", action="store_true",
                        help="alternate runs with the compositor's fast paths off and on (same load)")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="compare with another checkout (e.g. /work/main), each run in a fresh process")
    parser.add_argument("--without", action="append", default=[], choices=sorted(WITHOUT),
                        help="with --against: also this checkout with that speed-up off (repeatable)")
    args = parser.parse_args()
    if args.against is not None:
        name = "EXPORT_ONLY" if args.export_only else "ANIMATE_ONLY" if args.animate_only else "MEASURES"
        compare(args.against.resolve(), args.without, args.runs, name)
        return
    measures = EXPORT_ONLY if args.export_only else ANIMATE_ONLY if args.animate_only else MEASURES
    runs: list[dict[str, Row]] = []
    before: list[dict[str, Row]] = []
    with tempfile.TemporaryDirectory() as tmp:
        one_run(Path(tmp) / "warm", measures)  # imports, caches
        load = os.getloadavg()[0]
        for index in range(args.runs):
            if args.side_by_side:
                with compositor_fast_paths_off():
                    before.append(one_run(Path(tmp) / f"before{index}", measures))
            runs.append(one_run(Path(tmp) / f"run{index}", measures))
        load = (load + os.getloadavg()[0]) / 2
    steps = list(runs[0])
    wall = {step: statistics.median(run[step][0] for run in runs) for step in steps}
    cpu = {step: statistics.median(run[step][1] for run in runs) for step in steps}
    print(f"balloon.psd, median of {args.runs} runs, load average ≈ {load:.1f} on {os.cpu_count()} CPUs\n")
    if before:
        old_wall = {step: statistics.median(run[step][0] for run in before) for step in steps}
        old_cpu = {step: statistics.median(run[step][1] for run in before) for step in steps}
        print(f"| {'step':<40} | off: wall s | off: CPU s | on: wall s | on: CPU s | CPU on/off |")
        print(f"| {'-' * 40} | ----------: | ---------: | ---------: | --------: | ---------: |")
        for step in steps:
            ratio = cpu[step] / old_cpu[step] if old_cpu[step] > 0 else float("nan")
            print(f"| {step:<40} | {old_wall[step]:11.2f} | {old_cpu[step]:10.2f} | {wall[step]:10.2f} "
                  f"| {cpu[step]:9.2f} | {ratio:9.2f}× |")
    else:
        print(f"| {'step':<40} | wall s | CPU s |")
        print(f"| {'-' * 40} | -----: | ----: |")
        for step in steps:
            print(f"| {step:<40} | {wall[step]:6.2f} | {cpu[step]:5.2f} |")
    print()
    if export_rows in measures:
        slowest = max(wall[f"export {key}, {FPS * SECONDS} frames"] for key in TOGETHER)
        together = wall["export all three together (one render)"]
        print(f"MP4 + GIF + bundle together / slowest alone: {together / slowest:.2f}× (target ≤ 1.5×); "
              f"one after another / together: {wall['export all three, one after another'] / together:.2f}×")
    if args.export_only:
        return
    animate = wall[f"animate 1 layer, {FPS * SECONDS} frames"]
    print(f"re-roll / animate: {wall['re-roll 1 layer'] / animate:.2f}×; "
          f"draft / full preview after a parameter change: "
          f"{wall['parameter change → draft preview'] / wall['parameter change → full preview']:.2f}×")


if __name__ == "__main__":
    main()
