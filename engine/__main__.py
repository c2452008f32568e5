"""The command line: `python -m engine layers|animate ...`.

Exit codes: 0 success, 2 bad usage (argparse), 3 a problem with the input that the
message explains (PosterError), 1 an unexpected internal failure (one line, no traceback
unless --debug).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from engine.core.poster import Box, PosterError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3


def _parse_param(text: str) -> tuple[str, object]:
    """`amplitude=0.7` -> ("amplitude", 0.7); values are JSON when they parse, else text."""
    if "=" not in text:
        raise PosterError(f"A parameter must look like name=value, got '{text}'.")
    name, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


def cmd_layers(args: argparse.Namespace) -> int:
    from engine import load_psd

    poster = load_psd(args.poster)
    if args.json:
        rows = [
            {
                "id": layer.id,
                "name": layer.name,
                "group": list(layer.group_path),
                "kind": layer.kind.value,
                "box": list(layer.box.as_tuple()),
                "opacity": round(layer.opacity, 4),
                "blend_mode": layer.blend_mode,
                "visible": layer.visible,
                "text": layer.text,
            }
            for layer in poster.layers
        ]
        print(json.dumps({"width": poster.width, "height": poster.height, "layers": rows,
                          "unsupported": poster.unsupported}, indent=2))
        return EXIT_OK
    print(f"{poster.name}: {poster.width}×{poster.height}, {len(poster.layers)} layers (bottom first)")
    for layer in poster.layers:
        x, y, w, h = layer.box.as_tuple()
        flags = "" if layer.visible else "  [hidden]"
        label = "/".join((*layer.group_path, layer.name))
        print(
            f"  {layer.id:>4}  {label:<30} {layer.kind.value:<12} "
            f"{w:>5}×{h:<5} at ({x}, {y})  {layer.blend_mode} {layer.opacity:.0%}{flags}"
        )
    for notice in poster.unsupported:
        print(f"  note: {notice}")
    return EXIT_OK


def cmd_animate(args: argparse.Namespace) -> int:
    from engine import load_psd, plan
    from engine.export import export, format_for_path
    from engine.render.compositor import poster_stream
    from engine.motion import MotionRequest, get_animator
    from engine.core.progress import console_progress
    from engine.planning.geometry import fit_motion_box, fit_problem

    if not args.prompt and not args.preset:
        raise PosterError("Say how the layer should move: give --prompt 'sways gently' or --preset sway.")
    if args.box and len(args.layer) > 1:
        raise PosterError("--box applies to one layer; animate layers one by one to give each a box.")
    out = Path(args.out)
    export_format = format_for_path(out, layered=True)  # a wrong extension fails before any work
    poster = load_psd(args.poster)
    layers = [poster.layer(name) for name in args.layer]
    frames = args.frames or max(1, round(args.duration * args.fps))

    if args.box:
        boxes = {layers[0].name: Box.from_any(args.box)}
        preset, params = args.preset, {}
    else:
        planned = plan(poster, [([layer.name for layer in layers], args.prompt or args.preset)])[0]
        print(f"planned by {planned.source}: {planned.rationale}", file=sys.stderr)
        boxes = {name: Box.from_any(box) for name, box in planned.boxes.items()}
        # The plan's parameters belong to the plan's preset: keep them only when it is used.
        preset, params = (args.preset, {}) if args.preset else (planned.preset, dict(planned.params))
    params.update(_parse_param(text) for text in args.param)

    for layer in layers:  # the editor's rule; on the command line a box is refused, not silently moved
        box = boxes[layer.name]
        problem = fit_problem(box, layer.box, poster.canvas)
        if problem:
            raise PosterError(
                f"The motion box {box.as_tuple()} of '{layer.name}' {problem}: the nearest allowed box on the "
                f"{poster.width}×{poster.height} poster is {fit_motion_box(box, layer.box, poster.canvas).as_tuple()}."
            )
    requests = [
        MotionRequest(layer=layer, box=boxes[layer.name], prompt=args.prompt, preset=preset,
                      params=params, frames=frames, fps=args.fps, seed=args.seed)
        for layer in layers
    ]
    animator = get_animator(args.engine)
    ok, reason = animator.available()
    if not ok:
        raise PosterError(reason)
    if len(requests) > 1:
        clips = animator.animate_group(requests, args.prompt)
    else:
        clips = [animator.animate(requests[0])]
    for clip in clips:
        clip.loop_mode = args.loop
        for message in clip.messages:
            print(f"note: {message}", file=sys.stderr)

    layered = export_format.layered
    with console_progress(f"writing {out.name}", quiet=args.quiet) as progress:
        export(
            out,
            poster_stream(poster, clips, frames, fps=args.fps),  # frames are drawn as they are written
            fps=args.fps,
            format=export_format.key,
            poster=poster if layered else None,
            clips={clip.layer_id: clip for clip in clips} if layered else None,
            progress=progress,
        )
    print(out)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from engine.core.clip import LOOP_MODES
    from engine.export.formats import extensions_help

    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True)

    layers = sub.add_parser("layers", help="list a poster's layers in paint order")
    layers.add_argument("poster", help="a .psd or .psb file")
    layers.add_argument("--json", action="store_true", help="machine-readable output")
    layers.set_defaults(func=cmd_layers)

    animate = sub.add_parser("animate", help="animate layers and write a video or bundle")
    animate.add_argument("poster", help="a .psd or .psb file")
    animate.add_argument("--layer", action="append", required=True,
                         help="layer name (repeat for a group sharing one prompt)")
    animate.add_argument("--prompt", default="", help="motion prompt, e.g. 'sways gently'")
    animate.add_argument("--preset", help="preset id (overrides what the prompt suggests)")
    animate.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                         help="preset parameter, e.g. amplitude=0.8 (repeatable)")
    animate.add_argument("--box", help="motion box x,y,w,h in poster pixels (default: planned)")
    animate.add_argument("--engine", default="presets", help="motion engine (default: presets)")
    animate.add_argument("--fps", type=int, default=24)
    animate.add_argument("--duration", type=float, default=2.0, help="seconds (default 2)")
    animate.add_argument("--frames", type=int, help="frame count (overrides --duration)")
    animate.add_argument("--seed", type=int, default=0)
    animate.add_argument("--loop", choices=LOOP_MODES, default="loop",
                         help="how a clip shorter than the timeline continues (default: loop)")
    animate.add_argument("--out", required=True, help=f"output file; {extensions_help()}")
    animate.add_argument("--quiet", action="store_true", help="no progress bar")
    animate.set_defaults(func=cmd_animate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except PosterError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence: one sentence, never a traceback
        if args.debug:
            raise
        print(f"internal error: {type(error).__name__}: {error} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
