"""A small picture of the poster for the LLM, with the layers to plan boxed and numbered.

The model reasons better about "fly toward the sun" when it sees the poster. The picture
is a preview, not a render: layers are alpha-composited with their opacity in paint
order at thumbnail size (blend modes are ignored), which costs milliseconds even for a
large poster because every layer is shrunk before it is composited.
"""

from __future__ import annotations

import base64
import io
from typing import Sequence

from PIL import Image, ImageDraw

from engine.poster import Layer, Poster

THUMBNAIL_SIDE = 512
BOX_COLOURS = ((255, 40, 90), (0, 170, 255), (40, 200, 80), (255, 170, 0), (170, 80, 255), (0, 200, 190))


def thumbnail_scale(poster: Poster, side: int = THUMBNAIL_SIDE) -> float:
    """Thumbnail pixels per poster pixel (never enlarges a small poster)."""
    return min(1.0, side / max(poster.width, poster.height))


def poster_thumbnail(poster: Poster, side: int = THUMBNAIL_SIDE) -> Image.Image:
    """The visible layers composited over white at most `side` pixels on the long edge."""
    scale = thumbnail_scale(poster, side)
    size = (max(1, round(poster.width * scale)), max(1, round(poster.height * scale)))
    canvas = Image.new("RGBA", size, (255, 255, 255, 255))
    for layer in poster.layers:
        if not layer.visible or layer.opacity <= 0 or layer.box.is_empty:
            continue
        image, (x, y) = _shrunk_layer(layer, scale)
        # alpha_composite wants a non-negative destination: crop what hangs off the top/left.
        visible = image.crop((max(0, -x), max(0, -y), image.width, image.height))
        if visible.width and visible.height and x < size[0] and y < size[1]:
            canvas.alpha_composite(visible, dest=(max(0, x), max(0, y)))
    return canvas


def _shrunk_layer(layer: Layer, scale: float) -> tuple[Image.Image, tuple[int, int]]:
    """The layer at thumbnail scale, with its opacity folded in, and where it goes."""
    image = Image.fromarray(layer.pixels, "RGBA")
    width, height = max(1, round(layer.box.w * scale)), max(1, round(layer.box.h * scale))
    image = image.resize((width, height), Image.Resampling.BILINEAR)
    if layer.opacity < 1:
        image.putalpha(image.getchannel("A").point(lambda a: round(a * layer.opacity)))
    return image, (round(layer.box.x * scale), round(layer.box.y * scale))


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
