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


def _modes(args: argparse.Namespace) -> tuple[list[str], str | None]:
    """Each layer's prompt, and the shared group prompt (None in joint mode).

    One --prompt for one or several --layer: a group moving together under that prompt.
    As many --prompt as --layer (two or more): joint mode, each layer after its own prompt
    in one engine call.
    """
    layers, prompts = args.layer, args.prompt or []
    if len(prompts) > 1 and len(prompts) != len(layers):
        raise PosterError(
            f"Give one --prompt for all layers, or one --prompt per --layer in the same order; "
            f"got {len(layers)} layers and {len(prompts)} prompts."
        )
    if len(prompts) > 1:
        return list(prompts), None
    prompt = prompts[0] if prompts else ""
    return [prompt] * len(layers), (prompt if len(layers) > 1 else None)


def _frames_of(seconds: float, fps: int, flag: str, least: int) -> int:
    """Seconds on the command line -> whole frames at `fps` (at least `least`)."""
    if seconds < 0:
        raise PosterError(f"{flag} is in seconds and cannot be negative; got {seconds:g}.")
    return max(least, round(seconds * fps))


def cmd_animate(args: argparse.Namespace) -> int:
    from engine import load_psd
    from engine.core.progress import console_progress
    from engine.export import export_many
    from engine.export.estimate import describe_bytes, estimate_gif_bytes
    from engine.core.links import detect_links
    from engine.motion import MotionRequest
    from engine.motion.follow import animate_with_followers
    from engine.motion.service import get_service
    from engine.planning import plan
    from engine.planning.geometry import fit_motion_box, fit_problem
    from engine.motion.presets.stage import is_full_bleed
    from engine.render.compositor import poster_stream

    if not args.prompt and not args.preset:
        raise PosterError("Say how the layer should move: give --prompt 'sways gently' or --preset sway.")
    if args.box and len(args.layer) > 1:
        raise PosterError("--box applies to one layer; animate layers one by one to give each a box.")
    targets = _export_targets(args)  # a wrong extension, format or option fails before any work
    options = _export_options(args)
    engine = get_service(args.engine)  # generative engines: the result cache, the device queue, Ray
    ok, reason = engine.available()
    if not ok:
        raise PosterError(reason)
    prompts, group_prompt = _modes(args)
    poster = load_psd(args.poster)
    layers = [poster.layer(name) for name in args.layer]
    if len({layer.id for layer in layers}) != len(layers):
        raise PosterError("Each --layer may be named once.")
    frames = args.frames or max(1, round(args.length * args.fps))
    start = None if args.start is None else _frames_of(args.start, args.fps, "--start", 0)
    duration = None if args.duration is None else _frames_of(args.duration, args.fps, "--duration", 1)
    explicit = dict(_parse_param(text) for text in args.param)
    uses_presets = engine.name == "presets"
    if args.preset:
        if not uses_presets:
            raise PosterError(f"--preset belongs to the presets engine; the {engine.name} engine has none.")
        explicit["preset"] = args.preset

    boxes: dict[str, Box] = {}
    planned: dict[str, dict] = {}  # the plan's preset and parameters, per layer
    if args.box:
        boxes[layers[0].name] = Box.from_any(args.box)
    else:
        if group_prompt is not None or len(layers) == 1:
            items = [([layer.name for layer in layers], prompts[0] or args.preset)]
        else:
            items = [([layer.name], prompt or args.preset) for layer, prompt in zip(layers, prompts)]
        for result in plan(poster, items):
            print(f"planned by {result.source}: {result.rationale}", file=sys.stderr)
            for layer_id, box in result.layer_boxes.items():
                name = poster.layer(layer_id).name
                boxes[name] = Box.from_any(box)
                # a sequence's steps are played from the prompt (Auto); a plan's preset is its first only
                planned[name] = {} if result.steps else {"preset": result.preset, **result.params}
    for layer in layers:  # the editor's rule; on the command line a box is refused, not silently moved
        box = boxes[layer.name]
        problem = fit_problem(box, layer.box, poster.canvas)
        if problem:
            raise PosterError(
                f"The motion box {box.as_tuple()} of '{layer.name}' {problem}: the nearest allowed box on the "
                f"{poster.width}×{poster.height} poster is {fit_motion_box(box, layer.box, poster.canvas).as_tuple()}."
            )

    requests = []
    for layer, prompt in zip(layers, prompts):
        # The plan's parameters belong to the plan's preset: keep them only when it is used.
        params = dict(planned.get(layer.name, {})) if uses_presets and "preset" not in explicit else {}
        params.update(explicit)
        engine.resolve_params(params, prompt=prompt, layer_kind=layer.kind,  # a bad --param stops here
                              full_bleed=is_full_bleed(layer.box, poster.canvas))
        requests.append(MotionRequest(layer=layer, box=boxes[layer.name], prompt=prompt, params=params,
                                      frames=frames, fps=args.fps, seed=args.seed,
                                      phase=args.phase, start=start, duration=duration, canvas=poster.canvas))
    followers: dict[int, list] = {}
    if not args.no_links:  # a title's shadow moves with the title (engine.core.links)
        chosen = {layer.id for layer in layers}
        for follower_id, link in detect_links(poster).items():
            if link.owner in chosen and follower_id not in chosen:
                followers.setdefault(link.owner, []).append(poster.layer(follower_id))
    with console_progress(f"animating with {engine.name}", quiet=args.quiet) as update:
        clips = animate_with_followers(engine, requests, followers, group_prompt=group_prompt,
                                       progress=lambda done, total, _message: update(done, total))
    for clip in clips:
        clip.loop_mode = args.loop
        for message in clip.messages:
            print(f"note: {message}", file=sys.stderr)

    stream = poster_stream(poster, clips, frames, fps=args.fps)  # frames are drawn as they are written
    if any(target.key == "gif" for _, target in targets):
        print(f"GIF: about {describe_bytes(estimate_gif_bytes(stream, args.fps, options))}", file=sys.stderr)
    names = ", ".join(path.name for path, _ in targets)
    with console_progress(f"writing {names}", quiet=args.quiet) as progress:
        written = export_many(targets, stream, args.fps, options=options, poster=poster,
                              clips={clip.layer_id: clip for clip in clips}, progress=progress)
    for path in written:
        size = sum(f.stat().st_size for f in path.glob("*")) if path.is_dir() else path.stat().st_size
        print(f"{path}  ({describe_bytes(size)})")
    return EXIT_OK


def _export_targets(args: argparse.Namespace) -> list:
    """(path, format) pairs: `--out` alone picks the format by extension; with `--format a,b`
    `--out` is the name every file starts with (its extension, if any, dropped)."""
    from engine.core.atomic import check_output_folder
    from engine.export.formats import FORMATS, export_format, format_for_path

    out = Path(args.out)
    if not args.format:
        targets = [(out, format_for_path(out, layered=True))]
    else:
        keys = [key.strip() for key in args.format.split(",") if key.strip()]
        if len(set(keys)) != len(keys):
            raise PosterError(f"--format names a format twice: {args.format}.")
        stem = out.with_suffix("") if out.suffix.lower() in {e for f in FORMATS for e in f.endings} else out
        targets = [(stem.parent / export_format(key).file_name(stem.name), export_format(key)) for key in keys]
    for path, target in targets:
        if target.download:
            check_output_folder(path)
    return targets


def _export_options(args: argparse.Namespace):
    from engine.export.options import ExportOptions, parse_size

    size, custom = parse_size(args.size)
    options = ExportOptions(size=size, custom=custom, quality=args.quality, fps=args.export_fps, plays=args.plays)
    options.output_fps(args.fps)  # a frame rate above the animation's is refused before animating
    return options


def build_parser() -> argparse.ArgumentParser:
    from engine.core.clip import LOOP_MODES, PHASES
    from engine.export.formats import FORMATS, extensions_help
    from engine.export.options import CUSTOM, DEFAULT_QUALITY, QUALITIES, SIZES

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
                         help="layer name (repeat: with one --prompt a group moving together, "
                              "with one --prompt per --layer each layer after its own prompt in one call)")
    animate.add_argument("--prompt", action="append", default=[],
                         help="motion prompt, e.g. 'sways gently' (one, or one per --layer)")
    animate.add_argument("--preset", help="preset id for the presets engine (overrides what the prompt suggests)")
    animate.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                         help="engine parameter, e.g. amplitude=0.8 or steps=30 (repeatable); "
                              "checked against the engine's parameters")
    animate.add_argument("--box", help="motion box x,y,w,h in poster pixels (default: planned)")
    animate.add_argument("--engine", default="presets", help="motion engine: presets (default), i2v or dmdl")
    animate.add_argument("--fps", type=int, default=24)
    animate.add_argument("--length", type=float, default=2.0, help="timeline length in seconds (default 2)")
    animate.add_argument("--frames", type=int, help="timeline frame count (overrides --length)")
    animate.add_argument("--phase", choices=PHASES,
                         help="in: an entrance that ends on the layer; loop; out: an exit that starts on it "
                              "(default: what the prompt says, else loop)")
    animate.add_argument("--start", type=float,
                         help="seconds into the timeline the motion starts (default: what the prompt says, else 0)")
    animate.add_argument("--duration", type=float,
                         help="seconds the motion lasts (default: what the prompt says, else to the end for a "
                              "loop, the motion's natural length for an entrance or exit)")
    animate.add_argument("--seed", type=int, default=0)
    animate.add_argument("--loop", choices=LOOP_MODES, default="loop",
                         help="how a clip shorter than the timeline continues (default: loop)")
    animate.add_argument("--out", required=True,
                         help=f"output file; {extensions_help()}; with --format, the name every file starts with")
    animate.add_argument("--format", help="several formats from one render, e.g. mp4,gif,layered "
                                          f"(keys: {', '.join(f.key for f in FORMATS)})")
    animate.add_argument("--size", default="original",
                         help="output size, the poster fitted inside (bars: background colour in flat formats, "
                              f"transparent in WebM/ProRes/PNG): {', '.join(s.key for s in SIZES if s.key != CUSTOM)} "
                              "or W×H such as 1200x628 (the layered bundle keeps the poster's size)")
    animate.add_argument("--quality", default=DEFAULT_QUALITY, choices=[q.key for q in QUALITIES if q.offered],
                         help="encoder settings per format (README: Export options)")
    animate.add_argument("--export-fps", type=float,
                         help="frame rate of the files, at most --fps: frames are picked, never invented "
                              "(default: --fps; the layered bundle keeps --fps)")
    animate.add_argument("--plays", type=int, default=0,
                         help="how many times a GIF, APNG or WebP plays (default 0: forever)")
    animate.add_argument("--quiet", action="store_true", help="no progress bar")
    animate.add_argument("--no-links", action="store_true",
                         help="leave linked layers (a title's shadow, a sun's glow) still instead of "
                              "moving them with the layer they belong to")
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
