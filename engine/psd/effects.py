"""Photoshop layer-effect descriptors (`lfx2`) -> typed LayerStyle parameters.

psd-tools lists only effects whose descriptor says `present`, which older files (and
Photoshop's own single-effect entries) never write, so slices.psd's colour overlay and
masks.psd's drop shadows were invisible to it. This reads the descriptor itself: every
entry that is enabled (and not marked absent), single or "Multi" list form, under the
master switch. What the renderer cannot reproduce of an effect is returned as one
sentence per effect and layer for the import notice; the effect is still drawn with the
nearest supported settings (a chisel bevel as smooth, a contour as linear).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from engine.core.style import (
    EFFECT_WORDS,
    BevelEmboss,
    ColorOverlay,
    DropShadow,
    Effect,
    Gradient,
    GradientOverlay,
    GradientStop,
    InnerGlow,
    InnerShadow,
    LayerStyle,
    OuterGlow,
    PatternOverlay,
    Satin,
    Stroke,
    encode_tile,
)

#: Descriptor keys of each effect, single and list ("Multi") forms.
EFFECT_KEYS: dict[bytes, str] = {
    b"DrSh": "drop_shadow",
    b"dropShadowMulti": "drop_shadow",
    b"IrSh": "inner_shadow",
    b"innerShadowMulti": "inner_shadow",
    b"OrGl": "outer_glow",
    b"IrGl": "inner_glow",
    b"ebbl": "bevel_emboss",
    b"SoFi": "color_overlay",
    b"solidFillMulti": "color_overlay",
    b"GrFl": "gradient_overlay",
    b"gradientFillMulti": "gradient_overlay",
    b"patternFill": "pattern_overlay",
    b"FrFX": "stroke",
    b"frameFXMulti": "stroke",
    b"ChFX": "satin",
}

_GRADIENT_STYLES = {b"Lnr ": "linear", b"Rdl ": "radial", b"Angl": "angle", b"Rflc": "reflected", b"Dmnd": "diamond"}
_STROKE_POSITIONS = {b"OutF": "outside", b"InsF": "inside", b"CtrF": "center"}
_BEVEL_STYLES = {b"InrB": "inner_bevel", b"OtrB": "outer_bevel", b"Embs": "emboss", b"PlEb": "pillow_emboss"}

LIGHT_ANGLE_DEFAULT = 120.0
LIGHT_ALTITUDE_DEFAULT = 30.0


def effects_descriptor(layer) -> Any | None:
    """The layer's `lfx2` descriptor (any of its three tags), or None."""
    from psd_tools.constants import Tag  # noqa: PLC0415
    from psd_tools.psd.descriptor import Descriptor  # noqa: PLC0415

    blocks = getattr(layer, "tagged_blocks", None)
    if blocks is None:
        return None
    for tag in (Tag.OBJECT_BASED_EFFECTS_LAYER_INFO, Tag.OBJECT_BASED_EFFECTS_LAYER_INFO_V0,
                Tag.OBJECT_BASED_EFFECTS_LAYER_INFO_V1):
        data = blocks.get_data(tag) if tag in blocks else None
        if isinstance(data, Descriptor):
            return data
    return None


def enabled_entries(data) -> list[tuple[str, Any]]:
    """(kind, descriptor) of every enabled effect in file order; empty when the master switch is off."""
    from psd_tools.psd.descriptor import Descriptor  # noqa: PLC0415

    if data is None or not bool(data.get(b"masterFXSwitch", True)):
        return []
    entries = []
    for key, value in data.items():
        kind = EFFECT_KEYS.get(bytes(key))
        if kind is None:
            continue
        for item in value if isinstance(value, (list, tuple)) or hasattr(value, "append") else [value]:
            if not isinstance(item, Descriptor):
                continue
            if bool(item.get(b"enab", False)) and bool(item.get(b"present", True)):
                entries.append((kind, item))
    return entries


def read_style(layer, psd, to_srgb: Callable[[tuple[float, ...]], tuple[float, float, float]] | None = None
               ) -> tuple[LayerStyle | None, list[str]]:
    """The layer's enabled effects as a LayerStyle (None when it has none) and notice sentences."""
    entries = enabled_entries(effects_descriptor(layer))
    if not entries:
        return None, []
    reader = _Reader(layer, psd, to_srgb or _plain_rgb)
    effects: list[Effect] = []
    for kind, desc in entries:
        try:
            effect = reader.effect(kind, desc)
        except Exception:  # noqa: BLE001 - a descriptor we cannot read is one lost effect, not a lost file
            effect = None
            reader.lose(kind, "its settings could not be read")
        if effect is not None:
            effects.append(effect)
    fill = float(getattr(layer, "fill_opacity", 255)) / 255.0
    style = LayerStyle(effects=tuple(effects), fill_opacity=min(1.0, max(0.0, fill))) if effects else None
    return style, reader.notes


class _Reader:
    def __init__(self, layer, psd, to_srgb) -> None:
        self.layer = layer
        self.psd = psd
        self.to_srgb = to_srgb
        self.notes: list[str] = []
        self.light_angle, self.light_altitude = global_light(psd)
        self.effects_scale = _number((effects_descriptor(layer) or {}).get(b"Scl "), 100.0) / 100.0

    def lose(self, kind: str, what: str) -> None:
        self.notes.append(
            f"The {EFFECT_WORDS[kind]} effect of '{self.layer.name}' is drawn without {what}; rasterise the "
            "layer style in Photoshop (Layer ▸ Rasterize ▸ Layer Style) if it must match exactly."
            if what != "its settings could not be read" else
            f"The {EFFECT_WORDS[kind]} effect of '{self.layer.name}' could not be read and is not shown."
        )

    def effect(self, kind: str, d) -> Effect | None:
        common = {"opacity": _percent(d.get(b"Opct"), 100.0), "blend_mode": _blend(d)}
        if kind in ("drop_shadow", "inner_shadow"):
            self._check_noise_and_contour(kind, d)
            cls = DropShadow if kind == "drop_shadow" else InnerShadow
            extra = {"knocked_out": bool(d.get(b"layerConceals", True))} if kind == "drop_shadow" else {}
            return cls(color=self.color(d), angle=self.angle(d), distance=_number(d.get(b"Dstn"), 0.0),
                       spread=_percent(d.get(b"Ckmt"), 0.0), size=_number(d.get(b"blur"), 0.0), **common, **extra)
        if kind in ("outer_glow", "inner_glow"):
            self._check_noise_and_contour(kind, d)
            if b"Grad" in d and b"Clr " not in d:
                self.lose(kind, "its gradient (its first colour is used)")
            precise = _enum(d.get(b"GlwT")) == b"PrBL"
            common.update(color=self.color(d), spread=_percent(d.get(b"Ckmt"), 0.0), size=_number(d.get(b"blur"), 0.0),
                          precise=precise, range=_percent(d.get(b"Inpr"), 50.0))
            if kind == "outer_glow":
                return OuterGlow(**common)
            source = "center" if _enum(d.get(b"glwS")) == b"SrcC" else "edge"
            return InnerGlow(source=source, **common)
        if kind == "color_overlay":
            return ColorOverlay(color=self.color(d), **common)
        if kind == "gradient_overlay":
            gradient = self.gradient(kind, d)
            return GradientOverlay(gradient=gradient, **common) if gradient is not None else None
        if kind == "pattern_overlay":
            tile = self.pattern_tile(d)
            if tile is None:
                self.lose(kind, "its pattern, which the file does not hold")
                return None
            phase = d.get(b"phase")
            shift = self.pattern_origin_shift()
            return PatternOverlay(
                tile=tile, name=_text(d.get(b"Ptrn", {}).get(b"Nm  ")), scale=_percent(d.get(b"Scl "), 100.0),
                phase=(_number(phase.get(b"Hrzn") if phase else 0, 0.0) + shift[0],
                       _number(phase.get(b"Vrtc") if phase else 0, 0.0) + shift[1]),
                **common,
            )
        if kind == "stroke":
            paint = _enum(d.get(b"PntT"))
            gradient = self.gradient(kind, d) if paint == b"GrFl" else None
            if paint == b"Ptrn":
                self.lose(kind, "its pattern paint (drawn in its colour)")
            position = _STROKE_POSITIONS.get(_enum(d.get(b"Styl")), "outside")
            return Stroke(size=_number(d.get(b"Sz  "), 1.0), position=position, color=self.color(d),
                          gradient=gradient, **common)
        if kind == "satin":
            self._check_noise_and_contour(kind, d, key=b"MpgS")
            return Satin(color=self.color(d), angle=_number(d.get(b"lagl"), 19.0), distance=_number(d.get(b"Dstn"), 0.0),
                         size=_number(d.get(b"blur"), 0.0), invert=bool(d.get(b"Invr", True)), **common)
        if kind == "bevel_emboss":
            return self.bevel(d)
        return None

    def pattern_origin_shift(self) -> tuple[float, float]:
        """Where a linked pattern's tiling starts, relative to the layer's top-left corner.

        At 100 % style scale it is the corner itself (psd-tools' reading too). A style
        scaled by s (the `Scl ` of the effects, written when a document is resized with
        its styles) starts at the corner divided by s: on layer_effects.psd (s = 208 %)
        that tiling matches Photoshop's preview exactly, the corner itself is 1525 off in
        mean squared error (measured, benchmarks/styles.md).
        """
        scale = self.effects_scale
        left, top = self.layer.bbox[0], self.layer.bbox[1]
        if scale <= 0 or abs(scale - 1.0) < 1e-6:
            return (0.0, 0.0)
        return (left / scale - left, top / scale - top)

    def bevel(self, d) -> BevelEmboss | None:
        style = _BEVEL_STYLES.get(_enum(d.get(b"bvlS")))
        if style is None:
            self.lose("bevel_emboss", "its stroke emboss (not drawn)")
            return None
        if _enum(d.get(b"bvlT")) not in (b"SfBL", b""):
            self.lose("bevel_emboss", "its chisel technique (drawn smooth)")
        if bool(d.get(b"useTexture", False)):
            self.lose("bevel_emboss", "its texture")
        self._check_noise_and_contour("bevel_emboss", d)
        return BevelEmboss(
            style=style, direction_up=_enum(d.get(b"bvlD")) != b"Out ", depth=_percent(d.get(b"srgR"), 100.0),
            size=_number(d.get(b"blur"), 5.0), soften=_number(d.get(b"Sftn"), 0.0), angle=self.angle(d),
            altitude=self.altitude(d),
            highlight_color=self.color(d, b"hglC"), highlight_opacity=_percent(d.get(b"hglO"), 75.0),
            highlight_mode=_blend(d, b"hglM"),
            shadow_color=self.color(d, b"sdwC"), shadow_opacity=_percent(d.get(b"sdwO"), 75.0),
            shadow_mode=_blend(d, b"sdwM"),
        )

    def angle(self, d) -> float:
        if bool(d.get(b"uglg", True)):
            return self.light_angle
        return _number(d.get(b"lagl"), LIGHT_ANGLE_DEFAULT)

    def altitude(self, d) -> float:
        if bool(d.get(b"uglg", True)):
            return self.light_altitude
        return _number(d.get(b"Lald"), LIGHT_ALTITUDE_DEFAULT)

    def color(self, d, key: bytes = b"Clr ") -> tuple[float, float, float]:
        color = d.get(key)
        if color is None and b"Grad" in d:
            stops = d[b"Grad"].get(b"Clrs") or []
            color = stops[0].get(b"Clr ") if len(stops) else None
        if color is None:
            return (0.0, 0.0, 0.0)
        return self.to_srgb(_color_values(color))

    def gradient(self, kind: str, d) -> Gradient | None:
        grad = d.get(b"Grad")
        if grad is None:
            return None
        if _enum(grad.get(b"GrdF")) == b"ClNs":
            self.lose(kind, "its noise gradient (drawn as black to white)")
            stops = (GradientStop(0.0, (0.0, 0.0, 0.0)), GradientStop(1.0, (1.0, 1.0, 1.0)))
        else:
            stops = self.stops(grad)
        offset = d.get(b"Ofst")
        return Gradient(
            stops=stops, style=_GRADIENT_STYLES.get(_enum(d.get(b"Type")), "linear"), angle=_number(d.get(b"Angl"), 90.0),
            scale=_percent(d.get(b"Scl "), 100.0), reverse=bool(d.get(b"Rvrs", False)), align=bool(d.get(b"Algn", True)),
            offset=(_number(offset.get(b"Hrzn"), 0.0) / 100.0, _number(offset.get(b"Vrtc"), 0.0) / 100.0)
            if offset is not None else (0.0, 0.0),
        )

    def stops(self, grad) -> tuple[GradientStop, ...]:
        colors = [(float(stop.get(b"Lctn", 0)) / 4096.0, self.to_srgb(_color_values(stop.get(b"Clr "))))
                  for stop in grad.get(b"Clrs") or [] if stop.get(b"Clr ") is not None]
        alphas = [(float(stop.get(b"Lctn", 0)) / 4096.0, _percent(stop.get(b"Opct"), 100.0))
                  for stop in grad.get(b"Trns") or []]
        if not colors:
            colors = [(0.0, (0.0, 0.0, 0.0)), (1.0, (1.0, 1.0, 1.0))]
        alphas = alphas or [(0.0, 1.0), (1.0, 1.0)]
        colors.sort(key=lambda item: item[0])
        alphas.sort(key=lambda item: item[0])
        locations = sorted({loc for loc, _ in colors} | {loc for loc, _ in alphas})
        color_at = [np.interp(locations, [loc for loc, _ in colors], [c[i] for _, c in colors]) for i in range(3)]
        alpha_at = np.interp(locations, [loc for loc, _ in alphas], [a for _, a in alphas])
        return tuple(
            GradientStop(float(loc), (float(color_at[0][i]), float(color_at[1][i]), float(color_at[2][i])), float(alpha_at[i]))
            for i, loc in enumerate(locations)
        )

    def pattern_tile(self, d) -> str | None:
        from psd_tools.api.numpy_io import get_pattern, get_pattern_color_channels  # noqa: PLC0415

        identifier = _text(d.get(b"Ptrn", {}).get(b"Idnt"))
        pattern = self.psd._get_pattern(identifier) if identifier else None
        if not pattern:
            return None
        panel = np.asarray(get_pattern(pattern, getattr(self.psd, "_max_alloc_bytes", None)), np.float32)
        channels = get_pattern_color_channels(pattern)
        color = panel[..., :channels]
        alpha = panel[..., -1] if panel.shape[2] > channels else np.ones(panel.shape[:2], np.float32)
        if channels == 1:
            color = np.repeat(color, 3, axis=2)
        rgba = np.concatenate([color[..., :3], alpha[..., None]], axis=2)
        return encode_tile((np.clip(rgba, 0, 1) * 255 + 0.5).astype(np.uint8))

    def _check_noise_and_contour(self, kind: str, d, key: bytes = b"TrnS") -> None:
        if _percent(d.get(b"Nose"), 0.0) > 0:
            self.lose(kind, "its noise")
        curve = d.get(key)
        points = curve.get(b"Crv ") if curve is not None else None
        if points is not None and not _linear_curve(points):
            self.lose(kind, "its contour (drawn linear)")


def global_light(psd) -> tuple[float, float]:
    """The document's global light angle and altitude in degrees (Photoshop's defaults if unset)."""
    from psd_tools.constants import Resource  # noqa: PLC0415

    resources = psd.image_resources
    angle = resources.get_data(Resource.GLOBAL_ANGLE) if Resource.GLOBAL_ANGLE in resources else None
    altitude = resources.get_data(Resource.GLOBAL_ALTITUDE) if Resource.GLOBAL_ALTITUDE in resources else None
    return (float(angle) if angle is not None else LIGHT_ANGLE_DEFAULT,
            float(altitude) if altitude is not None else LIGHT_ALTITUDE_DEFAULT)


def _plain_rgb(values: tuple[float, ...]) -> tuple[float, float, float]:
    if len(values) >= 3:
        return (values[0], values[1], values[2])
    return (values[0], values[0], values[0])


def _color_values(color) -> tuple[float, ...]:
    """A colour descriptor's components 0..1 in the document's model (RGB, grey, HSB)."""
    keys = [bytes(k) for k in color.keys()]
    if b"Rd  " in keys:
        return tuple(min(1.0, max(0.0, float(color[k]) / 255.0)) for k in (b"Rd  ", b"Grn ", b"Bl  "))
    if b"Gry " in keys:
        grey = 1.0 - float(color[b"Gry "]) / 100.0
        return (grey, grey, grey)
    if b"H   " in keys:
        import colorsys  # noqa: PLC0415

        hue = float(getattr(color[b"H   "], "value", color[b"H   "])) / 360.0
        return colorsys.hsv_to_rgb(hue % 1.0, float(color[b"Strt"]) / 100.0, float(color[b"Brgh"]) / 100.0)
    if b"Cyn " in keys:
        c, m, y, k = (float(color[key]) / 100.0 for key in (b"Cyn ", b"Mgnt", b"Ylw ", b"Blck"))
        return ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
    return (0.0, 0.0, 0.0)


def _linear_curve(points) -> bool:
    """Whether a contour is the identity (every point on the diagonal)."""
    return all(abs(float(p.get(b"Hrzn", 0)) - float(p.get(b"Vrtc", 0))) < 1.0 for p in points)


def _number(value, default: float) -> float:
    if value is None:
        return default
    return float(getattr(value, "value", value))


def _percent(value, default: float) -> float:
    return min(1.0, max(0.0, _number(value, default) / 100.0)) if value is not None else default / 100.0


def _enum(value) -> bytes:
    return bytes(getattr(value, "enum", b"") or b"")


def _text(value) -> str:
    return str(getattr(value, "value", value) or "").rstrip("\x00")


def _blend(d, key: bytes = b"Md  ") -> str:
    from psd_tools.api._descriptor import get_blend_mode  # noqa: PLC0415
    from psd_tools.constants import BlendMode  # noqa: PLC0415

    from engine.core.poster import BLEND_MODES  # noqa: PLC0415

    try:
        mode = get_blend_mode(d, key, BlendMode.NORMAL)
    except Exception:  # noqa: BLE001
        return "normal"
    name = mode.name.lower()
    return name if name in BLEND_MODES else "normal"
