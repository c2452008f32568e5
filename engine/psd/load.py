"""PSD/PSB -> Poster: psd-tools reads and rasterises, we decide what stays a separate layer.

Every leaf layer is rasterised by psd-tools' own compositor (masks, vector masks, fills,
shapes, the effects it draws, clipping) with its opacity lifted out, so our compositor can
put it back and the static render matches psd-tools' composite of the whole file. A layer
(or baked group) with a layer style is rasterised with its effects switched off and keeps
them as a LayerStyle (engine.psd.effects), which the compositor draws from its pixels, and
from every frame once it is animated; only a clipping base whose effects psd-tools draws
itself keeps psd-tools' rendering, where the overlays sit under the clipped layers. What
cannot stay a separate layer without changing the picture is baked:

* a clipping stack becomes one layer (the base with its clipped layers applied),
* a group that isolates its contents (a blend mode other than pass-through/normal, a mask,
  effects, knockout, group opacity over several layers, non-normal layers inside an
  isolated group) becomes one layer,
* an adjustment layer that is not clipped changes everything below it, so it and all
  visible layers below it become one layer.

The file is untrusted: the header is checked before decoding, psd-tools' allocation and
parse limits are set, decoder warnings are errors, and parsing runs in a child process
with capped memory and time (engine.psd.isolation). Every failure is one PosterError.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from engine.psd.color import SrgbConverter
from engine.psd.effects import effects_descriptor, enabled_entries, read_style
from engine.core.poster import BLEND_MODES, Box, Layer, LayerKind, Poster, PosterError
from engine.psd.failures import describe_failure
from engine.psd.isolation import run_isolated
from engine.psd.limits import ImportLimits, PsdHeader, check_file, check_tree, memory_message

#: Effects psd-tools' compositor draws into the layer pixels; any other enabled effect is lost.
RENDERED_EFFECTS = {"coloroverlay", "gradientoverlay", "patternoverlay", "stroke"}

EFFECT_NAMES = {
    "dropshadow": "drop shadow",
    "innershadow": "inner shadow",
    "outerglow": "outer glow",
    "innerglow": "inner glow",
    "bevelemboss": "bevel and emboss",
    "satin": "satin",
}

LEAF_KINDS = {
    "pixel": LayerKind.PIXEL,
    "type": LayerKind.TEXT,
    "shape": LayerKind.SHAPE,
    "smartobject": LayerKind.SMART_OBJECT,
    "solidcolorfill": LayerKind.FILL,
    "gradientfill": LayerKind.FILL,
    "patternfill": LayerKind.FILL,
}


def load_psd(path: str | Path, limits: ImportLimits | None = None) -> Poster:
    """Open a PSD/PSB as a Poster, or raise one PosterError a designer can act on."""
    limits = limits or ImportLimits()
    path = Path(path)
    header = check_file(path, limits)
    if limits.isolate:
        return run_isolated(load_checked_psd, path, header, limits)
    return load_checked_psd(path, header, limits)


def load_checked_psd(path: Path, header: PsdHeader, limits: ImportLimits) -> Poster:
    """Parse a file whose header already passed the limits, in this process."""
    from PIL import Image  # noqa: PLC0415
    from psd_tools.compression import PSDDecompressionWarning  # noqa: PLC0415

    with warnings.catch_warnings():
        # A channel psd-tools cannot decode comes back black with a warning; for us that
        # is a damaged file, never a silent black layer.
        warnings.simplefilter("error", PSDDecompressionWarning)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _Importer(path, header, limits).run()
        except PosterError:
            raise
        except MemoryError:
            raise PosterError(memory_message(path.name, limits)) from None
        except Exception as error:  # noqa: BLE001 - any parser failure is a damaged file to the designer
            raise PosterError(describe_failure(path.name, error)) from None


def blend_mode_name(psd_mode) -> str:
    """psd-tools' BlendMode -> our Photoshop-menu name; pass-through composites as normal."""
    name = psd_mode.name.lower()
    return name if name in BLEND_MODES else "normal"


@dataclass
class _Scope:
    """What a layer inherits from the groups around it."""

    path: tuple[str, ...] = ()
    opacity: float = 1.0
    visible: bool = True


@dataclass
class _Importer:
    path: Path
    header: PsdHeader
    limits: ImportLimits
    layers: list[Layer] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def run(self) -> Poster:
        from psd_tools import PSDImage  # noqa: PLC0415
        from psd_tools.constants import ColorMode, Resource  # noqa: PLC0415
        from psd_tools.psd.parse_limits import ParseLimits  # noqa: PLC0415

        size = self.path.stat().st_size
        parse_limits = ParseLimits(
            max_read_bytes=max(size, 1),
            max_total_bytes=self.limits.max_memory_mb * 1024 * 1024,
        )
        psd = PSDImage.open(self.path, max_alloc_bytes=self.limits.max_alloc_bytes, parse_limits=parse_limits)
        self.psd = psd
        all_layers = list(psd.descendants())
        check_tree(self.path.name, len(all_layers), _nesting(psd), self.limits)
        self.order = {id(layer): index for index, layer in enumerate(all_layers)}
        icc = psd.image_resources.get_data(Resource.ICC_PROFILE) if Resource.ICC_PROFILE in psd.image_resources else None
        self.converter = SrgbConverter(psd.color_mode, icc)
        self.canvas = (0, 0, psd.width, psd.height)
        if psd.color_mode in (ColorMode.DUOTONE, ColorMode.MULTICHANNEL):
            self.notices.append(
                f"This file is in {self.header.color_mode_name} mode; it is shown in grey levels of its "
                "first ink. Convert it to RGB in Photoshop for exact colours."
            )
        if len(psd) == 0:
            self._add_merged_image()
        else:
            self._walk(psd, _Scope())
        self.notices.extend(self.converter.notes)
        self._dedupe_ids()
        return Poster(
            width=psd.width,
            height=psd.height,
            layers=self.layers,
            name=self.path.stem,
            unsupported=_unique(self.notices + [n for layer in self.layers for n in layer.unsupported]),
        )

    # -- the tree walk ---------------------------------------------------------------

    def _walk(self, container, scope: _Scope) -> None:
        """Emit the children of a group whose children may stay separate layers."""
        for child in container:
            if child.clipping and self._has_clip_base(child):
                continue  # drawn as part of its base's clipping stack
            if child.kind == "group" or child.kind == "artboard" or child.is_group():
                self._group(child, scope)
            elif _is_adjustment(child):
                self._adjustment(child, scope)
            else:
                self._leaf(child, scope)

    def _group(self, group, scope: _Scope) -> None:
        visible = scope.visible and group.visible
        inner = _Scope(scope.path + (group.name,), scope.opacity * group.opacity / 255.0, visible)
        if not visible:
            self._walk(group, inner)
            return
        reason = self._why_bake_group(group)
        if reason == "knockout inside":
            self._bake_prefix(group, scope, f"The group '{group.name}' knocks out the layers below it")
            return
        if reason is None:
            self._walk(group, inner)
            return
        style, unsupported = read_style(group, self.psd)
        if style is not None:  # the group's style is drawn from the merged group's alpha, like a layer's
            with _effects_off(group):
                pixels, box = self._rasterise(group, as_group=True)
        else:
            pixels, box = self._rasterise(group, as_group=True)
            unsupported = self._effect_notes(group)
        self.layers.append(
            Layer(
                id=group.layer_id,
                name=group.name,
                pixels=pixels,
                box=box,
                kind=LayerKind.BAKED,
                group_path=scope.path,
                opacity=_clamp01(scope.opacity * group.opacity / 255.0),
                blend_mode=blend_mode_name(group.blend_mode),
                visible=True,
                unsupported=tuple(unsupported),
                style=style,
            )
        )
        self._list_hidden_inside(group, inner)
        self._note_lost_adjustments(group)

    def _why_bake_group(self, group) -> str | None:
        """Why a visible group must become one layer, or None when its children can stay apart."""
        from psd_tools.constants import BlendMode  # noqa: PLC0415

        if group.blend_mode not in (BlendMode.PASS_THROUGH, BlendMode.NORMAL):
            return "blend mode"
        if group.has_mask() or group.has_vector_mask():
            return "mask"
        if group.has_effects() or enabled_entries(effects_descriptor(group)):
            return "effects"
        if group.has_clip_layers(visible=True):
            return "clipping"
        if _knockout(group):
            return "knockout"
        visible_leaves = [layer for layer in _visible_descendants(group) if not layer.is_group()]
        if group.opacity < 255 and len([layer for layer in visible_leaves if not _is_adjustment(layer)]) > 1:
            return "opacity"
        if any(_knockout(layer) for layer in _visible_descendants(group)):
            return "knockout" if group.blend_mode == BlendMode.NORMAL else "knockout inside"
        if group.blend_mode == BlendMode.NORMAL and any(
            _is_adjustment(layer) or layer.blend_mode != BlendMode.NORMAL
            for layer in _visible_descendants(group)
            if not layer.is_group() or layer.blend_mode != BlendMode.PASS_THROUGH
        ):
            return "isolated blending"
        return None

    def _adjustment(self, layer, scope: _Scope) -> None:
        from psd_tools.composite.adjustments import ADJUSTMENT_FUNC  # noqa: PLC0415

        if not (scope.visible and layer.visible):
            return
        if layer.kind not in ADJUSTMENT_FUNC:
            self.notices.append(
                f"The adjustment layer '{layer.name}' ({_kind_words(layer.kind)}) cannot be reproduced; "
                "the poster is shown without it. Merge it into the layers below in Photoshop to keep its look."
            )
            return
        self._bake_prefix(layer, scope, f"The adjustment layer '{layer.name}' changes the layers below it")

    def _bake_prefix(self, layer, scope: _Scope, reason: str) -> None:
        """Merge `layer` (and its contents) with every visible layer painted before it.

        An adjustment, or a knockout in a pass-through group, reads the pixels below it,
        so the only faithful separate layer is the whole stack up to it.
        """
        subtree = list(layer.descendants()) if layer.is_group() else []
        position = max([self.order[id(layer)]] + [self.order[id(item)] for item in subtree])
        replaced = [item for item in self.layers if item.visible]
        pixels, box = self._rasterise(
            self.psd, layer_filter=lambda item: item.is_visible() and self.order.get(id(item), -1) <= position
        )
        first = self.layers.index(replaced[0]) if replaced else len(self.layers)
        self.layers = [item for item in self.layers if not item.visible]
        merged_names = ", ".join(f"'{item.name}'" for item in replaced[:6]) + (" …" if len(replaced) > 6 else "")
        self.layers.insert(
            min(first, len(self.layers)),
            Layer(
                id=layer.layer_id,
                name=f"{layer.name} (merged)",
                pixels=pixels,
                box=box,
                kind=LayerKind.BAKED,
                group_path=scope.path,
                visible=True,
            ),
        )
        self.notices.append(
            f"{reason}, so it was merged with {merged_names or 'the layers below'} into one layer."
        )
        if layer.is_group():
            self._list_hidden_inside(layer, _Scope(scope.path + (layer.name,), scope.opacity, False))

    def _leaf(self, layer, scope: _Scope) -> None:
        visible = scope.visible and layer.visible
        if visible and _knockout(layer):
            self._bake_prefix(layer, scope, f"The layer '{layer.name}' knocks out the layers below it")
            return
        kind = LEAF_KINDS.get(layer.kind, LayerKind.PIXEL)
        clipped = layer.has_clip_layers(visible=True)
        style, unsupported = read_style(layer, self.psd)
        if style is not None and clipped and _psd_tools_draws(layer, style):
            style = None  # psd-tools paints the base's overlays under its clipped layers, as Photoshop does
        if style is not None:
            # Our renderer draws every effect from the unstyled pixels, live per frame;
            # psd-tools draws none of them here, and fill opacity moves into the style.
            opacity = layer.opacity / 255.0
            with _effects_off(layer):
                pixels, box = self._rasterise(layer, keep_fill=False)
        else:
            keep_fill = layer.has_effects()
            opacity = layer.opacity / 255.0 * (1.0 if keep_fill else layer.fill_opacity / 255.0)
            pixels, box = self._rasterise(layer, keep_fill=keep_fill)
            unsupported = self._effect_notes(layer)
        if layer.kind == "smartobject" and _is_linked(layer):
            unsupported.append(
                f"'{layer.name}' is a linked smart object; its linked file was not opened and the preview "
                "stored in the PSD is used. Embed it in Photoshop to be sure it is current."
            )
        if _channel_restricted(layer):
            unsupported.append(
                f"'{layer.name}' blends into only some colour channels (Blending Options ▸ Channels); it is "
                "shown blending into all of them. Merge it in Photoshop to keep the look."
            )
        text, fonts = _text_of(layer)
        self.layers.append(
            Layer(
                id=layer.layer_id,
                name=layer.name,
                pixels=pixels,
                box=box,
                kind=LayerKind.BAKED if clipped else kind,
                group_path=scope.path,
                opacity=_clamp01(opacity * scope.opacity),
                blend_mode=blend_mode_name(layer.blend_mode),
                visible=visible,
                text=text,
                fonts=fonts,
                unsupported=tuple(unsupported),
                style=style,
            )
        )

    def _list_hidden_inside(self, group, scope: _Scope) -> None:
        """Hidden leaves inside a baked group still appear in the layer list, switched off."""
        for layer in group.descendants():
            if layer.is_group() or _is_adjustment(layer) or layer.visible and _ancestors_visible(layer, group):
                continue
            if layer.clipping and self._has_clip_base(layer):
                continue
            self._leaf(layer, _Scope(scope.path, scope.opacity, False))

    def _note_lost_adjustments(self, group) -> None:
        from psd_tools.composite.adjustments import ADJUSTMENT_FUNC  # noqa: PLC0415

        for layer in _visible_descendants(group):
            if _is_adjustment(layer) and layer.kind not in ADJUSTMENT_FUNC:
                self.notices.append(
                    f"The adjustment layer '{layer.name}' ({_kind_words(layer.kind)}) cannot be reproduced; "
                    "the poster is shown without it."
                )

    def _add_merged_image(self) -> None:
        """A file without layers (Bitmap, Multichannel, flattened) is its merged image.

        Only RGB and Grayscale merged images carry transparency; in the other modes an
        extra channel is a spot ink or a saved selection, which psd-tools would read as
        alpha. Photoshop shows those documents opaque, and so do we.
        """
        from psd_tools.constants import ColorMode  # noqa: PLC0415

        opaque = self.psd.color_mode not in (ColorMode.RGB, ColorMode.GRAYSCALE)
        if opaque and self.psd.channels > _ink_channels(self.psd.color_mode):
            self.notices.append(
                "This file has spot-colour or extra channels; they are not shown. Merge spot channels "
                "in Photoshop (Channels panel ▸ Merge Spot Channel) to keep them."
            )
        pixels, box = self._rasterise(self.psd, opaque=opaque)
        self.layers.append(Layer(id=1, name="Image", pixels=pixels, box=box, kind=LayerKind.PIXEL))

    # -- rasterising -----------------------------------------------------------------

    def _rasterise(
        self,
        target,
        as_group: bool = False,
        keep_fill: bool = True,
        layer_filter: Callable | None = None,
        opaque: bool = False,
    ) -> tuple[np.ndarray, Box]:
        """psd-tools' rendering of one layer/group, opacity lifted out, in sRGB, cropped tight."""
        from psd_tools import PSDImage  # noqa: PLC0415
        from psd_tools.composite import composite  # noqa: PLC0415

        if isinstance(target, PSDImage):
            viewport = self.canvas
        else:
            viewport = self.canvas if as_group else _intersect(_painted_box(target), self.canvas)
            if layer_filter is None:
                layer_filter = lambda item: item is target or item.visible  # noqa: E731
        if viewport[2] <= viewport[0] or viewport[3] <= viewport[1]:
            return np.zeros((0, 0, 4), dtype=np.uint8), Box(max(0, viewport[0]), max(0, viewport[1]), 0, 0)
        with _opaque(target, keep_fill):
            color, _shape, alpha = composite(
                target, color=1.0, alpha=0.0, viewport=viewport, layer_filter=layer_filter, as_layer=as_group
            )
        rgba = self.converter.convert(color, np.ones_like(alpha) if opaque else alpha)
        return _crop_to_alpha(rgba, viewport[0], viewport[1])

    def _effect_notes(self, layer) -> list[str]:
        notes = []
        try:
            if not layer.has_effects():
                return notes
            effects = list(layer.effects)
        except Exception:  # noqa: BLE001 - psd-tools cannot list them either, so it drew none
            return [f"The layer effects of '{layer.name}' could not be read and are not shown."]
        for effect in effects:
            key = effect.name.lower()
            if effect.enabled and key not in RENDERED_EFFECTS:
                notes.append(
                    f"The {EFFECT_NAMES.get(key, key)} effect of '{layer.name}' is not reproduced; rasterise the "
                    "layer style in Photoshop (Layer ▸ Rasterize ▸ Layer Style) to keep it."
                )
        return notes

    def _has_clip_base(self, layer) -> bool:
        """Whether a clipping layer has a base below it (psd-tools draws it with that base)."""
        parent = layer.parent
        siblings = list(parent) if parent is not None else []
        index = next((i for i, item in enumerate(siblings) if item is layer), 0)
        return any(not item.clipping for item in siblings[:index])

    def _dedupe_ids(self) -> None:
        seen: set[int] = set()
        next_id = max((layer.id for layer in self.layers), default=0) + 1
        for layer in self.layers:
            if layer.id in seen:
                layer.id = next_id
                next_id += 1
            seen.add(layer.id)


class _opaque:
    """Temporarily set a layer's opacity (and fill opacity) to 100% while psd-tools rasterises it.

    Writes the record directly rather than through the setters, which would mark the
    document as edited and make psd-tools redraw vector layers instead of using the
    pixels Photoshop stored.
    """

    def __init__(self, target, keep_fill: bool) -> None:
        self.target = target
        self.keep_fill = keep_fill

    def __enter__(self) -> None:
        from psd_tools.constants import Tag  # noqa: PLC0415

        record = getattr(self.target, "_record", None)
        self.saved_opacity = None
        self.saved_fill = None
        if record is None or not hasattr(record, "opacity"):
            return
        self.saved_opacity = record.opacity
        record.opacity = 255
        blocks = record.tagged_blocks
        if not self.keep_fill and blocks is not None and Tag.BLEND_FILL_OPACITY in blocks:
            self.saved_fill = blocks.get_data(Tag.BLEND_FILL_OPACITY)
            blocks.set_data(Tag.BLEND_FILL_OPACITY, 255)

    def __exit__(self, *exc) -> None:
        from psd_tools.constants import Tag  # noqa: PLC0415

        if self.saved_opacity is not None:
            self.target._record.opacity = self.saved_opacity
        if self.saved_fill is not None:
            self.target._record.tagged_blocks.set_data(Tag.BLEND_FILL_OPACITY, self.saved_fill)


class _effects_off:
    """Temporarily switch a layer's effects off (the master switch) while psd-tools rasterises it.

    The descriptor is edited in place and restored, like `_opaque`, so psd-tools neither
    draws the effects nor grows the layer's box for them.
    """

    def __init__(self, layer) -> None:
        self.data = effects_descriptor(layer)
        self.saved = None

    def __enter__(self) -> None:
        if self.data is not None:
            self.saved = self.data.get(b"masterFXSwitch", True)
            self.data[b"masterFXSwitch"] = False

    def __exit__(self, *exc) -> None:
        if self.data is not None:
            self.data[b"masterFXSwitch"] = self.saved


def _crop_to_alpha(rgba: np.ndarray, x0: int, y0: int) -> tuple[np.ndarray, Box]:
    """Crop to the pixels that show, so a small layer on a big canvas stays small."""
    alpha = rgba[..., 3]
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return np.zeros((0, 0, 4), dtype=np.uint8), Box(x0, y0, 0, 0)
    cols = np.flatnonzero(alpha.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = np.ascontiguousarray(rgba[top:bottom, left:right])
    crop[crop[..., 3] == 0] = 0  # no stray colour under full transparency
    return crop, Box(x0 + int(left), y0 + int(top), int(right - left), int(bottom - top))


def _intersect(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    return (x0, y0, max(x0, x1), max(y0, y1))


def _painted_box(layer) -> tuple[int, int, int, int]:
    """Where a layer can paint: its box, grown by the stroke psd-tools draws around it.

    psd-tools' own measure is private; if it is missing or fails, the whole canvas is
    the safe answer (slower, never cropped). An empty box means "no bounds of its own"
    (a fill without a mask), which psd-tools composites over the whole canvas too.
    """
    everywhere = (-(2**30), -(2**30), 2**30, 2**30)
    if layer.bbox == (0, 0, 0, 0):
        return everywhere
    if not layer.has_effects():
        return layer.bbox
    try:
        from psd_tools.composite.composite import _stroke_reach  # noqa: PLC0415

        return _stroke_reach(layer)
    except Exception:  # noqa: BLE001
        return everywhere


#: Our effect kinds that psd-tools' compositor draws itself (its names).
_PSD_TOOLS_KINDS = {"color_overlay": "coloroverlay", "gradient_overlay": "gradientoverlay",
                    "pattern_overlay": "patternoverlay", "stroke": "stroke"}


def _psd_tools_draws(layer, style) -> bool:
    """Whether psd-tools draws every effect of `style` itself (it lists them and knows how).

    Used for a clipping base: there the overlays belong under the clipped layers, which
    psd-tools' own compositing of the stack gets right and one styled buffer cannot.
    """
    try:
        listed = {effect.name.lower() for effect in layer.effects if effect.enabled}
    except Exception:  # noqa: BLE001
        return False
    return all(_PSD_TOOLS_KINDS.get(kind) in listed for kind in style.kinds)


def _ink_channels(color_mode) -> int:
    """Colour channels a mode needs; more channels than this are spot inks or selections."""
    return {"BITMAP": 1, "GRAYSCALE": 1, "INDEXED": 1, "RGB": 3, "CMYK": 4, "LAB": 3, "DUOTONE": 1}.get(
        color_mode.name, 1
    )


def _is_adjustment(layer) -> bool:
    from psd_tools.api.layers import AdjustmentLayer  # noqa: PLC0415

    return isinstance(layer, AdjustmentLayer)


def _knockout(layer) -> bool:
    from psd_tools.constants import Tag  # noqa: PLC0415

    try:
        return bool(layer.tagged_blocks.get_data(Tag.KNOCKOUT_SETTING, 0))
    except Exception:  # noqa: BLE001
        return False


def _channel_restricted(layer) -> bool:
    """Whether the layer is kept out of some colour channels (Photoshop's Advanced Blending)."""
    from psd_tools.constants import Tag  # noqa: PLC0415

    try:
        return bool(layer.tagged_blocks.get_data(Tag.CHANNEL_BLENDING_RESTRICTIONS_SETTING, []))
    except Exception:  # noqa: BLE001
        return False


def _is_linked(layer) -> bool:
    try:
        return layer.smart_object.kind == "external"
    except Exception:  # noqa: BLE001
        return False


def _text_of(layer) -> tuple[str | None, tuple[str, ...]]:
    if layer.kind != "type":
        return None, ()
    try:
        text = layer.text
    except Exception:  # noqa: BLE001
        text = None
    try:
        fonts = tuple(dict.fromkeys(name for name in layer.font_names if name))
    except Exception:  # noqa: BLE001
        fonts = ()
    return text, fonts


def _visible_descendants(group) -> Iterable:
    for layer in group:
        if not layer.visible:
            continue
        yield layer
        if layer.is_group():
            yield from _visible_descendants(layer)


def _ancestors_visible(layer, stop) -> bool:
    parent = layer.parent
    while parent is not None and parent is not stop:
        if not parent.visible:
            return False
        parent = parent.parent
    return True


def _nesting(container) -> int:
    """How deep groups nest, walked without recursion so a hostile tree cannot overflow the stack."""
    deepest = 0
    stack = [(container, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((layer, depth + 1) for layer in node if layer.is_group())
    return deepest


def _kind_words(kind: str) -> str:
    return {
        "brightnesscontrast": "brightness/contrast",
        "huesaturation": "hue/saturation",
        "colorbalance": "colour balance",
        "blackandwhite": "black & white",
        "photofilter": "photo filter",
        "channelmixer": "channel mixer",
        "colorlookup": "colour lookup",
        "selectivecolor": "selective colour",
        "gradientmap": "gradient map",
    }.get(kind, kind)


def _clamp01(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
