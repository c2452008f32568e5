"""The canvas: poster pixels <-> what the box-drawing widget shows and sends back.

gradio_image_annotation speaks boxes as {xmin, ymin, xmax, ymax, label, color} in the
pixels of the image it was given. The editor shows a downscaled poster for big PSDs, so
every conversion goes through `CanvasView.scale`.

The widget draws a box's label as a white tag just above the box, on whatever art is
there (the title, usually). So the editor's boxes carry no label text: a box's colour
carries its layer id (`box_color`), and the names ("#3 Title") are drawn into the canvas
picture itself, beside the box where the poster has no art (`place_label`). Only the
selected layers are drawn: their layer extent, name, and the motion path of an animated
one (`trail_points`). Boxes labelled "#3 …" (API clients, older pages) are still read.
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.core.clip import LayerClip
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


# A box's colour is its layer's palette colour with the low ID_BITS of each channel
# replaced by the layer id (a change of at most 7/255 per channel: invisible).
ID_BITS = 3
ID_SPAN = 1 << (3 * ID_BITS)
_ID_MASK = (1 << ID_BITS) - 1


def box_color(layer_id: int) -> tuple[int, int, int]:
    """The colour the canvas widget draws layer `layer_id`'s motion box in; it names the layer."""
    code = int(layer_id) % ID_SPAN
    base = layer_color(layer_id)
    return tuple((channel & ~_ID_MASK) | ((code >> (ID_BITS * k)) & _ID_MASK)
                 for k, channel in enumerate(base))  # type: ignore[return-value]


def color_layer_id(color: Any, poster: Poster, shown: Iterable[int] = ()) -> int | None:
    """The layer whose `box_color` `color` is, or None (a box the designer just drew gets
    one of the widget's own colours, which are never a box colour: see the tests).

    Ids that share a code (they differ by a multiple of ID_SPAN) resolve to a shown layer.
    """
    try:
        rgb = tuple(int(v) for v in color)[:3]
    except (TypeError, ValueError):
        return None
    owners = [layer.id for layer in poster.layers if box_color(layer.id) == rgb]
    shown_ids = {int(i) for i in shown}
    preferred = [i for i in owners if i in shown_ids]
    return (preferred or owners or [None])[0]


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


#: The last few canvas backdrops (poster over the checkerboard at widget size), by poster picture.
_BACKDROPS: list[tuple[weakref.ref, CanvasView, Image.Image]] = []
_KEPT_BACKDROPS = 4
_backdrops_lock = threading.Lock()


def _backdrop(static_rgba: np.ndarray, view: CanvasView) -> Image.Image:
    """The poster over the checkerboard at the widget's size, made once per poster picture:
    every click and every Animate redraws the canvas marks over the same backdrop, and
    making it (a checkerboard blend and a Lanczos shrink of the full poster) was most of
    a redraw. Callers copy it before drawing."""
    with _backdrops_lock:
        for ref, at, image in _BACKDROPS:
            if ref() is static_rgba and at == view:
                return image
    image = Image.fromarray(over_checkerboard(static_rgba), "RGB")
    if view.scale != 1.0:
        image = image.resize((view.width, view.height), Image.Resampling.LANCZOS)
    with _backdrops_lock:
        _BACKDROPS[:] = [entry for entry in _BACKDROPS[-(_KEPT_BACKDROPS - 1):] if entry[0]() is not None]
        _BACKDROPS.append((weakref.ref(static_rgba), view, image))
    return image


def overview_image(static_rgba: np.ndarray, poster: Poster, view: CanvasView,
                   selection: Iterable[int] = (), boxes: Mapping[int, Box] | None = None,
                   trails: Mapping[int, Sequence[tuple[float, float]]] | None = None) -> np.ndarray:
    """The poster over a checkerboard with the selected layers marked, nothing else.

    For each selected layer: a thin outline of the layer itself (the widget draws its
    motion box), its motion path as a faint trail when `trails` has one, and its name
    beside its motion box (`boxes`, default the layer's box) where the poster has no art.
    Unselected layers get no mark: outlines of every layer hid the artwork.
    """
    image = _backdrop(static_rgba, view).copy()
    selected = [poster.layer(int(i)) for i in dict.fromkeys(int(i) for i in selection)]
    boxes = boxes or {}
    trails = trails or {}
    draw = ImageDraw.Draw(image, "RGBA")
    s = view.scale
    for layer in selected:
        if layer.visible and not layer.box.is_empty:
            rect = [layer.box.x * s, layer.box.y * s, layer.box.right * s - 1, layer.box.bottom * s - 1]
            draw.rectangle(rect, outline=layer_color(layer.id) + (170,), width=1)
        _draw_trail(draw, [(x * s, y * s) for x, y in trails.get(layer.id, ())], layer_color(layer.id))
    if selected:
        art = art_mask(poster, view)
        font = _label_font()
        taken: list[tuple[int, int, int, int]] = []
        for layer in selected:
            around = view.to_widget(boxes.get(layer.id, layer.box))
            text = box_label(layer)
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
            size = (right - left + 2 * LABEL_PAD + 3, bottom - top + 2 * LABEL_PAD)
            x, y = place_label(around, size, art, taken)
            taken.append((x, y, x + size[0], y + size[1]))
            draw.rectangle([x, y, x + size[0] - 1, y + size[1] - 1], fill=(255, 255, 255, 225),
                           outline=(60, 60, 60, 120))
            draw.rectangle([x, y, x + 2, y + size[1] - 1], fill=layer_color(layer.id) + (255,))
            draw.text((x + 3 + LABEL_PAD - left, y + LABEL_PAD - top), text, fill=(25, 25, 25, 255), font=font)
    return np.asarray(image)


LABEL_FONT_PX = 12
LABEL_PAD = 3
LABEL_GAP = 2  # between a label and its box
INSIDE_PENALTY = 0.3  # a label inside its box hides part of the box's content: outside is preferred


def _label_font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=LABEL_FONT_PX)


def place_label(box: Mapping[str, int], size: tuple[int, int], art: np.ndarray,
                taken: Sequence[tuple[int, int, int, int]] = ()) -> tuple[int, int]:
    """Where a label of `size` (w, h) goes for a box (widget pixels): its top-left corner.

    Above or below the box, left- or right-aligned with it, inside the picture; of those,
    the spot covering the least art (`art`: True where a layer other than a full-canvas
    backdrop has pixels) and no other label (`taken`). Just inside the box's top or bottom
    edge is the fallback: for a box as tall as the picture, or one hemmed in by art.
    """
    height, width = art.shape
    w, h = size
    lefts = [box["xmin"], box["xmax"] - w]
    outside = [(x, y) for y in (box["ymin"] - h - LABEL_GAP, box["ymax"] + LABEL_GAP) for x in lefts]
    inside = [(x, y) for y in (box["ymin"] + LABEL_GAP, box["ymax"] - h - LABEL_GAP) for x in lefts]
    fits = lambda spots: [(min(max(0, x), max(0, width - w)), y) for x, y in spots  # noqa: E731
                          if 0 <= y and y + h <= height]
    spots = [(spot, 0.0) for spot in fits(outside)] + [(spot, INSIDE_PENALTY) for spot in fits(inside)]
    if not spots:
        spots = [((min(max(0, box["xmin"]), max(0, width - w)), 0), 0.0)]

    def cost(choice: tuple[tuple[int, int], float]) -> float:
        (x, y), penalty = choice
        covered = float(art[y:y + h, x:x + w].mean()) if w > 0 and h > 0 else 0.0
        overlap = sum(max(0, min(x + w, r) - max(x, l)) * max(0, min(y + h, b) - max(y, t))
                      for l, t, r, b in taken) / max(1, w * h)
        return covered + 2.0 * overlap + penalty

    return min(spots, key=cost)[0]


# Posters compare by value (unhashable): the cache is keyed by identity, a weak reference
# telling a live poster from a new one that got a dead one's id.
_ART_MASKS: dict[int, tuple[weakref.ref, CanvasView, np.ndarray]] = {}


def art_mask(poster: Poster, view: CanvasView) -> np.ndarray:
    """(view.height, view.width) bool: where a visible layer that is not a full-canvas
    backdrop (paper, sky, vignette: the `layer_at` rule) has pixels. Cached per poster."""
    cached = _ART_MASKS.get(id(poster))
    if cached is not None and cached[0]() is poster and cached[1] == view:
        return cached[2]
    mask = np.zeros((view.height, view.width), dtype=bool)
    s = view.scale
    for layer in poster.layers:
        if not layer.visible or layer.box.is_empty or _covers_canvas(poster, layer):
            continue
        alpha = Image.fromarray(layer.pixels[..., 3])
        x0, y0 = int(np.floor(layer.box.x * s)), int(np.floor(layer.box.y * s))
        w = max(1, int(np.ceil(layer.box.right * s)) - x0)
        h = max(1, int(np.ceil(layer.box.bottom * s)) - y0)
        shrunk = np.asarray(alpha.resize((w, h), Image.Resampling.BOX)) > 8
        ys, xs = slice(max(0, y0), min(view.height, y0 + h)), slice(max(0, x0), min(view.width, x0 + w))
        mask[ys, xs] |= shrunk[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    for key in [key for key, (ref, _, _) in _ART_MASKS.items() if ref() is None]:
        del _ART_MASKS[key]
    _ART_MASKS[id(poster)] = (weakref.ref(poster), view, mask)
    return mask


def _covers_canvas(poster: Poster, layer: Layer) -> bool:
    return layer.box.intersection(poster.canvas).area >= 0.9 * poster.canvas.area


TRAIL_SAMPLES = 16  # points on a path: enough for a smooth curve, few frames to read
TRAIL_GRID = 256  # the longest side, in samples, a frame's alpha is read at
_TRAILS: "weakref.WeakKeyDictionary[LayerClip, list[tuple[float, float]]]" = weakref.WeakKeyDictionary()


def trail_points(clip: LayerClip, samples: int = TRAIL_SAMPLES) -> list[tuple[float, float]]:
    """The motion path of an animated layer: its alpha centroid (poster pixels) in up to
    `samples` evenly spaced frames of its clip. Empty when it does not travel (a spin, a
    fade, a pulse keeps its centroid). Frames where the layer is hidden are skipped.

    Read from the clip rather than from the preset's parameters, so it is the path of what
    plays, whichever engine made it. Cached per clip.
    """
    if clip in _TRAILS:
        return _TRAILS[clip]
    count = clip.frame_count
    # Every step-th pixel: a centroid within a few poster pixels is exact on the canvas.
    step = max(1, -(-max(clip.box.w, clip.box.h) // TRAIL_GRID))
    points: list[tuple[float, float]] = []
    for index in sorted(set(np.linspace(0, count - 1, min(count, samples)).round().astype(int).tolist())):
        alpha = clip.source.frame(index)[::step, ::step, 3].astype(np.float32)
        total = float(alpha.sum())
        if total <= 0:
            continue
        ys = np.arange(alpha.shape[0], dtype=np.float32) * step
        xs = np.arange(alpha.shape[1], dtype=np.float32) * step
        points.append((clip.box.x + float(alpha.sum(axis=0) @ xs) / total + 0.5,
                       clip.box.y + float(alpha.sum(axis=1) @ ys) / total + 0.5))
    if points and max(np.hypot(x - points[0][0], y - points[0][1]) for x, y in points) < 1.0:
        points = []
    _TRAILS[clip] = points
    return points


def _draw_trail(draw: ImageDraw.ImageDraw, points: Sequence[tuple[float, float]],
                color: tuple[int, int, int]) -> None:
    """A faint line through the path with a dot per sample and a ring where it starts."""
    if len(points) < 2:
        return
    draw.line(list(points), fill=color + (140,), width=2, joint="curve")
    for x, y in points:
        draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=color + (170,))
    x, y = points[0]
    draw.ellipse([x - 4, y - 4, x + 4, y + 4], outline=color + (220,), width=2)


def annotation_value(image: str | np.ndarray, poster: Poster, view: CanvasView,
                     boxes: Mapping[int, Box]) -> dict[str, Any]:
    """The widget value: the canvas image plus one box per layer, its colour naming it
    (no label text: the widget would draw it on the art; the picture has the names)."""
    widget_boxes = []
    for layer_id, box in boxes.items():
        layer = poster.layer(int(layer_id))
        widget_boxes.append({**view.to_widget(box), "label": "", "color": box_color(layer.id)})
    return {"image": image, "boxes": widget_boxes}


def widget_layer_id(widget_box: Mapping[str, Any], poster: Poster, shown: Iterable[int] = ()) -> int | None:
    """The layer a box the widget sent back belongs to (by label, else by colour), or None
    for a box the designer just drew."""
    labelled = label_layer_id(widget_box.get("label"))
    if labelled is not None:
        return labelled
    return color_layer_id(widget_box.get("color"), poster, shown)


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

    A box that names no layer (`widget_layer_id`) is one the designer just drew: it belongs to `target`
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
        layer_id = widget_layer_id(widget_box, poster, shown_ids)
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


def drawing_in_progress(value: Mapping[str, Any] | None, poster: Poster | None = None,
                        min_side: float = 2) -> bool:
    """True while a new box is still being dragged out (it arrives with no size yet).

    Without `poster` only labelled boxes count as a layer's."""
    for widget_box in (value or {}).get("boxes") or []:
        owner = label_layer_id(widget_box.get("label")) if poster is None else widget_layer_id(widget_box, poster)
        if owner is None:
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
    preferred = [layer for layer in hits if not _covers_canvas(poster, layer)]
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
