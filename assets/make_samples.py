"""Draw the sample posters in assets/samples/: layered 1080×1350 PSDs a newcomer can animate.

    python assets/make_samples.py            # writes assets/samples/*.psd
    python assets/make_samples.py --preview  # also writes a PNG composite of each, to look at

Everything is drawn procedurally (numpy for gradients and shaded shapes, Pillow for text)
at twice the size and downsampled, so edges are anti-aliased; no font or image file is
needed. Output is deterministic: running the script again rewrites identical files.
Each poster has a background, a subject that moves naturally, a title on its own layer,
a badge, semi-transparent layers in multiply / screen / overlay modes and layer groups,
named as a designer would name them.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from psd_tools import PSDImage
from psd_tools.constants import BlendMode, Compression

WIDTH, HEIGHT = 1080, 1350
SUPER = 2  # draw at 2× and downsample: anti-aliased edges without a vector library
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"

RGB = tuple[int, int, int]


# ---------------------------------------------------------------- drawing helpers


@dataclass
class Art:
    """One layer to be: full-canvas RGBA at 1×, its blend mode and opacity (0-255)."""

    name: str
    image: Image.Image
    blend: BlendMode = BlendMode.NORMAL
    opacity: int = 255


@dataclass
class Group:
    name: str
    children: list["Art | Group"]
    opacity: int = 255


def hex_rgb(text: str) -> RGB:
    text = text.lstrip("#")
    return tuple(int(text[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


@dataclass(frozen=True)
class Region:
    """The part of the canvas a shape is computed on (1× pixels, end-exclusive).

    Shapes are evaluated at 2× only inside their own region: a full 2× canvas per shape
    would make the script slow for no visible gain.
    """

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def around(cls, parts: Sequence[tuple[float, float, float, float]], pad: float = 4) -> "Region":
        """The region around ellipses (cx, cy, rx, ry), clipped to the canvas."""
        return cls(
            max(0, int(min(cx - rx for cx, _, rx, _ in parts) - pad)),
            max(0, int(min(cy - ry for _, cy, _, ry in parts) - pad)),
            min(WIDTH, int(max(cx + rx for cx, _, rx, _ in parts) + pad + 1)),
            min(HEIGHT, int(max(cy + ry for _, cy, _, ry in parts) + pad + 1)),
        )

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


FULL = Region(0, 0, WIDTH, HEIGHT)


def grid(scale: int = 1, region: Region = FULL) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (y, x) of a region in 1× units, sampled `scale` times finer.

    float64 throughout: numpy's vectorised sin/exp differ in the last bits between CPUs,
    and at float32 that would flip a few rounded pixels, so another machine would not
    regenerate byte-identical files.
    """
    ys = (np.arange(region.y0 * scale, region.y1 * scale, dtype=np.float64) + 0.5) / scale
    xs = (np.arange(region.x0 * scale, region.x1 * scale, dtype=np.float64) + 0.5) / scale
    return np.meshgrid(ys, xs, indexing="ij")


def ramp(t: np.ndarray, stops: Sequence[tuple[float, str]]) -> np.ndarray:
    """Colours along `t` (0..1) through (position, '#rrggbb') stops, as float RGB."""
    positions = [p for p, _ in stops]
    colors = np.array([hex_rgb(c) for _, c in stops], dtype=np.float64)
    flat = t.ravel()
    channels = [np.interp(flat, positions, colors[:, i]) for i in range(3)]
    return np.stack(channels, axis=-1).reshape(t.shape + (3,))


def to_layer(rgb: np.ndarray, alpha: np.ndarray, region: Region = FULL) -> Image.Image:
    """Float RGB (0-255) and alpha (0-1) of a region, at 1× or 2×, as a full-canvas RGBA layer."""
    rgb = np.broadcast_to(rgb, alpha.shape + (3,))
    alpha = np.clip(alpha, 0, 1)[..., None]
    scale = alpha.shape[0] // region.height
    pre = np.concatenate([np.clip(rgb, 0, 255) * alpha, alpha], axis=-1)
    if scale > 1:  # box-filter premultiplied colour so edges do not darken
        pre = pre.reshape(region.height, scale, region.width, scale, 4).mean(axis=(1, 3))
    a = pre[..., 3:4]
    straight = np.where(a > 0, pre[..., :3] / np.maximum(a, 1e-6), 0)
    rgba = np.concatenate([straight, a * 255], axis=-1)
    canvas = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    canvas[region.y0 : region.y1, region.x0 : region.x1] = np.round(rgba).astype(np.uint8)
    return Image.fromarray(canvas, "RGBA")


def coverage(distance: np.ndarray, scale: int) -> np.ndarray:
    """Signed distance (negative inside, 1× pixels) to anti-aliased coverage 0..1."""
    return np.clip(0.5 - distance * scale, 0, 1)


def blurred(image: Image.Image, radius: float) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def tinted(mask: np.ndarray, color: str, region: Region = FULL) -> Image.Image:
    return to_layer(np.array(hex_rgb(color), np.float64), mask, region)


def soft_shadow(layer: Image.Image, color: str, blur: float, offset: tuple[int, int], strength: float) -> Image.Image:
    """A blurred, offset copy of a layer's silhouette: drop shadows for multiply layers."""
    alpha = layer.getchannel("A").filter(ImageFilter.GaussianBlur(blur)) if blur else layer.getchannel("A")
    shifted = np.roll(np.asarray(alpha, np.float64) / 255, offset, axis=(1, 0))
    return tinted(soft(shifted * strength), color)


def soft(alpha: np.ndarray, step: int = 3) -> np.ndarray:
    """Alpha of a soft light or shadow layer, rounded to `step`/255.

    Invisible in the composite (these layers stay well below full opacity) but it lengthens
    the pixel runs that a run-length-compressed PSD stores, shrinking the file several times.
    """
    return np.round(alpha * 255 / step) * step / 255


def radial_glow(cx: float, cy: float, radius: float, color: str, power: float = 2.0) -> Image.Image:
    y, x = grid()
    d = np.hypot(x - cx, y - cy) / radius
    return tinted(soft(np.clip(1 - d, 0, 1) ** power), color)


def laid_paper(seed: int, strength: float = 6.0) -> Image.Image:
    """Laid-paper texture for an overlay layer: fine horizontal lines and vertical chain lines.

    Neutral grey (128) leaves colours unchanged under overlay. Rows are constant apart from
    the chain lines, which keeps the layer tiny in a run-length-compressed PSD (random
    grain would add megabytes).
    """
    rng = np.random.default_rng(seed)
    rows = 128 + strength * (0.5 * np.sin(np.arange(HEIGHT) * math.pi / 2) + 0.5 * rng.normal(0, 1, HEIGHT))
    value = np.repeat(rows[:, None], WIDTH, axis=1).astype(np.float64)
    chains = (np.arange(WIDTH) % 172) < 2
    value[:, chains] -= strength * 1.5
    return to_layer(np.repeat(value[..., None], 3, axis=-1), np.ones((HEIGHT, WIDTH), np.float64))


def vignette(color: str, strength: float) -> Image.Image:
    y, x = grid()
    d = np.hypot((x - WIDTH / 2) / (WIDTH * 0.62), (y - HEIGHT / 2) / (HEIGHT * 0.62))
    return tinted(soft(np.clip(d - 0.55, 0, 1) ** 1.4 * strength), color)


def font(size: int) -> ImageFont.FreeTypeFont:
    # Pillow's built-in scalable font: present on every machine, no system fonts needed.
    return ImageFont.load_default(size=size)


def text_layer(
    text: str, size: int, color: str, center: tuple[float, float], tracking: float = 0.0, weight: int = 0,
) -> Image.Image:
    """Centered, letter-spaced text drawn at 2×; `weight` thickens strokes (the font is Regular)."""
    big = Image.new("RGBA", (WIDTH * SUPER, HEIGHT * SUPER), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    face = font(size * SUPER)
    spacing = tracking * size * SUPER
    widths = [draw.textlength(ch, font=face) for ch in text]
    total = sum(widths) + spacing * (len(text) - 1)
    ascent, descent = face.getmetrics()
    x = center[0] * SUPER - total / 2
    y = center[1] * SUPER - (ascent + descent) / 2 + descent / 2
    fill = hex_rgb(color) + (255,)
    for ch, w in zip(text, widths):
        draw.text((x, y), ch, font=face, fill=fill, stroke_width=weight * SUPER, stroke_fill=fill)
        x += w + spacing
    return big.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


def badge(center: tuple[float, float], radius: float, fill: str, ring: str, lines: Sequence[tuple[str, int]], ink: str,
          rotation: float = -12) -> Image.Image:
    """A round sticker badge: disc, inner ring, stacked text lines, slightly rotated."""
    side = int(radius * 2.4) * SUPER
    big = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    c, r = side / 2, radius * SUPER
    teeth = 28
    star = []
    for i in range(teeth * 2):
        angle = math.pi * i / teeth
        rr = r if i % 2 == 0 else r * 0.93
        star.append((c + rr * math.cos(angle), c + rr * math.sin(angle)))
    draw.polygon(star, fill=hex_rgb(fill))
    inner = r * 0.8
    draw.ellipse((c - inner, c - inner, c + inner, c + inner), outline=hex_rgb(ring), width=int(3 * SUPER))
    heights = [size * SUPER * 1.1 for _, size in lines]
    y = c - sum(heights) / 2
    for (text, size), h in zip(lines, heights):
        face = font(size * SUPER)
        draw.text((c, y + h / 2), text, font=face, fill=hex_rgb(ink), anchor="mm",
                  stroke_width=max(1, size // 14) * SUPER, stroke_fill=hex_rgb(ink))
        y += h
    big = big.rotate(rotation, resample=Image.Resampling.BICUBIC)
    small = big.resize((side // SUPER, side // SUPER), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    canvas.alpha_composite(small, (int(center[0] - side / SUPER / 2), int(center[1] - side / SUPER / 2)))
    return canvas


def blob(parts: Sequence[tuple[float, float, float, float]], region: Region | None = None) -> np.ndarray:
    """Coverage (2×) of a union of ellipses (cx, cy, rx, ry) over `region` (default: around them)."""
    y, x = grid(SUPER, region or Region.around(parts))
    inside = np.zeros(y.shape, np.float64)
    for cx, cy, rx, ry in parts:
        d = (np.hypot((x - cx) / rx, (y - cy) / ry) - 1) * min(rx, ry)
        inside = np.maximum(inside, coverage(d, SUPER))
    return inside


def shape_layer(parts: Sequence[tuple[float, float, float, float]], color: str) -> Image.Image:
    region = Region.around(parts)
    return tinted(blob(parts, region), color, region)


def hills(base: float, amplitude: float, waves: Sequence[tuple[float, float]], top: str, bottom: str) -> Image.Image:
    """A rolling horizon silhouette with a vertical gradient."""
    region = Region(0, int(base - amplitude * 1.6), WIDTH, HEIGHT)
    y, x = grid(SUPER, region)
    ridge = base + sum(amplitude * a * np.sin(x / WIDTH * math.tau * f + f) for f, a in waves)
    alpha = coverage(ridge - y, SUPER)
    t = np.clip((y - ridge.min()) / (HEIGHT - ridge.min()), 0, 1)
    return to_layer(ramp(t, [(0, top), (1, bottom)]), alpha, region)


# ---------------------------------------------------------------- poster 1: hot-air balloon


def supersampled(region: Region) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """An empty 2× RGBA image of a region, to draw on with Pillow in 2× region coordinates."""
    image = Image.new("RGBA", (region.width * SUPER, region.height * SUPER), (0, 0, 0, 0))
    return image, ImageDraw.Draw(image)


def place(image: Image.Image, region: Region) -> Image.Image:
    """Downsample a 2× region image (premultiplied, so edges keep their colour) onto the canvas."""
    small = image.convert("RGBa").resize((region.width, region.height), Image.Resampling.LANCZOS).convert("RGBA")
    canvas = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    canvas.paste(small, (region.x0, region.y0))
    return canvas


def balloon_envelope(cx: float, cy: float, radius: float, colors: Sequence[str], gores: int = 8) -> Image.Image:
    """A shaded, striped balloon envelope with its basket and ropes."""
    mouth = radius * 0.22
    drop = radius * 1.3  # from the widest line down to the mouth
    region = Region(int(cx - radius - 4), int(cy - radius - 4), int(cx + radius + 5), int(cy + drop + radius * 0.75))
    y, x = grid(SUPER, region)
    t = np.clip((y - cy) / drop, 0, 1)
    half = np.where(y > cy, mouth + (radius - mouth) * np.clip(np.cos(t * math.pi / 2), 0, 1) ** 1.15,
                    np.sqrt(np.clip(radius**2 - (y - cy) ** 2, 0, None)))
    inside = coverage(np.abs(x - cx) - half, SUPER) * coverage(np.abs(y - cy + (radius - drop) / 2) - (radius + drop) / 2, SUPER)
    u = np.clip((x - cx) / np.maximum(half, 1), -0.999, 0.999)
    longitude = np.arcsin(u)
    gore = np.floor((longitude / math.pi + 0.5) * gores).astype(int)
    palette = np.array([hex_rgb(c) for c in colors], np.float64)
    rgb = palette[gore % len(palette)]
    # sphere-ish shading: light from the upper left, darker seams, a soft specular spot
    v = np.clip((y - cy) / radius, -1, 1.3)
    nz = np.sqrt(np.clip(1 - u**2, 0, 1))
    light = 0.62 + 0.38 * np.clip(nz * 0.8 - u * 0.45 - v * 0.25, 0, 1)
    along = (longitude / math.pi + 0.5) * gores % 1
    seams = 1 - 0.16 * np.exp(-((np.minimum(along, 1 - along) / 0.035) ** 2))
    spot = np.exp(-((x - (cx - radius * 0.38)) ** 2 + (y - (cy - radius * 0.45)) ** 2) / (2 * (radius * 0.22) ** 2))
    rgb = rgb * (light * seams)[..., None] + 255 * 0.35 * spot[..., None]
    alpha = np.clip(inside, 0, 1)[..., None]
    image = Image.fromarray(np.round(np.concatenate([np.clip(rgb, 0, 255), alpha * 255], -1)).astype(np.uint8), "RGBA")
    draw = ImageDraw.Draw(image)
    s = SUPER

    def at(px: float, py: float) -> tuple[float, float]:
        return ((px - region.x0) * s, (py - region.y0) * s)

    mouth_y = cy + drop
    basket_top = mouth_y + radius * 0.42
    bw, bh = radius * 0.34, radius * 0.26
    for dx in (-1, -0.35, 0.35, 1):
        draw.line([at(cx + dx * mouth * 0.9, mouth_y - 2), at(cx + dx * bw / 2 * 0.85, basket_top)],
                  fill=(74, 52, 40, 255), width=max(2, int(radius / 70 * s)))
    draw.rounded_rectangle((*at(cx - mouth * 1.02, mouth_y - radius * 0.08), *at(cx + mouth * 1.02, mouth_y)),
                           radius=radius * 0.03 * s, fill=(120, 58, 40, 255))
    draw.rounded_rectangle((*at(cx - bw / 2, basket_top), *at(cx + bw / 2, basket_top + bh)), radius=radius * 0.045 * s,
                           fill=(150, 98, 56, 255))
    for i in range(1, 4):
        yy = basket_top + bh * i / 4
        draw.line([at(cx - bw / 2 + 3, yy), at(cx + bw / 2 - 3, yy)], fill=(112, 70, 40, 255), width=max(2, int(radius / 100 * s)))
    draw.rounded_rectangle((*at(cx - bw / 2 - 3, basket_top - radius * 0.035), *at(cx + bw / 2 + 3, basket_top + radius * 0.025)),
                           radius=radius * 0.02 * s, fill=(96, 60, 36, 255))
    return place(image, region)


def cloud(cx: float, cy: float, scale: float, top: str, bottom: str) -> Image.Image:
    """A fluffy cloud: overlapping puffs, lit from above."""
    puffs = [(-0.9, 0.15, 0.55, 0.38), (-0.35, -0.2, 0.6, 0.55), (0.3, -0.32, 0.7, 0.62),
             (0.9, 0.05, 0.55, 0.42), (0.0, 0.22, 1.25, 0.3)]
    parts = [(cx + dx * scale, cy + dy * scale, rx * scale, ry * scale) for dx, dy, rx, ry in puffs]
    region = Region.around(parts)
    y, _ = grid(SUPER, region)
    t = np.clip((y - (cy - scale * 0.9)) / (scale * 1.45), 0, 1)
    return to_layer(ramp(t, [(0, top), (0.6, top), (1, bottom)]), blob(parts, region), region)


def balloon_poster() -> list[Art | Group]:
    y, _ = grid()
    sky = ramp(y / HEIGHT, [(0, "#20365f"), (0.35, "#5a5c93"), (0.62, "#d9879a"), (0.8, "#f6c08f"), (1, "#fbe2b4")])
    balloon = balloon_envelope(560, 640, 178, ["#e0483e", "#f6e7cf", "#f29f38", "#f6e7cf"])
    small = balloon_envelope(205, 905, 58, ["#2f8f9d", "#f3e6cf"], gores=6)
    title = text_layer("UP & AWAY", 132, "#fff4e2", (WIDTH / 2, 168), tracking=0.06, weight=3)
    return [
        Art("Sky", to_layer(sky, np.ones_like(y))),
        Art("Sun Glow", radial_glow(790, 1020, 520, "#ffd9a0", power=1.6), BlendMode.SCREEN, 220),
        Art("Sun", shape_layer([(790, 1020, 92, 92)], "#fff3d6")),
        Group("Clouds", [
            Art("Cloud Far", cloud(860, 430, 95, "#f4d9e0", "#b79bb8"), opacity=200),
            Art("Cloud Left", cloud(190, 600, 120, "#fbe7e6", "#c9a7b8"), opacity=235),
            Art("Cloud Low", cloud(880, 860, 150, "#fff0e6", "#d8a8a8"), opacity=245),
        ]),
        Group("Landscape", [
            Art("Hills Far", hills(1080, 46, [(1.3, 1.0), (2.7, 0.5)], "#8e6f9f", "#c495a4")),
            Art("Hills Near", hills(1170, 60, [(0.8, 1.0), (2.1, 0.45), (4.3, 0.2)], "#4d3f6b", "#2e2748")),
        ]),
        Art("Small Balloon", small),
        Art("Balloon Shadow", soft_shadow(balloon, "#3a2346", 22, (26, 30), 0.45), BlendMode.MULTIPLY, 150),
        Art("Balloon", balloon),
        Group("Title", [
            Art("Title Shadow", soft_shadow(title, "#2a1f47", 6, (0, 6), 0.8), BlendMode.MULTIPLY, 160),
            Art("Title", title),
            Art("Subtitle", text_layer("BALLOON FESTIVAL  ·  SEPT 12-14", 34, "#ffe6c8", (WIDTH / 2, 262), 0.18, 1)),
        ]),
        Art("Badge", badge((905, 1210), 105, "#f2b73f", "#fff4dc", [("FREE", 40), ("ENTRY", 30)], "#3b2a52")),
        Art("Vignette", vignette("#2a1a3c", 0.7), BlendMode.MULTIPLY, 170),
        Art("Paper Texture", laid_paper(1), BlendMode.OVERLAY, 120),
    ]


# ---------------------------------------------------------------- poster 2: a swaying flower


def petal(x: np.ndarray, y: np.ndarray, bx: float, by: float, half_width: float, length: float,
          tilt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coverage of one tulip petal growing up from (bx, by), tilted by `tilt` degrees.

    Also returns v (0 at the tip, 1 at the base) and u (-1..1 across) for shading. The
    outline is round at the base and pointed at the tip.
    """
    angle = math.radians(tilt)
    dx, dy = x - bx, y - by
    along = dx * math.sin(angle) - dy * math.cos(angle)  # distance up the petal
    across = dx * math.cos(angle) + dy * math.sin(angle)
    v = 1 - along / length
    t = np.clip(along / length, 0, 1)
    width = half_width * np.clip(np.sin(np.pi * np.clip(t * 0.85 + 0.15, 0, 1)), 0, 1) ** 0.8 * (1 - t**3) ** 0.5
    cap = half_width * 0.5  # the rounded base below the attachment point
    base_width = half_width * math.sin(math.pi * 0.15) ** 0.8
    width = np.where(along < 0, base_width * np.sqrt(np.clip(1 - (along / cap) ** 2, 0, 1)), width)
    inside = np.maximum(np.abs(across) - width, np.maximum(-along - cap, along - length))
    u = across / np.maximum(width, 1)
    return coverage(inside, SUPER), v, np.clip(u, -1, 1)


def tulip(base: tuple[float, float], height: float, bend: float, petals: str, inner: str) -> list[Art]:
    """A tulip: a curved stem, two leaves and a cupped, shaded bloom (three layers)."""
    bx, by = base
    cx, cy = bx + bend, by - height  # where the stem meets the bloom
    stem_region = Region(int(min(bx, cx) - 20), int(cy - 10), int(max(bx, cx) + 20), int(by + 4))
    stem, draw = supersampled(stem_region)
    s = SUPER
    points = [((bx + bend * (i / 40) ** 2 - stem_region.x0) * s, (by - height * i / 40 - stem_region.y0) * s)
              for i in range(41)]
    draw.line(points, fill=hex_rgb("#3f7d4a"), width=int(13 * s), joint="curve")

    leaf_region = Region(int(bx - 230), int(by - height * 0.75), int(bx + 260), int(by))
    leaves, ldraw = supersampled(leaf_region)
    for side, at, length, lift in ((-1, 0.22, 200, 0.55), (1, 0.4, 170, 0.7)):
        ax, ay = bx + bend * at**2, by - height * at
        rib = [(ax + side * length * t, ay - length * lift * t - 40 * t * t, math.sin(math.pi * t**0.8) * 30 * (1 - 0.2 * t))
               for t in (i / 40 for i in range(41))]
        outline = [(px, py - w) for px, py, w in rib] + [(px, py + w) for px, py, w in reversed(rib)]
        ldraw.polygon([((px - leaf_region.x0) * s, (py - leaf_region.y0) * s) for px, py in outline], fill=hex_rgb("#5a9d55"))
        ldraw.line([((px - leaf_region.x0) * s, (py - leaf_region.y0) * s) for px, py, _ in rib[:-6]],
                   fill=hex_rgb("#44834a"), width=int(3 * s))

    # back to front: (base x offset, tilt in degrees, half width, length, colours top/bottom)
    petal_specs = [
        (-14, -24, 50, 150, "#d84f5f", "#8e2a40"),
        (14, 24, 50, 150, "#d84f5f", "#8e2a40"),
        (0, 0, 54, 168, "#e8606a", "#9a2f45"),
        (-16, -9, 60, 150, "#ff8f80", petals),
        (16, 9, 60, 150, "#ffa08e", petals),
    ]
    region = Region(int(cx - 150), int(cy - 200), int(cx + 150), int(cy + 40))
    y, x = grid(SUPER, region)
    rgb = np.zeros(y.shape + (3,), np.float64)
    alpha = np.zeros(y.shape, np.float64)
    for dx, tilt, half_width, length, top, bottom in petal_specs:
        cover, v, u = petal(x, y, cx + dx, cy, half_width, length, tilt)
        shade = ramp(np.clip(v, 0, 1), [(0, top), (0.45, top), (1, bottom)])
        shade = shade * (0.78 + 0.22 * np.sqrt(np.clip(1 - u**2, 0, 1)))[..., None]
        rgb = rgb * (1 - cover[..., None]) + shade * cover[..., None]
        alpha = np.maximum(alpha, cover)
    # a warm glow where the petals open, from the flower's heart
    heart = np.exp(-((x - cx) ** 2 / 900 + (y - (cy - 120)) ** 2 / 2500)) * 0.25
    rgb = rgb * (1 - heart[..., None]) + np.array(hex_rgb(inner), np.float64) * heart[..., None]
    return [
        Art("Stem", place(stem, stem_region)),
        Art("Leaves", place(leaves, leaf_region)),
        Art("Bloom", to_layer(rgb, alpha, region)),
    ]


def butterfly(cx: float, cy: float, size: float, wing: str, edge: str) -> Image.Image:
    """A small butterfly seen from above: four wings with darker tips and a body."""
    parts = [(cx - size * 0.55, cy - size * 0.25, size * 0.55, size * 0.42), (cx + size * 0.55, cy - size * 0.25, size * 0.55, size * 0.42),
             (cx - size * 0.38, cy + size * 0.3, size * 0.36, size * 0.3), (cx + size * 0.38, cy + size * 0.3, size * 0.36, size * 0.3)]
    region = Region.around(parts, pad=8)
    y, x = grid(SUPER, region)
    wings = blob(parts, region)
    tips = np.clip((np.abs(x - cx) / size - 0.55) * 3, 0, 1)
    rgb = ramp(tips, [(0, wing), (1, edge)])
    body = coverage(np.hypot((x - cx) / (size * 0.09), (y - cy) / (size * 0.55)) - 1, SUPER * 4)
    rgb = rgb * (1 - body[..., None]) + np.array(hex_rgb("#4a3326"), np.float64) * body[..., None]
    return to_layer(rgb, np.maximum(wings, body), region)


def flower_poster() -> list[Art | Group]:
    y, x = grid()
    wall = ramp(y / HEIGHT, [(0, "#f7efe1"), (0.7, "#f3e3cc"), (1, "#e8d2b4")])
    arch_region = Region(170, 290, 910, 1280)
    ay, ax = grid(SUPER, arch_region)
    arch_d = np.where(ay < 660, np.hypot(ax - 540, ay - 660) - 370, np.abs(ax - 540) - 370)
    arch_rgb = ramp(np.clip((ay - 290) / 990, 0, 1), [(0, "#f6cfae"), (1, "#eaa784")])
    flower = tulip((540, 1110), 470, 40, "#cf3f58", "#ffd36e")
    pot_region = Region(370, 1080, 712, 1300)
    pot, draw = supersampled(pot_region)

    def at(px: float, py: float) -> tuple[float, float]:
        return ((px - pot_region.x0) * SUPER, (py - pot_region.y0) * SUPER)

    draw.polygon([at(404, 1120), at(676, 1120), at(638, 1290), at(442, 1290)], fill=hex_rgb("#c8643f"))
    draw.polygon([at(560, 1120), at(676, 1120), at(638, 1290), at(590, 1290)], fill=hex_rgb("#b45636"))
    draw.rounded_rectangle((*at(382, 1092), *at(698, 1146)), radius=10 * SUPER, fill=hex_rgb("#d9774f"))
    draw.rectangle((*at(406, 1146), *at(674, 1158)), fill=hex_rgb("#a94f33"))
    pot_layer = place(pot, pot_region)
    table_region = Region(0, 1270, WIDTH, HEIGHT)
    ty, _ = grid(1, table_region)
    table = to_layer(ramp((ty - 1270) / 80, [(0, "#b78a64"), (1, "#8e6547")]), np.ones_like(ty), table_region)
    title = text_layer("SPRING MARKET", 104, "#3d5a45", (WIDTH / 2, 150), tracking=0.05, weight=3)
    return [
        Art("Wall", to_layer(wall, np.ones_like(y))),
        Art("Arch", to_layer(arch_rgb, coverage(arch_d, SUPER), arch_region)),
        Art("Window Light", radial_glow(700, 420, 560, "#fff1cf", power=1.3), BlendMode.SCREEN, 200),
        Art("Table", table),
        Art("Pot Shadow", soft_shadow(pot_layer, "#5b3a2a", 18, (34, 14), 0.9), BlendMode.MULTIPLY, 150),
        Group("Flower", [
            Art("Flower Shadow", soft_shadow(flower[2].image, "#7a4a3a", 20, (40, 30), 0.5), BlendMode.MULTIPLY, 120),
            *flower,
        ]),
        Art("Pot", pot_layer),
        Art("Butterfly", butterfly(815, 500, 46, "#f7c04a", "#e0702b")),
        Group("Title", [
            Art("Title", title),
            Art("Subtitle", text_layer("FLOWERS  ·  SEEDS  ·  SATURDAYS 9-2", 32, "#7b5a43", (WIDTH / 2, 232), 0.14, 1)),
        ]),
        Art("Badge", badge((190, 1180), 95, "#3d5a45", "#f7efe1", [("NEW", 34), ("SEASON", 24)], "#f7efe1", 10)),
        Art("Paper Texture", laid_paper(2), BlendMode.OVERLAY, 130),
    ]


# ---------------------------------------------------------------- poster 3: under the sea


def fish(cx: float, cy: float, length: float, body: str, fin: str, facing: int = 1) -> Image.Image:
    """A striped reef fish with a fan tail, facing right (1) or left (-1)."""
    region = Region(int(cx - length * 0.8), int(cy - length * 0.4), int(cx + length * 0.6), int(cy + length * 0.4))
    if facing < 0:
        region = Region(int(cx - length * 0.6), region.y0, int(cx + length * 0.8), region.y1)
    y, x = grid(SUPER, region)
    u = (x - cx) * facing
    half_h = length * 0.28
    inside = coverage((np.hypot(u / (length * 0.5), (y - cy) / half_h) - 1) * half_h, SUPER)
    behind = -(u + length * 0.42)  # distance behind the body, along the fish
    fan = np.maximum(np.abs(y - cy) - (behind * 0.9 + 4), np.maximum(-behind, behind - length * 0.3))
    tail = coverage(fan, SUPER)
    fin_top = coverage(np.maximum(np.abs(u + length * 0.05) - length * 0.16 * (1 - np.clip((cy - half_h * 0.6 - y) / (half_h * 0.55), 0, 1)),
                                  np.maximum(y - (cy - half_h * 0.6), (cy - half_h * 1.15) - y)), SUPER)
    t = np.clip((y - (cy - half_h)) / (2 * half_h), 0, 1)
    rgb = ramp(t, [(0, fin), (0.35, body), (1, "#fff1dc")])
    bands = (np.abs(((u / length) * 3.2 + 0.3) % 1 - 0.5) < 0.09) & (u > -length * 0.35) & (u < length * 0.3)
    rgb = np.where(bands[..., None], np.array(hex_rgb("#fff8ee"), np.float64), rgb)
    rgb = np.where(inside[..., None] > 0, rgb, np.array(hex_rgb(fin), np.float64))
    eye = coverage(np.hypot(u - length * 0.3, y - (cy - half_h * 0.15)) - length * 0.045, SUPER)
    rgb = rgb * (1 - eye[..., None]) + 25 * eye[..., None]
    return to_layer(rgb, np.maximum(np.maximum(inside, tail), fin_top), region)


def seaweed(base_x: float, height: float, phase: float, color: str) -> Image.Image:
    """A kelp strand: a wavy ribbon that tapers towards its tip."""
    region = Region(int(base_x - 80), int(HEIGHT - height - 10), int(base_x + 80), HEIGHT)
    y, x = grid(SUPER, region)
    t = np.clip((HEIGHT - y) / height, 0, 1)
    center = base_x + 40 * np.sin(t * 4.5 + phase) * t
    width = 26 * (1 - t**1.5) + 3
    alpha = coverage(np.abs(x - center) - width, SUPER) * coverage(HEIGHT - height - y, SUPER)
    shade = 0.8 + 0.2 * np.sin(t * 30 + phase)
    return to_layer(ramp(t, [(0, "#124238"), (1, color)]) * shade[..., None], alpha, region)


def ocean_poster() -> list[Art | Group]:
    y, x = grid()
    water = ramp(y / HEIGHT, [(0, "#3fc2c9"), (0.35, "#1b7f9e"), (0.75, "#0d3f6b"), (1, "#092646")])
    rays = np.zeros_like(y)
    for offset, width in ((180, 60), (420, 90), (700, 70), (930, 50)):
        rays += np.exp(-((x - offset - (y * 0.35)) / width) ** 2) * np.clip(1 - y / 1100, 0, 1)
    sand_region = Region(0, 1180, WIDTH, HEIGHT)
    sy, sx = grid(SUPER, sand_region)
    sand_line = 1215 + 22 * np.sin(sx / 140) + 10 * np.sin(sx / 53)
    sand = to_layer(ramp(np.clip((sy - 1180) / 170, 0, 1), [(0, "#e8c98f"), (1, "#b58d5a")]),
                    coverage(sand_line - sy, SUPER), sand_region)
    bubble_parts = [(790, 420, 16, 16), (815, 350, 10, 10), (800, 290, 7, 7), (260, 520, 12, 12), (250, 455, 8, 8),
                    (640, 330, 9, 9)]
    bubble_region = Region.around(bubble_parts)
    ring = blob(bubble_parts, bubble_region) - 0.75 * blob(
        [(cx - r * 0.1, cy - r * 0.1, r * 0.72, r * 0.72) for cx, cy, r, _ in bubble_parts], bubble_region)
    title = text_layer("DIVE IN", 150, "#eafcff", (WIDTH / 2, 170), tracking=0.1, weight=3)
    clown = fish(560, 720, 300, "#f47c2c", "#d4541a", facing=1)
    return [
        Art("Water", to_layer(water, np.ones_like(y))),
        Art("Light Rays", tinted(soft(np.clip(rays, 0, 1) * 0.55, step=4), "#bff6ff"), BlendMode.SCREEN, 200),
        Art("Sand", sand),
        Art("Fish Shadow", soft_shadow(shape_layer([(560, 1262, 140, 14)], "#000000"), "#3b2a1c", 10, (0, 0), 1.0),
            BlendMode.MULTIPLY, 110),
        Group("Seaweed", [
            Art("Seaweed Back", seaweed(140, 430, 0.0, "#2f8f6b"), opacity=200),
            Art("Seaweed Left", seaweed(250, 600, 1.3, "#49a86f")),
            Art("Seaweed Right", seaweed(900, 500, 2.2, "#3f9a66")),
            Art("Seaweed Far Right", seaweed(990, 340, 4.0, "#2f8f6b"), opacity=190),
        ]),
        Art("Fish", clown),
        Art("Small Fish", fish(330, 990, 120, "#ffd25e", "#e0a12a", facing=-1)),
        Art("Bubbles", tinted(np.clip(ring, 0, 1) * 0.9, "#ebfbff", bubble_region), opacity=220),
        Group("Title", [
            Art("Title", title),
            Art("Subtitle", text_layer("CITY AQUARIUM  ·  OPEN LATE FRIDAYS", 32, "#c9f3f7", (WIDTH / 2, 262), 0.14, 1)),
        ]),
        Art("Badge", badge((880, 1170), 100, "#ff8a4c", "#fff1e0", [("KIDS", 34), ("GO FREE", 24)], "#0d3f6b", -8)),
        Art("Surface Glow", radial_glow(540, -120, 700, "#c8ffff", power=1.5), BlendMode.SCREEN, 140),
        Art("Paper Texture", laid_paper(3), BlendMode.OVERLAY, 120),
    ]


POSTERS: dict[str, Callable[[], list[Art | Group]]] = {
    "balloon": balloon_poster,
    "flower": flower_poster,
    "ocean": ocean_poster,
}


# ---------------------------------------------------------------- writing PSDs


def _add(parent, item: Art | Group) -> None:
    if isinstance(item, Group):
        group = parent.create_group(name=item.name, opacity=item.opacity)
        for child in item.children:
            _add(group, child)
        return
    bounds = item.image.getchannel("A").getbbox()
    if bounds is None:
        raise ValueError(f"layer {item.name} is empty")
    cropped = item.image.crop(bounds)
    parent.create_pixel_layer(
        cropped, name=item.name, left=bounds[0], top=bounds[1], compression=Compression.RLE,
        opacity=item.opacity, blend_mode=item.blend,
    )


def build_psd(items: Sequence[Art | Group]) -> PSDImage:
    psd = PSDImage.new("RGBA", (WIDTH, HEIGHT), color=(255, 255, 255, 0), compression=Compression.RLE)
    for item in items:
        _add(psd, item)
    return psd


def write_samples(folder: Path = SAMPLES_DIR, names: Sequence[str] | None = None, preview: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or POSTERS:
        psd = build_psd(POSTERS[name]())
        path = folder / f"{name}.psd"
        psd.save(path)
        written.append(path)
        if preview:
            PSDImage.open(path).composite().save(folder / f"{name}.preview.png")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR)
    parser.add_argument("--preview", action="store_true", help="also write a PNG composite of each poster")
    parser.add_argument("names", nargs="*", choices=[*POSTERS, []], help="which posters (default: all)")
    args = parser.parse_args()
    for path in write_samples(args.out, args.names or None, args.preview):
        print(path)


if __name__ == "__main__":
    main()
