"""Layer styles (issue 17): each effect against analytic pixels, the corpus against
Photoshop's own preview, and a style alive on an animated layer.

The per-effect PSDs are written by the tests (tests/helpers/styled_psd) with Photoshop's
descriptor keys, so the whole path runs: descriptor -> parameters -> pixels.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from scipy.special import erf

from benchmarks.fidelity_metrics import photoshop_preview, psnr
from engine import ImportLimits, load_psd, render_static
from engine.core.clip import LayerClip
from engine.core.poster import Box, Layer, Poster
from engine.core.style import (
    BevelEmboss,
    ColorOverlay,
    DropShadow,
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
from engine.render.compositor import iter_frames
from engine.render.effects import SIZE_PER_SIGMA, render_style
from tests.helpers.paths import CORPUS_DIR
from tests.helpers.styled_psd import color_overlay, drop_shadow, stroke, write_styled_psd

IN_PROCESS = ImportLimits(isolate=False)
RED = (200, 40, 40)


def square_layer(size: int = 20, color=RED) -> tuple[np.ndarray, Box]:
    pixels = np.zeros((size, size, 4), np.uint8)
    pixels[...] = (*color, 255)
    return pixels, Box(22, 22, size, size)


def alpha_of(style: LayerStyle, pixels=None, box=None) -> tuple[np.ndarray, Box]:
    if pixels is None:
        pixels, box = square_layer()
    out, out_box = render_style(pixels, box, style)
    return out, out_box


def blurred_square(xs: np.ndarray, lo: float, hi: float, sigma: float) -> np.ndarray:
    """A 1-D box [lo, hi) blurred by a Gaussian, sampled at pixel centres xs + 0.5."""
    centre = xs + 0.5
    scale = sigma * math.sqrt(2.0)
    return 0.5 * (erf((centre - lo) / scale) - erf((centre - hi) / scale))


# -- drop shadow: offset d and blur s on a square, read from a PSD ------------------------------


@pytest.mark.parametrize("angle, dx, dy", [(90.0, 0, 6), (180.0, 6, 0)])
def test_drop_shadow_is_the_square_offset_and_blurred(tmp_path, angle, dx, dy):
    """Shadow of a 20 px square, distance 6, size 8, black at 100 % over white: 255·(1 − blurred box)."""
    path = write_styled_psd(tmp_path / "shadow.psd", [drop_shadow(distance=6, size=8, angle=angle)])
    frame = render_static(load_psd(path, IN_PROCESS))
    sigma = 8 / SIZE_PER_SIGMA
    xs = np.arange(64, dtype=np.float64)
    shadow = np.outer(blurred_square(xs, 22 + dy, 42 + dy, sigma), blurred_square(xs, 22 + dx, 42 + dx, sigma))
    expected = 255.0 * (1.0 - shadow)
    outside = np.ones((64, 64), bool)
    outside[22:42, 22:42] = False
    error = np.abs(frame[..., 0].astype(float) - expected)[outside]
    assert error.max() <= 2.5, error.max()
    assert (frame[22:42, 22:42, :3] == RED).all()  # the square itself stays on top
    # the shadow falls away from the light: darkest beyond the square on the far side only
    assert frame[45, 32, 0] < 200 if dy else frame[32, 45, 0] < 200
    assert frame[19, 32, 0] > 240 if dy else frame[32, 19, 0] > 240


def test_a_group_style_is_drawn_from_the_merged_group(tmp_path):
    path = write_styled_psd(tmp_path / "group.psd", [drop_shadow(distance=6, size=2)], in_group=True)
    poster = load_psd(path, IN_PROCESS)
    group = poster.layer("Badge group")
    assert group.style is not None and group.style.kinds == ("drop_shadow",)
    frame = render_static(poster)
    assert frame[46, 32, 0] < 80 and frame[18, 32, 0] == 255  # the shadow below, none above
    assert not any("drop shadow" in note for note in poster.unsupported)


def test_global_light_sets_the_shadow_direction(tmp_path):
    """uglg: the document's global angle (Photoshop's default 120°: down-right) replaces the local one."""
    path = write_styled_psd(tmp_path / "global.psd", [drop_shadow(distance=8, size=2, angle=0.0, global_light=True)])
    frame = render_static(load_psd(path, IN_PROCESS))
    assert frame[48, 36, 0] < 100  # below and right of the square: in the shadow
    assert frame[32, 16, 0] > 250  # left of it (where an angle of 0 would cast): clear


# -- colour overlay under blend modes ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["normal", "multiply", "screen"])
def test_color_overlay_blends_with_the_layer(tmp_path, mode):
    overlay = (40, 120, 200)
    path = write_styled_psd(tmp_path / f"{mode}.psd", [color_overlay(overlay, mode=mode)])
    frame = render_static(load_psd(path, IN_PROCESS)).astype(int)
    base, top = np.array(RED, float), np.array(overlay, float)
    expected = {
        "normal": top,
        "multiply": base * top / 255.0,
        "screen": 255.0 - (255.0 - base) * (255.0 - top) / 255.0,
    }[mode]
    assert np.abs(frame[24:40, 24:40, :3] - expected).max() <= 1
    assert (frame[5, 5, :3] == 255).all()  # nothing outside the layer


def test_color_overlay_opacity_and_fill_zero(tmp_path):
    """Fill opacity 0 hides the pixels, not the overlay; a 50 % overlay mixes half-way."""
    path = write_styled_psd(tmp_path / "fill.psd", [color_overlay((0, 0, 255), opacity=50.0)], fill_opacity=0)
    frame = render_static(load_psd(path, IN_PROCESS)).astype(int)
    assert np.abs(frame[32, 32, :3] - (127.5, 127.5, 255)).max() <= 1  # half blue over white, no red


def test_fill_zero_drop_shadow_is_knocked_out_under_the_layer(tmp_path):
    path = write_styled_psd(tmp_path / "ghost.psd", [drop_shadow(distance=4, size=2)], fill_opacity=0)
    frame = render_static(load_psd(path, IN_PROCESS)).astype(int)
    assert (frame[30, 30, :3] == 255).all()  # inside the invisible square: no shadow
    assert frame[44, 32, 0] < 60  # below it: the shadow


# -- stroke -----------------------------------------------------------------------------------


@pytest.mark.parametrize("position, band", [("OutF", (19, 22)), ("InsF", (22, 25)), ("CtrF", (20, 24))])
def test_stroke_is_a_band_at_the_edge(tmp_path, position, band):
    path = write_styled_psd(tmp_path / "stroke.psd", [stroke(3 if position != "CtrF" else 4, position, (0, 0, 255))])
    row = render_static(load_psd(path, IN_PROCESS))[32, :, :3].astype(int)
    blue = [x for x in range(64) if tuple(row[x]) == (0, 0, 255)]
    assert blue[0] == band[0] and blue[blue.index(band[1] - 1)] == band[1] - 1
    assert tuple(row[band[0] - 1]) == (255, 255, 255) if band[0] < 22 else tuple(row[band[0] - 1]) == (255, 255, 255)
    assert tuple(row[band[1]]) == RED  # just inside the band: the square
    assert len([x for x in blue if x < 32]) == band[1] - band[0]


# -- the other effects, from typed parameters ------------------------------------------------


def test_outer_glow_surrounds_the_shape_and_fades_with_size():
    out, box = alpha_of(LayerStyle((OuterGlow(color=(1, 1, 0), opacity=1.0, blend_mode="normal", size=10, range=1.0),)))
    alpha = out[..., 3].astype(int)
    top, left = 22 - box.y, 22 - box.x
    centre = top + 10
    ring = [alpha[centre, left - k] for k in (1, 4, 8, 12)]
    assert ring == sorted(ring, reverse=True) and ring[0] > 100 and ring[-1] < 10
    assert alpha[centre, left - 4] == alpha[centre, left + 20 + 3]  # the same on both sides
    assert tuple(out[centre, left - 2, :3]) == (255, 255, 0)


def test_inner_shadow_darkens_the_edge_facing_the_light():
    style = LayerStyle((InnerShadow(opacity=1.0, blend_mode="normal", angle=90.0, distance=4, size=4),))
    out, box = alpha_of(style)
    top, left = 22 - box.y, 22 - box.x
    column = out[top : top + 20, left + 10, 0].astype(int)
    assert column[0] < 60 and column[-1] >= RED[0] - 3  # top inner edge in shadow, bottom edge clean
    assert (out[..., 3][: top, :] == 0).all()  # nothing outside the layer


@pytest.mark.parametrize("source", ["edge", "center"])
def test_inner_glow_from_edge_or_centre(source):
    style = LayerStyle((InnerGlow(color=(1, 1, 1), opacity=1.0, blend_mode="normal", size=6, source=source, range=1.0),))
    out, box = alpha_of(style)
    top, left = 22 - box.y, 22 - box.x
    edge, middle = int(out[top + 10, left, 1]), int(out[top + 10, left + 10, 1])
    if source == "edge":
        assert edge > 120 and middle < 60
    else:
        assert middle > 150 and edge < middle


@pytest.mark.parametrize("style_name", ["linear", "reflected", "radial", "diamond", "angle"])
def test_gradient_overlay_geometry(style_name):
    gradient = Gradient(stops=(GradientStop(0.0, (0, 0, 0)), GradientStop(1.0, (1, 1, 1))), style=style_name, angle=0.0)
    out, box = alpha_of(LayerStyle((GradientOverlay(gradient=gradient),)))
    top, left = 22 - box.y, 22 - box.x
    row = out[top + 10, left : left + 20, 0].astype(int)
    if style_name == "linear":
        assert row[0] < 15 and row[-1] > 240 and (np.diff(row) >= 0).all()
    elif style_name in ("reflected", "radial", "diamond"):
        assert row[9] < 30 and row[0] > 200 and row[-1] > 200  # dark in the middle, bright at the sides
    else:
        assert len(set(row.tolist())) > 5  # an angle sweep changes along the row
    reverse = Gradient(**{**gradient.__dict__, "reverse": True})
    flipped, _ = alpha_of(LayerStyle((GradientOverlay(gradient=reverse),)))
    assert abs(int(flipped[top + 10, left + 2, 0]) - (255 - int(out[top + 10, left + 2, 0]))) <= 2


def test_pattern_overlay_tiles_from_the_layer_corner():
    tile = np.zeros((4, 4, 4), np.uint8)
    tile[..., 3] = 255
    tile[:2, :2, :3] = 255  # a white quarter in a black tile
    out, box = alpha_of(LayerStyle((PatternOverlay(tile=encode_tile(tile)),)))
    top, left = 22 - box.y, 22 - box.x
    patch = out[top : top + 8, left : left + 8, 0]
    assert (patch[0:2, 0:2] == 255).all() and (patch[4:6, 4:6] == 255).all() and (patch[2:4, 2:4] == 0).all()


def test_satin_is_symmetric_inside_the_shape():
    out, box = alpha_of(LayerStyle((Satin(opacity=1.0, blend_mode="normal", angle=0.0, distance=4, size=6, invert=False),)))
    top, left = 22 - box.y, 22 - box.x
    row = out[top + 10, left : left + 20, 0].astype(int)
    assert np.abs(row - row[::-1]).max() <= 2
    assert row.min() < RED[0] - 40  # it darkens somewhere inside


def test_bevel_lights_the_edge_facing_the_light():
    out, box = alpha_of(LayerStyle((BevelEmboss(angle=90.0, altitude=30.0, size=5),)))
    top, left = 22 - box.y, 22 - box.x
    column = out[top : top + 20, left + 10, :3].astype(int).sum(axis=1)
    flat = sum(RED)
    assert column[1] > flat + 60  # top edge lit
    assert column[-2] < flat - 60  # bottom edge shaded
    assert abs(column[10] - flat) <= 3  # the plateau unchanged


def test_effects_paint_in_photoshop_order():
    """A stroke is drawn over a colour overlay, whatever order the file lists them in."""
    style = LayerStyle((Stroke(size=3, position="inside", color=(0, 0, 1)), ColorOverlay(color=(0, 1, 0))))
    out, box = alpha_of(style)
    top, left = 22 - box.y, 22 - box.x
    assert tuple(out[top + 10, left + 1, :3]) == (0, 0, 255)  # the stroke band is on top
    assert tuple(out[top + 10, left + 10, :3]) == (0, 255, 0)  # the overlay inside it


def test_styled_layer_box_grows_to_hold_the_shadow():
    out, box = alpha_of(LayerStyle((DropShadow(distance=10, size=6),)))
    assert box.contains(Box(22, 22, 20, 20)) and box.bottom >= 42 + 10 + 6
    assert out[..., 3][-(box.bottom - 42 - 10 - 2) :, :].max() < 255  # the tail fades before the box ends


# -- the corpus against Photoshop's preview ---------------------------------------------------

#: PSNR floors (dB, premultiplied RGBA) vs the preview Photoshop stored in each file, at what
#: this renderer reaches (docs/benchmarks.md, "Layer styles"); psd-tools reaches 23.0, 24.5, 38.0.
PREVIEW_FLOORS = {
    "psd-tools__psd-tools/tests/psd_files/layer_effects.psd": 34.5,
    "layervault__psd.rb/spec/files/slices.psd": 43.0,
    "psd-tools__psd-tools/tests/psd_files/masks.psd": 45.5,
}


@pytest.mark.parametrize("name", sorted(PREVIEW_FLOORS), ids=lambda name: name.rsplit("/", 1)[1])
def test_styled_corpus_file_matches_photoshop_preview(name):
    path = CORPUS_DIR / name
    score = psnr(render_static(load_psd(path, IN_PROCESS)), photoshop_preview(path))
    assert score >= PREVIEW_FLOORS[name], f"{path.name}: {score:.1f} dB"


def test_import_notice_names_what_is_not_reproduced():
    poster = load_psd(CORPUS_DIR / "psd-tools__psd-tools/tests/psd_files/layer_effects.psd", IN_PROCESS)
    styled = {layer.name: layer for layer in poster.layers if layer.style is not None}
    assert {"Drop Shadow", "Outer Glow", "Inner Glow", "Inner Shadow", "Satin", "Bevel", "Emboss", "Stroke"} <= set(styled)
    assert styled["Drop Shadow"].style.kinds == ("drop_shadow",)  # the disabled colour overlay is left out
    assert not any("drop shadow" in note for note in poster.unsupported)  # drawn now, so not listed


def test_notice_names_an_effect_setting_that_is_not_drawn(tmp_path):
    path = write_styled_psd(tmp_path / "noisy.psd", [drop_shadow(distance=4, size=4, noise=30.0)])
    poster = load_psd(path, IN_PROCESS)
    notes = poster.layer("Square").unsupported
    assert any("drop shadow effect of 'Square'" in note and "noise" in note for note in notes)
    assert poster.layer("Square").style.kinds == ("drop_shadow",)  # still drawn, without the noise
    assert notes[0] in poster.unsupported


# -- styles alive on an animated layer --------------------------------------------------------


def _bar_frames(angles: list[float], size: int = 48) -> np.ndarray:
    """A 30×8 bar spun to each angle, centred in a size×size motion box."""
    bar = Image.new("RGBA", (size, size))
    bar.paste((30, 90, 200, 255), (9, 20, 39, 28))
    return np.stack([np.asarray(bar.rotate(angle, resample=Image.Resampling.BILINEAR)) for angle in angles])


def _shadow_direction(frame: np.ndarray, content: np.ndarray, box: Box) -> float:
    """Angle (degrees, image y down) from the content's centroid to the darkening's centroid."""
    crop = frame[box.y : box.bottom, box.x : box.right].astype(float)
    dark = np.clip(255.0 - crop[..., 0], 0, None) * (content[..., 3] == 0)
    ys, xs = np.mgrid[0 : box.h, 0 : box.w]
    weight = content[..., 3].astype(float)
    cx, cy = (xs * weight).sum() / weight.sum(), (ys * weight).sum() / weight.sum()
    sx, sy = (xs * dark).sum() / dark.sum(), (ys * dark).sum() / dark.sum()
    return math.degrees(math.atan2(sy - cy, sx - cx))


def test_spinning_layer_keeps_its_shadow_down_right():
    angles = [0.0, 45.0, 90.0, 135.0, 200.0]
    frames = _bar_frames(angles)
    box = Box(40, 40, 48, 48)
    style = LayerStyle((DropShadow(angle=135.0, distance=6, size=3, opacity=1.0, blend_mode="normal"),))
    pixels = frames[0][20:28, 9:39].copy()
    layer = Layer(id=2, name="Badge", pixels=pixels, box=Box(49, 60, 30, 8), style=style)
    white = np.full((128, 128, 4), 255, np.uint8)
    poster = Poster(128, 128, [Layer(id=1, name="Paper", pixels=white, box=Box(0, 0, 128, 128)), layer])
    clip = LayerClip(2, box, frames)
    directions = [_shadow_direction(frame, frames[i], box) for i, frame in enumerate(iter_frames(poster, [clip]))]
    for direction in directions:
        assert abs(direction - 45.0) < 12.0, directions  # down-right (+x, +y) on every frame


def test_styled_clip_frames_are_drawn_per_frame_and_cached():
    from engine.render.effects import StyledSource

    frames = _bar_frames([0.0, 90.0])
    clip = LayerClip(2, Box(0, 0, 48, 48), frames)
    source = StyledSource(clip, LayerStyle((DropShadow(distance=5, size=2),)), None)
    first, second = source.frame(0), source.frame(1)
    assert source.frame(0) is first  # cached
    assert not np.array_equal(first, second)  # the shadow follows each frame's own alpha
    assert first.shape[:2] == (source.box.h, source.box.w) and source.box.contains(clip.box)


def test_bundle_ships_styled_frames_and_the_style_parameters(tmp_path):
    """A spinning styled layer: its PNG sequence carries the shadow, its manifest entry the style."""
    import io
    import json
    import zipfile

    from engine.export import write_bundle
    from engine.render.compositor import poster_stream

    frames = _bar_frames([0.0, 90.0], size=32)
    style = LayerStyle((DropShadow(angle=90.0, distance=4, size=2, opacity=1.0, blend_mode="normal"),))
    badge = Layer(id=2, name="Badge", pixels=frames[0][12:20, 1:31].copy(), box=Box(17, 28, 30, 8), style=style)
    white = np.full((64, 64, 4), 255, np.uint8)
    poster = Poster(64, 64, [Layer(id=1, name="Paper", pixels=white, box=Box(0, 0, 64, 64)), badge])
    clip = LayerClip(2, Box(16, 16, 32, 32), frames)
    path = write_bundle(tmp_path / "styled.zip", poster, {2: clip}, poster_stream(poster, [clip]), 12)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        entry = next(layer for layer in manifest["layers"] if layer["name"] == "Badge")
        assert entry["style"]["effects"][0]["kind"] == "drop_shadow"
        assert entry["style"]["effects"][0]["distance"] == 4
        box = entry["motion_box"]
        assert box["w"] > 32 and box["h"] > 32  # grown to hold the shadow
        first = np.asarray(Image.open(io.BytesIO(archive.read(entry["files"]["png_sequence"] + "frame_00000.png"))))
    assert first.shape[:2] == (box["h"], box["w"])
    column = first[:, box["w"] // 2, 3]
    bar_bottom = 28 + 8 - box["y"]
    assert column[bar_bottom + 3] > 100  # the shadow under the bar, in the layer's own file
