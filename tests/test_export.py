"""Every export format, encoded and decoded with the real bundled ffmpeg."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import PosterError
from engine.export import FORMATS, export, format_for_path, write_bundle, write_gif, write_mp4
from engine.export.formats import markdown_table
from engine.core.clip import LayerClip, place_static
from engine.core.poster import Box, Layer
from tests.helpers.video_decode import decode, poster_frames, psnr

FPS = 12
COUNT = 10


@pytest.fixture(scope="module")
def opaque() -> np.ndarray:
    return poster_frames(COUNT, 120, 160)


@pytest.fixture(scope="module")
def transparent() -> np.ndarray:
    return poster_frames(COUNT, 120, 160, transparent=True)


def visible_psnr(decoded: np.ndarray, source: np.ndarray) -> float:
    """PSNR of colour as it shows: premultiplied by alpha (hidden colour is zeroed on purpose)."""

    def shown(frames: np.ndarray) -> np.ndarray:
        return frames[..., :3].astype(np.float64) * frames[..., 3:4] / 255

    return psnr(shown(decoded), shown(source))


def test_mp4_flattens_over_white_and_keeps_quality(tmp_path, transparent):
    out = export(tmp_path / "poster.mp4", transparent, FPS)
    decoded = decode(out)
    assert decoded.shape == transparent.shape
    assert (decoded[..., 3] == 255).all()
    alpha = transparent[..., 3:4].astype(np.float64) / 255
    expected = np.round(transparent[..., :3] * alpha + 255 * (1 - alpha))
    assert psnr(decoded[..., :3], expected) >= 35
    head = out.read_bytes()[:64]
    assert b"moov" in head, "faststart puts the moov atom before the media data"


def test_mp4_odd_size_is_padded_never_resized(tmp_path):
    frames = poster_frames(COUNT, 71, 97)
    decoded = decode(export(tmp_path / "odd.mp4", frames, FPS, background="#000"))
    assert decoded.shape == (COUNT, 72, 98, 4)
    assert psnr(decoded[:, :71, :97, :3], frames[..., :3]) >= 35
    # the extra row and column repeat the edge instead of stretching the picture
    assert psnr(decoded[:, 71, :97, :3], frames[:, 70, :, :3]) >= 30


@pytest.mark.parametrize("suffix, decoder", [(".webm", "libvpx-vp9"), (".mov", None)])
def test_alpha_video_keeps_transparency(tmp_path, transparent, suffix, decoder):
    decoded = decode(export(tmp_path / f"layer{suffix}", transparent, FPS), decoder)
    assert decoded.shape == transparent.shape
    assert psnr(decoded[..., 3], transparent[..., 3]) >= 40
    assert visible_psnr(decoded, transparent) >= 35
    hidden = transparent[..., 3] == 0
    assert hidden.any() and (decoded[..., 3][hidden] <= 2).all()


def test_webm_colour_quality_where_opaque(tmp_path, opaque):
    decoded = decode(export(tmp_path / "opaque.webm", opaque, FPS), "libvpx-vp9")
    assert decoded.shape == opaque.shape
    assert psnr(decoded[..., :3], opaque[..., :3]) >= 35


def test_transparent_colour_is_zeroed_before_encoding(tmp_path, transparent):
    dirty = transparent.copy()
    hidden = dirty[..., 3] == 0
    dirty[..., :3][hidden] = (255, 0, 255)
    decoded = decode(export(tmp_path / "dirty.mov", dirty, FPS))
    assert decoded[..., :3][hidden].mean() < 8


def test_apng_is_lossless_with_alpha(tmp_path, transparent):
    out = export(tmp_path / "poster.png", transparent, FPS)
    with Image.open(out) as image:
        assert image.format == "PNG" and getattr(image, "n_frames", 1) == COUNT
    decoded = decode(out)
    assert decoded.shape == transparent.shape
    expected = transparent.copy()
    expected[expected[..., 3] == 0] = 0  # hidden colour is zeroed, everything else exact
    assert np.array_equal(decoded, expected)


def test_webp_keeps_alpha_and_quality(tmp_path, transparent):
    out = export(tmp_path / "poster.webp", transparent, FPS)
    with Image.open(out) as image:
        assert image.format == "WEBP" and image.n_frames == COUNT and image.mode == "RGBA"
    decoded = decode(out)
    assert decoded.shape == transparent.shape
    assert psnr(decoded[..., 3], transparent[..., 3]) >= 35
    assert visible_psnr(decoded, transparent) >= 35


def test_gif_one_palette_good_quality(tmp_path, opaque):
    out = write_gif(tmp_path / "poster.gif", opaque, FPS)
    with Image.open(out) as image:
        assert image.n_frames == COUNT
    decoded = decode(out)
    assert decoded.shape == opaque.shape
    assert psnr(decoded[..., :3], opaque[..., :3]) >= 28


def test_gif_keeps_binary_transparency(tmp_path, transparent):
    decoded = decode(write_gif(tmp_path / "alpha.gif", transparent, FPS))
    assert set(np.unique(decoded[..., 3])) <= {0, 255}
    expected = transparent[..., 3] >= 128
    assert np.mean((decoded[..., 3] == 255) == expected) > 0.99


def test_png_sequence_zip_and_folder_are_exact(tmp_path, transparent):
    transparent = transparent.copy()
    transparent[transparent[..., 3] == 0] = 0  # what any format stores under alpha 0
    archive_path = export(tmp_path / "frames.zip", transparent, FPS)
    with zipfile.ZipFile(archive_path) as archive:
        names = sorted(archive.namelist())
        assert names == [f"frame_{i:05d}.png" for i in range(COUNT)]
        with archive.open(names[3]) as member:
            assert np.array_equal(np.asarray(Image.open(member)), transparent[3])
    folder = export(tmp_path / "frames", transparent, FPS)
    files = sorted(folder.glob("*.png"))
    assert len(files) == COUNT
    assert np.array_equal(np.asarray(Image.open(files[-1])), transparent[-1])
    export(folder, transparent[:2], FPS)  # re-export replaces stale frames
    assert len(list(folder.glob("*.png"))) == 2


def test_progress_reports_every_frame(tmp_path, opaque):
    calls = []
    export(tmp_path / "p.mp4", opaque, FPS, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, COUNT) for i in range(1, COUNT + 1)]


@pytest.mark.parametrize("quality, x264_subme", [("final", b"subme=7"), ("preview", b"subme=0")])
def test_mp4_quality_picks_the_encoder_speed_and_stays_clean(tmp_path, opaque, quality, x264_subme):
    out = export(tmp_path / f"{quality}.mp4", opaque, FPS, quality=quality)
    decoded = decode(out)
    assert decoded.shape == opaque.shape
    assert psnr(decoded[..., :3], opaque[..., :3]) >= 35
    # x264 stamps its settings into the stream: medium searches sub-pixels; the editor preview's ultrafast does not
    assert x264_subme in out.read_bytes()


@pytest.mark.parametrize("promised", [True, None])
def test_mp4_of_a_stream_known_opaque_skips_the_see_through_scan(tmp_path, opaque, monkeypatch, promised):
    from engine.core.stream import FrameStream
    from engine.export import video

    scanned = []
    real = video.over_background
    monkeypatch.setattr(video, "over_background", lambda frame, color: scanned.append(1) or real(frame, color))
    stream = FrameStream(lambda: iter(opaque), COUNT, opaque.shape[2], opaque.shape[1], opaque=promised)
    decoded = decode(write_mp4(tmp_path / "p.mp4", stream, FPS, quality="preview"))
    assert len(scanned) == (0 if promised else COUNT)
    assert psnr(decoded[..., :3], opaque[..., :3]) >= 35


def test_mp4_max_side_scales_inside_ffmpeg_to_an_even_size(tmp_path, opaque):
    decoded = decode(write_mp4(tmp_path / "small.mp4", opaque[:, :, :155], FPS, quality="preview", max_side=79))
    assert decoded.shape == (COUNT, 60, 78, 4)  # 120×155 scaled by 79/155, floored to even sides
    expected = np.stack([np.asarray(Image.fromarray(f[..., :3]).resize((78, 60), Image.Resampling.BILINEAR))
                         for f in opaque[:, :, :155]])
    assert psnr(decoded[..., :3], expected) >= 30
    with pytest.raises(PosterError, match="at least 2 pixels"):
        write_mp4(tmp_path / "tiny.mp4", opaque, FPS, max_side=1)


@pytest.mark.parametrize("see_through", ["none", "a few pixels", "most pixels"])
def test_flatten_blends_exactly_whatever_the_share_of_see_through_pixels(transparent, see_through):
    from engine.export.frames import flatten, over_background

    frame = transparent[3].copy()
    if see_through != "most pixels":
        frame[..., 3] = 255
    if see_through == "a few pixels":
        frame[40:50, 60:90, 3] = transparent[3, 40:50, 60:90, 3] // 2
    before = frame.copy()
    alpha = frame[..., 3:4].astype(np.uint32)
    expected = (frame[..., :3] * alpha + np.array([30, 200, 90]) * (255 - alpha) + 127) // 255
    assert np.array_equal(flatten(frame, (30, 200, 90)), expected)
    laid = over_background(frame, (30, 200, 90))
    assert np.array_equal(laid[..., :3], expected) and (laid[..., 3] == 255).all()
    assert np.array_equal(frame, before), "the caller's frame is left as it was"


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_an_unknown_quality_is_refused(tmp_path, opaque, suffix):
    with pytest.raises(PosterError, match="Unknown export quality 'best'.*draft, standard, high"):
        export(tmp_path / f"poster{suffix}", opaque, FPS, quality="best")
    with pytest.raises(PosterError, match="Unknown export quality"):
        write_mp4(tmp_path / "poster.mp4", opaque, FPS, quality="Preview")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "name, frames, match",
    [
        ("missing/poster.mp4", None, "does not exist"),
        ("poster.avi", None, "not a format"),
        ("poster.mp4", np.zeros((0, 8, 8, 4), np.uint8), "no frames"),
        ("poster.gif", np.zeros((2, 8, 8, 4), np.float32), "8-bit"),
    ],
)
def test_bad_requests_get_a_sentence(tmp_path, opaque, name, frames, match):
    with pytest.raises(PosterError, match=match):
        export(tmp_path / name, opaque if frames is None else frames, FPS)


@pytest.mark.parametrize(
    "suffix, decoder, size",
    [(".mp4", None, (22, 34)), (".webm", "libvpx-vp9", (22, 34)), (".mov", None, (21, 33)),
     (".gif", None, (21, 33)), (".png", None, (21, 33)), (".webp", None, (21, 33))],
)
def test_odd_sizes_encode_in_every_format(tmp_path, suffix, decoder, size):
    frames = poster_frames(3, 21, 33, transparent=True)
    decoded = decode(export(tmp_path / f"odd{suffix}", frames, FPS), decoder)
    assert decoded.shape == (3, *size, 4)


def test_a_read_only_folder_is_refused(tmp_path, opaque):
    # /sys is read-only for every user, root included, on Linux
    with pytest.raises(PosterError, match="does not accept new files|Cannot write into the folder"):
        export("/sys/poster.mp4", opaque, FPS)


def test_a_file_in_place_of_the_folder_is_refused(tmp_path, opaque):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(PosterError, match="is a file"):
        export(tmp_path / "notes.txt" / "poster.mp4", opaque, FPS)


def test_failed_export_keeps_the_previous_file(tmp_path, opaque):
    target = tmp_path / "poster.mp4"
    write_mp4(target, opaque, FPS)
    before = target.read_bytes()

    def interrupt(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_mp4(target, opaque[::-1].copy(), FPS, progress=interrupt)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poster.mp4"]


def sun_clip(poster, count: int) -> LayerClip:
    """The tiny poster's sun bobbing down and back inside a taller motion box."""
    sun = poster.layer("Sun")
    box = Box(sun.box.x, sun.box.y, sun.box.w, sun.box.h + 6)
    first = place_static(sun, box)
    frames = np.stack([np.roll(first, shift, axis=0) for shift in [0, 1, 2, 3, 4, 5, 4, 3][:count]])
    return LayerClip(layer_id=sun.id, box=box, frames=frames, preset="bounce", params={"amplitude": np.float32(5.0)})


def paint(canvas: np.ndarray, pixels: np.ndarray, x: int, y: int, opacity: float) -> None:
    """Normal blend of straight-alpha `pixels` onto a float straight-alpha canvas at (x, y)."""
    region = canvas[y : y + pixels.shape[0], x : x + pixels.shape[1]]
    alpha = pixels[..., 3:4] / 255 * opacity
    region[..., :3] = pixels[..., :3] * alpha + region[..., :3] * (1 - alpha)
    region[..., 3:4] = 255 * alpha + region[..., 3:4] * (1 - alpha)


def flat_frames(poster, clip: LayerClip, count: int) -> np.ndarray:
    """A stand-in for the compositor: normal-blend every layer in paint order, straight alpha."""
    frames = np.zeros((count, poster.height, poster.width, 4), np.float64)
    for t in range(count):
        canvas = frames[t]
        for layer in poster.layers:
            pixels, box = (clip.frame(t), clip.box) if layer.id == clip.layer_id else (layer.pixels, layer.box)
            paint(canvas, pixels.astype(np.float64), box.x, box.y, layer.opacity)
    return np.round(frames).astype(np.uint8)


def test_layered_bundle_rebuilds_the_composition(tmp_path, tiny_poster):
    tiny_poster.layers.append(Layer(id=9, name="Empty Guide", pixels=np.zeros((0, 0, 4), np.uint8), box=Box(0, 0, 0, 0),
                                    group_path=("Guides",), visible=False))
    count = 8
    clip = sun_clip(tiny_poster, count)
    frames = flat_frames(tiny_poster, clip, count)
    steps = []
    out = export(
        tmp_path / "bundle.zip", lambda: frames, FPS, poster=tiny_poster, clips={clip.layer_id: clip},
        progress=lambda done, total: steps.append((done, total)),
    )
    assert steps[-1][0] == steps[-1][1]
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        archive.extractall(tmp_path / "unzipped")
    root = tmp_path / "unzipped"
    assert manifest["canvas"] == {"width": 64, "height": 48}
    assert manifest["fps"] == FPS and manifest["frames"] == count
    assert [entry["name"] for entry in manifest["layers"]] == ["Background", "Sun", "Title", "Empty Guide"]
    assert [entry["z"] for entry in manifest["layers"]] == [0, 1, 2, 3]
    background, sun, title, guide = manifest["layers"]
    assert guide["files"] == {} and guide["visible"] is False and guide["group_path"] == ["Guides"]
    assert manifest["groups"] == [{"path": ["Guides"], "layer_ids": [9]}]
    assert not background["animated"] and background["box"] == {"x": 0, "y": 0, "w": 64, "h": 48}
    assert title["kind"] == "text" and title["text"] == "HI"
    assert sun["animated"] and sun["motion_box"] == {"x": 8, "y": 8, "w": 16, "h": 22}
    assert sun["motion"]["preset"] == "bounce" and sun["motion"]["params"] == {"amplitude": 5.0}
    assert sun["blend_mode"] == "normal" and sun["opacity"] == 1.0

    assert np.array_equal(np.asarray(Image.open(root / title["files"]["png"])), tiny_poster.layer("Title").pixels[..., :3])
    preview = decode(root / manifest["preview"])
    assert preview.shape == (count, 48, 64, 4)
    # hard-edged saturated squares lose some colour to 4:2:0 chroma; quality is measured above
    assert psnr(preview[..., :3], frames[..., :3]) >= 30

    webm = decode(root / sun["files"]["webm"], "libvpx-vp9")
    mov = decode(root / sun["files"]["mov"])
    sequence = sorted((root / sun["files"]["png_sequence"]).glob("frame_*.png"))
    assert webm.shape == mov.shape == (count, 22, 16, 4)
    assert len(sequence) == count
    assert np.array_equal(np.asarray(Image.open(sequence[5])), clip.frames[5])
    for decoded in (webm, mov):
        assert psnr(decoded[..., 3], clip.frames[..., 3]) >= 35


def test_bundle_manifest_alone_rebuilds_the_frames(tmp_path, tiny_poster):
    """Place every file where the manifest says, in its z-order: the flat frames come back."""
    count = 6
    clip = sun_clip(tiny_poster, count)
    frames = flat_frames(tiny_poster, clip, count)
    with zipfile.ZipFile(export(tmp_path / "b.zip", frames, FPS, poster=tiny_poster, clips={2: clip})) as archive:
        archive.extractall(tmp_path / "b")
    root = tmp_path / "b"
    manifest = json.loads((root / "manifest.json").read_text())
    rebuilt = np.zeros((count, manifest["canvas"]["height"], manifest["canvas"]["width"], 4), np.float64)
    for t in range(count):
        for entry in sorted(manifest["layers"], key=lambda e: e["z"]):
            if entry["animated"]:
                box = entry["motion_box"]
                sequence = root / entry["files"]["png_sequence"]
                pixels = np.asarray(Image.open(sequence / f"frame_{t:05d}.png").convert("RGBA"), np.float64)
            else:
                box = entry["box"]
                pixels = np.asarray(Image.open(root / entry["files"]["png"]).convert("RGBA"), np.float64)
            assert pixels.shape[:2] == (box["h"], box["w"])
            paint(rebuilt[t], pixels, box["x"], box["y"], entry["opacity"])
    assert np.array_equal(np.round(rebuilt).astype(np.uint8), frames)


def test_bundle_refuses_clips_for_unknown_layers(tmp_path, tiny_poster):
    clip = sun_clip(tiny_poster, 4)
    clip.layer_id = 99
    with pytest.raises(PosterError, match="no layer with id 99"):
        write_bundle(tmp_path / "b.zip", tiny_poster, {99: clip}, flat_frames(tiny_poster, sun_clip(tiny_poster, 4), 4), FPS)
    assert not (tmp_path / "b.zip").exists()


def test_engine_export_is_a_plain_package_whatever_was_imported_first(tmp_path, opaque):
    import types

    import engine
    import engine.export.video  # binds the package to engine.export

    assert type(engine.export) is types.ModuleType  # no callable-module trick
    out = engine.export.export(tmp_path / "frames.zip", opaque[:2], FPS)
    with zipfile.ZipFile(out) as archive:
        assert len(archive.namelist()) == 2


def test_a_format_is_chosen_by_key_whatever_the_file_is_called(tmp_path, opaque, tiny_poster):
    out = export(tmp_path / "anything.zip", opaque[:2], FPS, format="png-seq", poster=tiny_poster)
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["frame_00000.png", "frame_00001.png"]
    with pytest.raises(PosterError, match="'avi' is not an export format; use one of mp4, gif"):
        export(tmp_path / "x.mp4", opaque, FPS, format="avi")
    with pytest.raises(PosterError, match="layered bundle is made from the poster"):
        export(tmp_path / "x.zip", opaque, FPS, format="layered")


def test_extensions_map_to_formats_through_the_table():
    assert format_for_path("a.MP4", layered=False).key == "mp4"
    assert format_for_path("a.apng", layered=False).key == "apng"
    assert format_for_path("a.zip", layered=True).key == "layered"
    assert format_for_path("a.zip", layered=False).key == "png-seq"
    assert format_for_path("frames", layered=True).key == "png-folder"
    keys = [f.key for f in FORMATS]
    assert len(set(keys)) == len(keys)
    assert len({f.file_name("p") for f in FORMATS}) == len(FORMATS), "two formats would overwrite each other"


def test_readme_lists_exactly_the_formats_of_the_table():
    from tests.helpers.paths import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    start, end = "<!-- formats: generated from engine.export.formats -->", "<!-- /formats -->"
    listed = readme.split(start, 1)[1].split(end, 1)[0].strip()
    assert listed == markdown_table()
    assert [row.split("`")[1] for row in listed.splitlines()[2:]] == [f.key for f in FORMATS]


def test_every_format_writes_a_poster_stream(tmp_path, tiny_poster):
    """The exporters consume the compositor's stream (one reused buffer) and write what the
    in-memory frames would give."""
    from engine.render.compositor import poster_stream, render

    clip = sun_clip(tiny_poster, 4)
    stream = poster_stream(tiny_poster, [clip], fps=FPS)
    frames = render(tiny_poster, [clip])
    for export_format in FORMATS:
        path = tmp_path / export_format.file_name("poster")
        extra = {"poster": tiny_poster, "clips": {clip.layer_id: clip}} if export_format.layered else {}
        assert export(path, stream, FPS, format=export_format.key, **extra).exists()
    assert np.array_equal(decode(tmp_path / "poster.png"), frames)  # APNG is lossless
    with zipfile.ZipFile(tmp_path / "poster-frames.zip") as archive:
        first = np.asarray(Image.open(archive.open("frame_00003.png")).convert("RGBA"))
    assert np.array_equal(first, frames[3])


def test_a_wrong_folder_is_reported_before_rendering(tmp_path):
    renders = []

    def render() -> np.ndarray:
        renders.append(1)
        return poster_frames(2, 8, 8)

    with pytest.raises(PosterError, match="does not exist"):
        export(tmp_path / "missing" / "poster.webm", render, FPS)
    assert renders == []
    assert export(tmp_path / "poster.webm", render, FPS).exists() and renders == [1]


def test_sample_poster_imports_renders_and_bundles(tmp_path):
    """The newcomer's path end to end: sample PSD -> load_psd -> compositor -> bundle."""
    from tests.helpers.paths import ASSETS_DIR
    from engine import load_psd
    from engine.render.compositor import render

    poster = load_psd(ASSETS_DIR / "samples" / "balloon.psd")
    balloon = poster.layer("Balloon")
    box = balloon.box.expand(top=12)
    first = place_static(balloon, box)
    clip = LayerClip(balloon.id, box, np.stack([np.roll(first, -4 * t, axis=0) for t in range(3)]), preset="float")
    frames = render(poster, {balloon.id: clip}, 3)
    out = export(tmp_path / "balloon.zip", frames, FPS, poster=poster, clips={balloon.id: clip})
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        archive.extract(next(e for e in manifest["layers"] if e["animated"])["files"]["webm"], tmp_path)
        archive.extract("preview.mp4", tmp_path)
    assert [e["name"] for e in manifest["layers"]] == [layer.name for layer in poster.layers]
    assert {e["blend_mode"] for e in manifest["layers"]} >= {"multiply", "screen", "overlay"}
    animated = [e for e in manifest["layers"] if e["animated"]]
    assert [e["name"] for e in animated] == ["Balloon"]
    assert box.h % 2 == 1 and animated[0]["webm_size"] == {"w": box.w + box.w % 2, "h": box.h + 1}
    webm = decode(tmp_path / animated[0]["files"]["webm"], "libvpx-vp9")
    assert webm.shape == (3, box.h + box.h % 2, box.w + box.w % 2, 4)  # odd sizes gain a line
    assert psnr(webm[:, : box.h, : box.w, 3], clip.frames[..., 3]) >= 35
    assert (webm[:, box.h :, :, 3] <= 2).all(), "the added line is transparent"
    preview = decode(tmp_path / "preview.mp4")
    assert preview.shape == (3, 1350, 1080, 4)
    assert psnr(preview[..., :3], frames[..., :3]) >= 35
