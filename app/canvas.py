"""The canvas: poster pixels <-> what the box-drawing widget shows and sends back.

gradio_image_annotation speaks boxes as {xmin, ymin, xmax, ymax, label, color} in the
pixels of the image it was given. The editor shows a downscaled poster for big PSDs, so
every conversion goes through `CanvasView.scale`; labels carry the layer id ("#3 Title")
because layer names may repeat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
from PIL import Image, ImageDraw

from engine.core.poster import Box, Layer, Poster
# The engine's one box rule, also reached as cv.fit_motion_box by the handlers.
from engine.planning.geometry import fit_motion_box, fit_problem  # noqa: F401

# The canvas picture's longer side: the whole poster fits on a laptop screen beside the
# panels; exact pixels are typed in the box fields when the mouse is not precise enough.
MAX_CANVAS_SIDE = 720
THUMB_SIDE = 72
_LABEL_ID = re.compile(r"^#(-?\d+)\b")

# Distinct, readable on light and dark posters (Tableau 10).
PALETTE: tuple[tuple[int, int, int], ...] = (
    (78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79),
    (237, 201, 72), (176, 122, 161), (255, 157, 167), (156, 117, 95), (186, 176, 172),
)


def layer_color(layer_id: int) -> tuple[int, int, int]:
    return PALETTE[int(layer_id) % len(PALETTE)]


def box_label(layer: Layer) -> str:
    return f"#{layer.id} {layer.name}"


def label_layer_id(label: str | None) -> int | None:
    """The layer id a box label names, or None for a box the designer just drew."""
    match = _LABEL_ID.match((label or "").strip())
    return int(match.group(1)) if match else None


def checkerboard(height: int, width: int, cell: int = 8) -> np.ndarray:
    """The grey checkerboard design tools draw behind transparent pixels, RGB uint8."""
    ys = (np.arange(height) // cell)[:, None]
    xs = (np.arange(width) // cell)[None, :]
    light = ((ys + xs) % 2 == 0)
    board = np.where(light, 236, 200).astype(np.uint8)
    return np.repeat(board[:, :, None], 3, axis=2)


def over_checkerboard(rgba: np.ndarray, cell: int = 8) -> np.ndarray:
    """Straight-alpha RGBA (..., H, W, 4) composited over a checkerboard, RGB uint8.

    Integer maths (exact to rounding) because layer previews run this on every frame.
    """
    height, width = rgba.shape[-3], rgba.shape[-2]
    board = checkerboard(height, width, cell).astype(np.uint16)
    alpha = rgba[..., 3:4].astype(np.uint16)
    mixed = rgba[..., :3].astype(np.uint16) * alpha + board * (255 - alpha) + 127
    return (mixed // 255).astype(np.uint8)


@dataclass(frozen=True)
class CanvasView:
    """How the poster is shown in the widget: a uniform downscale for big posters."""

    width: int
    height: int
    scale: float

    @classmethod
    def for_poster(cls, poster: Poster, max_side: int = MAX_CANVAS_SIDE) -> "CanvasView":
        scale = min(1.0, max_side / max(poster.width, poster.height))
        return cls(max(1, round(poster.width * scale)), max(1, round(poster.height * scale)), scale)

    def to_widget(self, box: Box) -> dict[str, int]:
        s = self.scale
        return {
            "xmin": int(round(box.x * s)),
            "ymin": int(round(box.y * s)),
            "xmax": int(round(box.right * s)),
            "ymax": int(round(box.bottom * s)),
        }

    def to_poster(self, widget_box: Mapping[str, Any]) -> Box:
        s = self.scale
        x0, x1 = sorted((float(widget_box["xmin"]), float(widget_box["xmax"])))
        y0, y1 = sorted((float(widget_box["ymin"]), float(widget_box["ymax"])))
        left, top = int(np.floor(x0 / s)), int(np.floor(y0 / s))
        right, bottom = int(np.ceil(x1 / s)), int(np.ceil(y1 / s))
        return Box(left, top, max(0, right - left), max(0, bottom - top))


def overview_image(static_rgba: np.ndarray, poster: Poster, view: CanvasView,
                   selection: Iterable[int] = ()) -> np.ndarray:
    """The poster over a checkerboard with every visible layer's box outlined.

    Selected layers get a thick outline in their colour; the rest a thin grey one, so the
    designer sees where each layer is without the outlines hiding the artwork.
    """
    image = Image.fromarray(over_checkerboard(static_rgba), "RGB")
    if view.scale != 1.0:
        image = image.resize((view.width, view.height), Image.Resampling.LANCZOS)
    selected = set(int(i) for i in selection)
    draw = ImageDraw.Draw(image, "RGBA")
    s = view.scale
    for layer in poster.layers:
        if not layer.visible or layer.box.is_empty:
            continue
        rect = [layer.box.x * s, layer.box.y * s, layer.box.right * s - 1, layer.box.bottom * s - 1]
        if layer.id in selected:
            draw.rectangle(rect, outline=layer_color(layer.id) + (255,), width=3)
        else:
            draw.rectangle(rect, outline=(40, 40, 40, 110), width=1)
    return np.asarray(image)


def annotation_value(image: str | np.ndarray, poster: Poster, view: CanvasView,
                     boxes: Mapping[int, Box]) -> dict[str, Any]:
    """The widget value: the canvas image plus one labelled, coloured box per layer."""
    widget_boxes = []
    for layer_id, box in boxes.items():
        layer = poster.layer(int(layer_id))
        widget_boxes.append({**view.to_widget(box), "label": box_label(layer), "color": layer_color(layer.id)})
    return {"image": image, "boxes": widget_boxes}


@dataclass
class CanvasEdit:
    """What the designer did on the canvas, in poster pixels, already made legal."""

    boxes: dict[int, Box]
    removed: list[int]
    notes: list[str]


def read_annotation(value: Mapping[str, Any] | None, poster: Poster, view: CanvasView,
                    shown: Iterable[int], target: int | None,
                    current: Mapping[int, Box] | None = None) -> CanvasEdit:
    """Turn the widget's boxes back into motion boxes per layer.

    A box without a layer label is one the designer just drew: it belongs to `target`
    (the layer being edited) or, with nothing selected, to the topmost layer under its
    centre. Boxes are fitted with `fit_motion_box` and each correction is explained.
    A box the widget sends back unmoved keeps its exact poster value from `current`
    (the downscaled canvas cannot represent every poster pixel; a round trip must not drift).
    """
    current = current or {}
    shown_ids = [int(i) for i in shown]
    result: dict[int, Box] = {}
    notes: list[str] = []
    drawn: list[Box] = []
    for widget_box in (value or {}).get("boxes") or []:
        layer_id = label_layer_id(widget_box.get("label"))
        box = view.to_poster(widget_box)
        if layer_id is None or layer_id not in {layer.id for layer in poster.layers}:
            drawn.append(box)
        elif layer_id in current and _same_place(view.to_widget(current[layer_id]), widget_box):
            result[layer_id] = current[layer_id]
        else:
            result[layer_id] = box
    for box in drawn:
        owner = target if target is not None else layer_at(poster, box.x + box.w // 2, box.y + box.h // 2)
        if owner is None:
            notes.append("That box is not over any layer: select a layer first, then draw its motion box.")
            continue
        result[owner] = box  # a freshly drawn box replaces the layer's previous one
    for layer_id, box in list(result.items()):
        layer = poster.layer(layer_id)
        fitted = fit_motion_box(box, layer.box, poster.canvas)
        if fitted != box:
            notes.append(_fit_note(layer, box, fitted, poster))
        result[layer_id] = fitted
    removed = [layer_id for layer_id in shown_ids if layer_id not in result]
    return CanvasEdit(boxes=result, removed=removed, notes=notes)


def _same_place(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(abs(float(a[k]) - float(b[k])) < 0.5 for k in ("xmin", "ymin", "xmax", "ymax"))


def drawing_in_progress(value: Mapping[str, Any] | None, min_side: float = 2) -> bool:
    """True while a new box is still being dragged out (it arrives with no size yet)."""
    for widget_box in (value or {}).get("boxes") or []:
        if label_layer_id(widget_box.get("label")) is None:
            if abs(widget_box["xmax"] - widget_box["xmin"]) < min_side or abs(widget_box["ymax"] - widget_box["ymin"]) < min_side:
                return True
    return False


def _fit_note(layer: Layer, asked: Box, fitted: Box, poster: Poster) -> str:
    if fit_problem(asked, layer.box, poster.canvas) == "leaves the canvas":
        return f"The motion box of '{layer.name}' went off the canvas; it now stops at the edge."
    return f"The motion box of '{layer.name}' must contain the whole layer; it was enlarged to fit."


def layer_at(poster: Poster, x: int, y: int) -> int | None:
    """The layer a click at (x, y) means, for click-to-select.

    The topmost visible layer with a visible pixel there, except that full-canvas
    overlays (paper texture, vignette, light) are passed over when something smaller is
    under the cursor: nobody clicks on the balloon meaning the paper grain.
    """
    hits = []
    for layer in reversed(poster.layers):
        box = layer.box
        if layer.visible and box.x <= x < box.right and box.y <= y < box.bottom:
            if layer.pixels[y - box.y, x - box.x, 3] > 8:
                hits.append(layer)
    covers_canvas = lambda layer: layer.box.intersection(poster.canvas).area >= 0.9 * poster.canvas.area  # noqa: E731
    preferred = [layer for layer in hits if not covers_canvas(layer)]
    chosen = (preferred or hits)[:1]
    return chosen[0].id if chosen else None


def thumbnail(layer: Layer, side: int = THUMB_SIDE) -> np.ndarray:
    """A square thumbnail of the layer over a checkerboard, for the layers panel."""
    pixels = layer.pixels
    if pixels.size == 0:
        return checkerboard(side, side, 6)
    image = Image.fromarray(pixels, "RGBA")
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    tile = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    tile.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return over_checkerboard(np.asarray(tile), cell=6)
