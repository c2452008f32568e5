"""PSDs with layer effects, written by psd-tools from hand-built `lfx2` descriptors.

The descriptors use Photoshop's own keys and units (as Photoshop writes them: pixels,
percent, angles, `BlnM` enums), so the importer reads them exactly as it reads a file
saved by Photoshop, and the tests know every parameter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from psd_tools import PSDImage
from psd_tools.api.layers import Group, PixelLayer
from psd_tools.constants import Tag
from psd_tools.psd.descriptor import Bool, Descriptor, Double, Enumerated, UnitFloat
from psd_tools.terminology import Unit

BLEND_KEYS = {"normal": b"Nrml", "multiply": b"Mltp", "screen": b"Scrn", "overlay": b"Ovrl", "darken": b"Drkn",
              "lighten": b"Lghn", "difference": b"Dfrn"}


def rgb(r: float, g: float, b: float) -> Descriptor:
    """A colour descriptor, channels 0..255 as Photoshop stores them."""
    return Descriptor(items={b"Rd  ": Double(r), b"Grn ": Double(g), b"Bl  ": Double(b)}, classID=b"RGBC")


def px(value: float) -> UnitFloat:
    return UnitFloat(value=value, unit=Unit.Pixels)


def pct(value: float) -> UnitFloat:
    return UnitFloat(value=value, unit=Unit.Percent)


def deg(value: float) -> UnitFloat:
    return UnitFloat(value=value, unit=Unit.Angle)


def blend(mode: str) -> Enumerated:
    return Enumerated(typeID=b"BlnM", enum=BLEND_KEYS[mode])


def effect(classID: bytes, **items) -> Descriptor:
    """An enabled effect entry; keyword names are descriptor keys with spaces as '_' (e.g. Md__)."""
    body = {b"enab": Bool(True)}
    for key, value in items.items():
        name = key.replace("_", " ").encode()
        body[name] = Bool(value) if isinstance(value, bool) else value
    return Descriptor(items=body, classID=classID)


def drop_shadow(distance: float, size: float, angle: float = 90.0, opacity: float = 100.0, color=(0, 0, 0),
                mode: str = "normal", spread: float = 0.0, global_light: bool = False, noise: float = 0.0
                ) -> tuple[bytes, Descriptor]:
    return b"DrSh", effect(b"DrSh", Md__=blend(mode), Clr_=rgb(*color), Opct=pct(opacity), uglg=global_light,
                           lagl=deg(angle), Dstn=px(distance), Ckmt=px(spread), blur=px(size), Nose=pct(noise))


def color_overlay(color, mode: str = "normal", opacity: float = 100.0) -> tuple[bytes, Descriptor]:
    return b"SoFi", effect(b"SoFi", Md__=blend(mode), Clr_=rgb(*color), Opct=pct(opacity))


def stroke(size: float, position: str = "OutF", color=(255, 255, 255), opacity: float = 100.0) -> tuple[bytes, Descriptor]:
    return b"FrFX", effect(b"FrFX", Styl=Enumerated(typeID=b"FStl", enum=position.encode()),
                           PntT=Enumerated(typeID=b"FrFl", enum=b"SClr"), Md__=blend("normal"), Opct=pct(opacity),
                           Sz__=px(size), Clr_=rgb(*color))


def write_styled_psd(path: Path, effects: list[tuple[bytes, Descriptor]], *, canvas: tuple[int, int] = (64, 64),
                     square: tuple[int, int, int, int] = (22, 22, 20, 20), color=(200, 40, 40),
                     background=(255, 255, 255), fill_opacity: int = 255, in_group: bool = False) -> Path:
    """A white RGB canvas and one opaque square layer 'Square' carrying `effects` (or, with
    `in_group`, the square inside a group 'Badge group' that carries them)."""
    psd = PSDImage.new("RGB", canvas)
    back = np.zeros((canvas[1], canvas[0], 4), np.uint8)
    back[...] = (*background, 255)
    PixelLayer.frompil(Image.fromarray(back, "RGBA"), psd, "Background", 0, 0)
    x, y, w, h = square
    pixels = np.zeros((h, w, 4), np.uint8)
    pixels[...] = (*color, 255)
    layer = PixelLayer.frompil(Image.fromarray(pixels, "RGBA"), psd, "Square", x, y)
    items = {b"Scl ": pct(100.0), b"masterFXSwitch": Bool(True)}
    items.update(dict(effects))
    if in_group:
        layer = Group.group_layers(psd, [layer], name="Badge group")
    layer._record.tagged_blocks.set_data(Tag.OBJECT_BASED_EFFECTS_LAYER_INFO, items=items, classID=b"null")
    if fill_opacity != 255:
        layer._record.tagged_blocks.set_data(Tag.BLEND_FILL_OPACITY, fill_opacity)
    psd.save(path)
    return path
