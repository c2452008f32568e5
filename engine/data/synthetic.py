"""Synthetic TDL data: posters whose layers are animated by an Animator and written to disk.

The paper's TDL set (100k I2V-generated, matted clips) cannot be rebuilt here, but both
DMDL models only need the same *format* to be trained and tested: per layer an RGBA clip
in its motion box, the static layer, a prompt, the layers of a poster together. So this
module takes posters, picks layers, gives each a motion box and a preset, and lets an
Animator (engine.motion.base.Animator) make the clip.

Posters come from the sample PSDs (`source="samples"`, scaled down so layers fit the CPU
budget) or are drawn procedurally (`source="shapes"`: soft discs, rings and rounded
boxes, the quickest data that still has edges, transparency and colour). Clips come from
the preset engine (engine.motion.presets: a random preset with random parameters per
layer) or, for the fastest tests, from `DriftAnimator` (a smooth drift and scale pulse);
both go through the same Animator interface.

    python -m engine.data.synthetic --out data/tdl-synth --posters 24 --frames 9
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from engine.data.tdl import TDLSample, write_poster
from engine.core.clip import LayerClip, place_static
from engine.motion.base import Animator, MotionRequest, step
from engine.core.poster import Box, Layer, LayerKind, Poster, PosterError
# Motion boxes sit on the model's token grid (TOKEN_PIXELS: the VAE's 8-px cells, doubled),
# which also makes clips of similar size share a bucket so they can be batched together.
from engine.dmdl.grid import TOKEN_PIXELS


# ----------------------------------------------------------------------------- posters


def _soft_shape(size: tuple[int, int], shape: str, edge: float = 1.5) -> np.ndarray:
    """Alpha in [0, 1] of a shape filling a (h, w) box, with an anti-aliased edge `edge` px wide."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    cy, cx, ry, rx = h / 2, w / 2, h / 2 - 1, w / 2 - 1
    if shape == "box":
        inside = np.minimum(rx - np.abs(xx - cx), ry - np.abs(yy - cy))
    else:
        radius = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
        inside = (1.0 - radius) * min(rx, ry)
        if shape == "ring":
            inside = np.minimum(inside, (radius - 0.45) * min(rx, ry))
    return np.clip(inside / edge + 0.5, 0.0, 1.0)


def shape_layer(layer_id: int, box: Box, rng: random.Random) -> Layer:
    """A soft disc, ring or box in one colour with a light vertical shade."""
    shape = rng.choice(["disc", "ring", "box"])
    alpha = _soft_shape((box.h, box.w), shape)
    colour = np.array([rng.random() for _ in range(3)], dtype=np.float32)
    shade = np.linspace(1.0, 0.7, box.h, dtype=np.float32)[:, None, None]
    rgb = np.clip(colour[None, None] * shade, 0, 1) * (alpha[..., None] > 0)
    pixels = np.concatenate([rgb, alpha[..., None]], axis=-1)
    return Layer(id=layer_id, name=f"{shape}-{layer_id}", pixels=(pixels * 255 + 0.5).astype(np.uint8), box=box)


def shape_poster(name: str, rng: random.Random, layers: int = 3, size: tuple[int, int] = (128, 96)) -> Poster:
    """A small poster of soft shapes on a transparent canvas."""
    width, height = size
    drawn = []
    for layer_id in range(1, layers + 1):
        w, h = rng.choice([8, 12, 16, 24]), rng.choice([8, 12, 16, 24])
        x, y = rng.randrange(TOKEN_PIXELS, width - w - TOKEN_PIXELS), rng.randrange(TOKEN_PIXELS, height - h - TOKEN_PIXELS)
        drawn.append(shape_layer(layer_id, Box(x, y, w, h), rng))
    return Poster(width=width, height=height, layers=drawn, name=name)


def scaled_poster(poster: Poster, factor: float) -> Poster:
    """The poster with every layer resampled by `factor` (boxes scaled about the origin)."""
    layers = []
    for layer in poster.layers:
        box = Box(
            int(round(layer.box.x * factor)),
            int(round(layer.box.y * factor)),
            max(1, int(round(layer.box.w * factor))),
            max(1, int(round(layer.box.h * factor))),
        )
        pixels = np.asarray(Image.fromarray(layer.pixels, "RGBA").resize((box.w, box.h), Image.Resampling.LANCZOS))
        layers.append(layer.with_pixels(pixels.copy(), box))
    size = max(1, int(round(poster.width * factor))), max(1, int(round(poster.height * factor)))
    return Poster(width=size[0], height=size[1], layers=layers, name=poster.name)


def sample_posters(directory: Path, max_layer: int) -> list[Poster]:
    """The sample PSDs, scaled so their median animatable layer is about `max_layer` px."""
    from engine.psd.load import load_psd

    posters = []
    for path in sorted(directory.glob("*.psd")):
        poster = load_psd(path)
        sizes = sorted(max(layer.box.w, layer.box.h) for layer in _animatable(poster))
        if sizes:
            posters.append(scaled_poster(poster, max_layer / sizes[len(sizes) // 2]))
    return posters


def _animatable(poster: Poster) -> list[Layer]:
    """Layers worth animating: visible, partly transparent or smaller than the canvas."""
    canvas = poster.width * poster.height
    return [
        layer
        for layer in poster.layers
        if layer.visible and layer.box.area < 0.5 * canvas and layer.pixels[..., 3].any()
    ]


# ----------------------------------------------------------------------------- motion


class DriftAnimator:
    """A minimal procedural Animator: the layer drifts along a loop and pulses in scale.

    Used when the preset engine is not installed; it exists so the data generator depends
    only on the Animator interface.
    """

    name = "drift"
    label = "Procedural drift"

    def available(self) -> tuple[bool, str]:
        return True, "Procedural drift needs nothing."

    def param_specs(self, params=None, *, prompt: str = "", layer_kind=None, full_bleed: bool = False) -> list:
        return []  # nothing to set: the seed decides the drift

    def resolve_params(self, params=None, *, prompt: str = "", layer_kind=None,
                       full_bleed: bool = False) -> tuple[dict, list[str]]:
        return {}, []

    def release(self) -> None:
        pass

    def animate(
        self, requests: Sequence[MotionRequest], *, group_prompt: str | None = None, progress=None, cancel=None
    ) -> list[LayerClip]:
        clips = []
        for index, request in enumerate(requests):
            clips.append(self._drift(request))
            step(progress, cancel, index + 1, len(requests), f"Drifted {request.layer.name}")
        return clips

    def _drift(self, request: MotionRequest) -> LayerClip:
        rng = random.Random(request.seed)
        static = place_static(request.layer, request.box)
        slack_x = (request.box.w - request.layer.box.w) / 2
        slack_y = (request.box.h - request.layer.box.h) / 2
        ax, ay = rng.uniform(-1, 1) * slack_x, rng.uniform(-1, 1) * slack_y
        pulse = rng.uniform(0.0, 0.15)
        image = Image.fromarray(_premultiplied(static), "RGBA")
        cx, cy = (request.layer.box.x - request.box.x) + request.layer.box.w / 2, (
            request.layer.box.y - request.box.y
        ) + request.layer.box.h / 2
        frames = [static]
        for index in range(1, request.frames):
            phase = 2 * math.pi * index / request.frames
            scale = 1.0 + pulse * math.sin(phase)
            dx, dy = ax * math.sin(phase), ay * (1 - math.cos(phase)) / 2
            # PIL maps output to input: x_in = (x_out - c - d) / s + c
            coeffs = (1 / scale, 0, cx - (cx + dx) / scale, 0, 1 / scale, cy - (cy + dy) / scale)
            moved = image.transform(image.size, Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR)
            frames.append(_straight(np.asarray(moved)))
        return LayerClip(layer_id=request.layer.id, box=request.box, frames=np.stack(frames), engine=self.name)


def _premultiplied(rgba: np.ndarray) -> np.ndarray:
    out = rgba.astype(np.float32)
    out[..., :3] *= out[..., 3:4] / 255.0
    return (out + 0.5).astype(np.uint8)


def _straight(rgba: np.ndarray) -> np.ndarray:
    out = rgba.astype(np.float32)
    alpha = out[..., 3:4]
    out[..., :3] = np.where(alpha > 0, out[..., :3] * 255.0 / np.maximum(alpha, 1), 0)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def random_params(preset_name: str, rng: random.Random) -> dict:
    """Random values for a preset's parameters, kept to short-clip-friendly ranges.

    Every parameter is drawn within its ParamSpec's range; cycles stay at 1–2 (a 9-frame
    clip cannot show eight periods) and amplitudes avoid the near-still low end.
    """
    from engine.motion.presets import PRESETS

    preset = PRESETS[preset_name]
    params = {}
    for name, spec in preset.params.items():
        if spec.kind == "choice":
            params[name] = rng.choice(spec.choices)
        elif spec.kind == "int":
            params[name] = rng.randint(int(spec.min), min(int(spec.max), int(spec.min) + 1))
        elif spec.kind == "float":
            low = spec.min + 0.3 * (spec.max - spec.min) if name == "amplitude" else spec.min
            params[name] = rng.uniform(low, spec.max)
    return preset.validate(params)


def default_animator() -> Animator:
    from engine.motion.registry import get_engine

    return get_engine("presets")


def motion_box_for(layer: Layer, rng: random.Random, max_margin: int = 16) -> Box:
    """The layer's box grown by a random margin on each side (up to a quarter of its size,
    at most `max_margin`) and snapped out to the box grid."""
    limit = min(max_margin, max(2, max(layer.box.w, layer.box.h) // 4))
    margins = [rng.randrange(0, limit + 1) for _ in range(4)]
    return layer.box.expand(*margins).snap_out(TOKEN_PIXELS)


def prompt_for(layer: Layer, motion: str) -> str:
    subject = (layer.text or layer.name).strip()
    return f"{subject}: {motion.lower()}"


# ----------------------------------------------------------------------------- generator


def generate(
    out: str | Path,
    posters: int = 8,
    frames: int = 9,
    seed: int = 0,
    source: str = "shapes",
    layers_per_poster: int = 3,
    max_layer: int = 32,
    samples_dir: Path | None = None,
    animator: Animator | None = None,
) -> int:
    """Write `posters` synthetic posters (their chosen layers animated) to a TDL root.

    Returns the number of samples written. Frame counts must be 4k+1 (the VAE's rule).
    """
    if frames < 1 or (frames - 1) % 4:
        raise PosterError(f"Synthetic clips need 4k+1 frames (1, 5, 9, …); got {frames}.")
    rng = random.Random(seed)
    animator = animator or default_animator()
    uses_presets = animator.name == "presets"
    if source == "samples":
        directory = samples_dir or Path(__file__).resolve().parents[2] / "assets" / "samples"
        sources = sample_posters(directory, max_layer)
        if not sources:
            raise PosterError(f"No sample posters (*.psd) found in {directory}.")
    elif source == "shapes":
        sources = []
    else:
        raise PosterError(f"Unknown poster source '{source}': use 'shapes' or 'samples'.")
    written = 0
    for index in range(posters):
        poster = sources[index % len(sources)] if sources else shape_poster(f"shapes-{index:04d}", rng)
        candidates = _animatable(poster)
        chosen = rng.sample(candidates, min(layers_per_poster, len(candidates)))
        samples = []
        for layer in chosen:
            box = motion_box_for(layer, rng)
            if uses_presets:
                from engine.motion.presets import PRESETS

                preset = rng.choice(sorted(PRESETS))
                params, motion = random_params(preset, rng), PRESETS[preset].label
            else:
                params, motion = {}, "drifts gently"
            if uses_presets:
                params = {"preset": preset, **params}
            request = MotionRequest(
                layer=layer, box=box, prompt=prompt_for(layer, motion), params=params,
                frames=frames, seed=rng.randrange(1 << 30),
            )
            clip = animator.animate([request])[0]
            samples.append(
                TDLSample(
                    poster=poster.name,
                    layer_id=layer.id,
                    name=layer.name,
                    prompt=request.prompt,
                    motion_box=box,
                    static_box=layer.box,
                    static=layer.pixels,
                    frames=clip.frames,
                    kind=layer.kind.value if isinstance(layer.kind, LayerKind) else str(layer.kind),
                    fps=request.fps,
                    meta={"engine": clip.engine, "preset": clip.preset, "params": _jsonable(clip.params)},
                )
            )
        name = poster.name if not sources else f"{poster.name}-{index:04d}"
        write_poster(out, name, poster.width, poster.height, samples)
        written += len(samples)
    return written


def _jsonable(params: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.data.synthetic", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--posters", type=int, default=8)
    parser.add_argument("--frames", type=int, default=9, help="frames per clip, 4k+1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=["shapes", "samples"], default="shapes")
    parser.add_argument("--layers-per-poster", type=int, default=3)
    parser.add_argument("--max-layer", type=int, default=32, help="typical layer size in px after scaling")
    parser.add_argument("--animator", choices=["presets", "drift"], default="presets")
    args = parser.parse_args(argv)
    animator = DriftAnimator() if args.animator == "drift" else default_animator()
    try:
        count = generate(
            args.out, args.posters, args.frames, args.seed, args.source, args.layers_per_poster, args.max_layer,
            animator=animator,
        )
    except PosterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {count} samples to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
