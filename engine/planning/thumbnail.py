"""A small picture of the poster for the LLM, with the layers to plan boxed and numbered.

The model reasons better about "fly toward the sun" when it sees the poster. Every layer
is shrunk first and the team's compositor (blend modes, opacity, visibility) renders the
small poster, so a 4000×5000 poster costs about as little as a 1000-pixel one; rendering
at full size and shrinking afterwards would take seconds for nothing the model can see.
"""

from __future__ import annotations

import base64
import io
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from engine.render.compositor import render_static
from engine.core.poster import Box, Layer, Poster

THUMBNAIL_SIDE = 512
BOX_COLOURS = ((255, 40, 90), (0, 170, 255), (40, 200, 80), (255, 170, 0), (170, 80, 255), (0, 200, 190))


def thumbnail_scale(poster: Poster, side: int = THUMBNAIL_SIDE) -> float:
    """Thumbnail pixels per poster pixel (never enlarges a small poster)."""
    return min(1.0, side / max(poster.width, poster.height))


def poster_thumbnail(poster: Poster, side: int = THUMBNAIL_SIDE) -> Image.Image:
    """The poster rendered over white at most `side` pixels on the long edge."""
    scale = thumbnail_scale(poster, side)
    small = Poster(
        width=max(1, round(poster.width * scale)),
        height=max(1, round(poster.height * scale)),
        layers=[_shrunk(layer, scale) for layer in poster.layers if not layer.box.is_empty],
        name=poster.name,
    )
    rendered = Image.fromarray(render_static(small), "RGBA")
    return Image.alpha_composite(Image.new("RGBA", rendered.size, (255, 255, 255, 255)), rendered)


def _shrunk(layer: Layer, scale: float) -> Layer:
    """The layer at thumbnail scale, keeping its opacity, blend mode and visibility."""
    box = Box(
        round(layer.box.x * scale),
        round(layer.box.y * scale),
        max(1, round(layer.box.w * scale)),
        max(1, round(layer.box.h * scale)),
    )
    image = Image.fromarray(layer.pixels, "RGBA").resize((box.w, box.h), Image.Resampling.BILINEAR)
    return layer.with_pixels(np.asarray(image), box)


def annotated_thumbnail(base: Image.Image, poster: Poster, layer_ids: Sequence[int]) -> Image.Image:
    """The thumbnail with each planned layer's static box outlined and labelled by its id."""
    scale = base.width / poster.width
    picture = base.copy()
    draw = ImageDraw.Draw(picture)
    for index, layer_id in enumerate(layer_ids):
        box = poster.layer(layer_id).box
        colour = BOX_COLOURS[index % len(BOX_COLOURS)]
        x0, y0 = box.x * scale, box.y * scale
        x1, y1 = max(x0 + 1, box.right * scale - 1), max(y0 + 1, box.bottom * scale - 1)
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=2)
        label, at = str(layer_id), (max(0, x0) + 3, max(0, y0) + 2)  # keep the label on the picture
        left, top, right, bottom = draw.textbbox(at, label)
        draw.rectangle((left - 2, top - 1, right + 2, bottom + 1), fill=colour)
        draw.text(at, label, fill=(255, 255, 255))
    return picture


def png_data_url(image: Image.Image) -> str:
    """The image as a data: URL the chat API accepts in an image_url part."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
