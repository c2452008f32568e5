"""Export options (size, quality, fps, plays) and one render for several formats, on real files.

Loop counts are read with Pillow from the files themselves: the GIF's NETSCAPE2.0
application extension (Pillow's `info["loop"]`, absent when the GIF has none, i.e. plays
once), APNG's acTL num_plays and WebP's ANIM loop count. Sizes and frame rates are what
the bundled ffmpeg reports (`ffmpeg -i`) and decodes.
"""

from __future__ import annotations

import re
import subprocess
import zipfile

import numpy as np
import pytest
from PIL import Image

from engine import PosterError
from engine.export import ExportOptions, export, export_many
from engine.export.estimate import describe_bytes, estimate_gif_bytes
from engine.export.ffmpeg import ffmpeg_exe
from engine.export.formats import export_format
from engine.export.options import Fit, frame_picks, parse_size
from tests.helpers.video_decode import decode, poster_frames, psnr

FPS = 12
COUNT = 12


@pytest.fixture(scope="module")
def opaque() -> np.ndarray:
    return poster_frames(COUNT, 120, 160)


def ffmpeg_reports(path) -> tuple[int, int, float]:
    """(width, height, fps) of the video stream as `ffmpeg -i` prints it."""
    text = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    match = re.search(r"Video: .*?, (\d+)x(\d+)[ ,].*?([\d.]+) fps", text)
    assert match, text
    return int(match.group(1)), int(match.group(2)), float(match.group(3))


def loop_info(path) -> int | None:
    with Image.open(path) as image:
        return image.info.get("loop")


def test_gif_options_change_size_frames_and_loop_count(tmp_path, opaque):
    sizes, quality = {}, {}
    for level in ("draft", "standard", "high"):
        out = export(tmp_path / f"{level}.gif", opaque, FPS, options=ExportOptions(quality=level))
        sizes[level], quality[level] = out.stat().st_size, psnr(decode(out)[..., :3], opaque[..., :3])
    assert sizes["draft"] < 0.6 * sizes["standard"], sizes  # 64 colours, ordered dither
    assert 26 <= quality["draft"] < quality["standard"] <= quality["high"], quality

    forever = tmp_path / "standard.gif"
    assert loop_info(forever) == 0
    thrice = export(tmp_path / "thrice.gif", opaque, FPS, options=ExportOptions(plays=3))
    assert loop_info(thrice) == 2  # NETSCAPE counts repeats after the first play
    once = export(tmp_path / "once.gif", opaque, FPS, options=ExportOptions(plays=1))
    assert loop_info(once) is None  # no NETSCAPE extension: browsers play it once

    small = export(tmp_path / "small.gif", opaque, FPS, options=ExportOptions(size="half", fps=FPS / 2))
    with Image.open(small) as image:
        assert image.size == (80, 60) and image.n_frames == COUNT // 2
        assert image.info["duration"] == pytest.approx(1000 * 2 / FPS, abs=10)
    assert small.stat().st_size < sizes["standard"] / 2


@pytest.mark.parametrize("key", ["apng", "webp"])
def test_apng_and_webp_carry_the_loop_count(tmp_path, opaque, key):
    path = tmp_path / export_format(key).file_name("poster")
    assert loop_info(export(path, opaque[:3], FPS, format=key, options=ExportOptions(plays=2))) == 2
    assert loop_info(export(path, opaque[:3], FPS, format=key)) == 0


def test_size_fps_and_quality_change_what_ffmpeg_reports(tmp_path, opaque):
    options = ExportOptions(size="custom", custom=(200, 100), fps=6, quality="draft")
    out = export(tmp_path / "story.mp4", opaque, FPS, options=options, background="#102030")
    assert ffmpeg_reports(out) == (200, 100, 6.0)
    decoded = decode(out)
    assert decoded.shape[0] == COUNT // 2
    fit = Fit.of(160, 120, (200, 100))  # fitted inside: 133×100, bars left and right
    assert fit.inner == (133, 100) and fit.offset == (33, 0)
    assert np.abs(decoded[:, :, :28, :3].astype(int) - [0x10, 0x20, 0x30]).max() <= 6, "bars are the background"
    expected = np.stack([np.asarray(Image.fromarray(f).resize(fit.inner, Image.Resampling.LANCZOS))
                         for f in opaque[::2]])
    assert psnr(decoded[:, :, 33:166, :3], expected[..., :3]) >= 28

    draft, high = (export(tmp_path / f"{q}.mp4", opaque, FPS, quality=q) for q in ("draft", "high"))
    assert b"crf=26.0" in draft.read_bytes() and b"crf=14.0" in high.read_bytes()
    assert draft.stat().st_size < high.stat().st_size

    webm = export(tmp_path / "alpha.webm", opaque, FPS, options=ExportOptions(size="half"))
    assert ffmpeg_reports(webm)[:2] == (80, 60)


def test_bad_options_get_a_sentence(opaque, tmp_path):
    with pytest.raises(PosterError, match="at most 12"):
        export(tmp_path / "p.mp4", opaque, FPS, options=ExportOptions(fps=24))
    with pytest.raises(PosterError, match="not an export size"):
        parse_size("huge")
    with pytest.raises(PosterError, match="16 to 8192"):
        parse_size("10x5000")
    assert parse_size("1080×1920") == ("1080x1920", None) and parse_size("1200x628") == ("custom", (1200, 628))
    with pytest.raises(PosterError, match="forever"):
        ExportOptions(plays=-1)
    assert frame_picks(6, 24, 12) == [0, 2, 4] and frame_picks(5, 10, 10) == [0, 1, 2, 3, 4]
    assert not list(tmp_path.iterdir())


def test_one_export_of_several_formats_renders_once(tmp_path, tiny_poster, monkeypatch):
    """MP4 + GIF (at half the rate) + layered bundle: every frame drawn once, and each file
    is what exporting that format alone gives."""
    from engine.render import compositor
    from tests.test_export import sun_clip

    clip = sun_clip(tiny_poster, 8)
    drawn: list[int] = []
    draw = compositor._Plan.draw_frame
    monkeypatch.setattr(compositor._Plan, "draw_frame",
                        lambda plan, index, out: (drawn.append(index), draw(plan, index, out))[1])
    options = ExportOptions(fps=FPS / 2, plays=2)
    keys = ("mp4", "gif", "layered")
    targets = [(tmp_path / "together" / export_format(k).file_name("poster"), export_format(k)) for k in keys]
    (tmp_path / "together").mkdir()
    stream = compositor.poster_stream(tiny_poster, [clip], 8, fps=FPS)
    written = export_many(targets, stream, FPS, options=options, poster=tiny_poster,
                          clips={clip.layer_id: clip}, progress=lambda done, total: None)
    assert sorted(drawn) == list(range(8)), "each frame drawn once for three formats"

    drawn.clear()
    (tmp_path / "alone").mkdir()
    gif_alone = export(tmp_path / "alone" / "poster.gif", stream, FPS, options=options)
    assert drawn == [0, 2, 4, 6], "a 6 fps GIF draws only the frames it keeps"
    assert written[1].read_bytes() == gif_alone.read_bytes()
    assert loop_info(written[1]) == 1
    assert decode(written[0]).shape[0] == 4
    with zipfile.ZipFile(written[2]) as archive:
        assert "manifest.json" in archive.namelist() and any(n.endswith(".webm") for n in archive.namelist())


def test_an_in_memory_video_with_transparency_feeds_several_formats(tmp_path):
    frames = poster_frames(4, 40, 56, transparent=True)
    targets = [(tmp_path / export_format(k).file_name("p"), export_format(k)) for k in ("gif", "webp", "mp4")]
    gif, webp, mp4 = export_many(targets, frames, FPS)
    assert set(np.unique(decode(gif)[..., 3])) == {0, 255}, "the GIF keeps its 1-bit transparency"
    with Image.open(webp) as image:
        assert image.mode == "RGBA"
    assert (decode(mp4)[..., 3] == 255).all()


def test_a_render_failing_midway_stops_every_encoder_and_leaves_no_files(tmp_path, opaque):
    from engine.core.stream import FrameStream

    def frames():
        for index, frame in enumerate(opaque):
            if index == 5:
                raise PosterError("The clip of layer 3 could not be read: animate it again.")
            yield frame

    stream = FrameStream(frames, COUNT, 160, 120, opaque=True)
    targets = [(tmp_path / export_format(k).file_name("p"), export_format(k)) for k in ("mp4", "gif", "webm")]
    with pytest.raises(PosterError, match="layer 3 could not be read"):
        export_many(targets, stream, FPS)
    assert not list(tmp_path.iterdir())


def test_gif_size_is_estimated_from_a_short_sample(tmp_path, opaque):
    frames = np.concatenate([opaque, opaque[::-1]] * 2)  # 48 frames
    options = ExportOptions(quality="standard")
    guess = estimate_gif_bytes(frames, FPS, options)
    actual = export(tmp_path / "p.gif", frames, FPS, options=options).stat().st_size
    assert 0.7 < guess / actual < 1.3, (guess, actual)
    assert describe_bytes(4_149_000) == "4.1 MB" and describe_bytes(380_400) == "380 KB"


def test_readme_lists_the_option_tables():
    from engine.export.options import markdown_tables
    from tests.helpers.paths import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    start, end = "<!-- export options: generated from engine.export.options -->", "<!-- /export options -->"
    assert readme.split(start, 1)[1].split(end, 1)[0].strip() == markdown_tables()
