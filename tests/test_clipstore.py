"""Stored clips: frames written one at a time, compressed, and read back lazily and exactly."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from engine.core.clip import LayerClip
from engine.core.clipstore import StoredSource, load_clip_file, save_clip_file
from engine.core.poster import Box, Layer, Poster, PosterError
from engine.core.project import Project, Timeline
from engine.core.projectfile import load_project, save_project
from engine.motion.presets import PresetAnimator
from tests.helpers.motion import animate_one, preset_request


@pytest.fixture
def lazy_clip_and_poster():
    rng = np.random.default_rng(8)
    background = Layer(1, "bg", np.full((80, 120, 4), 255, np.uint8), Box(0, 0, 120, 80))
    pixels = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    sprite = Layer(2, "sprite", pixels, Box(40, 30, 30, 20))
    poster = Poster(120, 80, [background, sprite], name="store")
    clip = animate_one(PresetAnimator(), preset_request("bob", layer=sprite, box=Box(20, 10, 70, 60), frames=9))
    clip.loop_mode = "hold"
    return clip, poster


def test_a_project_stores_a_lazy_clip_frame_by_frame_and_reads_it_back_lazily(
    tmp_path, lazy_clip_and_poster, monkeypatch
):
    clip, poster = lazy_clip_and_poster
    expected = [clip.frame(i).copy() for i in range(clip.frame_count)]

    def whole_clip(self):
        raise AssertionError("saving must not stack the whole clip")

    monkeypatch.setattr(LayerClip, "frames", property(whole_clip))
    path = save_project(Project(poster, Timeline(fps=12, frames=9), clips={2: clip}), tmp_path / "p.posterproj")
    with zipfile.ZipFile(path) as archive:
        members = [info for info in archive.infolist() if info.filename.startswith("clips/")]
    frame_bytes = clip.box.w * clip.box.h * 4
    assert len(members) == 9 and all(info.file_size == frame_bytes for info in members)
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in members)
    assert sum(info.compress_size for info in members) < 0.6 * 9 * frame_bytes
    loaded = load_project(path).clips[2]
    assert isinstance(loaded.source, StoredSource) and loaded.loop_mode == "hold"
    for i in (4, 0, 8, 3):
        np.testing.assert_array_equal(loaded.frame(i), expected[i])
    np.testing.assert_array_equal(loaded.frame(20), expected[8])  # holds the last frame


def test_a_clip_file_round_trips_with_its_settings(tmp_path, lazy_clip_and_poster):
    clip, _ = lazy_clip_and_poster
    clip.messages.append("a note")
    loaded = load_clip_file(save_clip_file(tmp_path / "clip-2.zip", clip))
    assert (loaded.layer_id, loaded.box, loaded.preset, loaded.messages, loaded.loop_mode) == (
        2, clip.box, "bob", clip.messages, "hold")
    assert loaded.params == clip.params
    for i in range(clip.frame_count):
        np.testing.assert_array_equal(loaded.frame(i), clip.frame(i))


def test_a_damaged_stored_frame_is_a_sentence_not_a_crash(tmp_path, lazy_clip_and_poster):
    clip, _ = lazy_clip_and_poster
    path = save_clip_file(tmp_path / "clip.zip", clip)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("frames/00005.rgba")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    loaded = load_clip_file(path)
    np.testing.assert_array_equal(loaded.frame(1), clip.frame(1))
    with pytest.raises(PosterError, match="damaged"):
        loaded.frame(5)
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(PosterError, match="damaged"):
        load_clip_file(path)
