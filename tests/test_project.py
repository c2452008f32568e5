"""Project files: lossless round trips, clear errors on bad files, atomic saves."""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict

import numpy as np
import pytest

import engine.core.projectfile as project_module
from engine import PosterError
from engine.core.clip import LayerClip
from engine.core.poster import Box, Layer, LayerKind, Poster
from engine.core.project import Motion, Project, Timeline
from engine.core.projectfile import load_project, save_project
from engine.core.schema import SCHEMA_VERSION


def random_pixels(rng: np.random.Generator, box: Box) -> np.ndarray:
    """Noise in every channel, alpha included: any premultiplication or rounding shows."""
    return rng.integers(0, 256, (box.h, box.w, 4), dtype=np.uint8)


@pytest.fixture
def project(tiny_poster) -> Project:
    rng = np.random.default_rng(7)
    extra = [
        Layer(id=4, name="Cloud A", pixels=random_pixels(rng, Box(3, 2, 11, 7)), box=Box(3, 2, 11, 7),
              group_path=("Sky", "Clouds"), opacity=0.55, blend_mode="screen"),
        Layer(id=5, name="Shadow", pixels=random_pixels(rng, Box(0, 40, 64, 8)), box=Box(0, 40, 64, 8),
              blend_mode="multiply", visible=False, kind=LayerKind.BAKED, unsupported=("drop shadow",)),
        Layer(id=6, name="Empty", pixels=np.zeros((0, 0, 4), np.uint8), box=Box(5, 5, 0, 0)),
        Layer(id=7, name="Tagline", pixels=random_pixels(rng, Box(1, 1, 9, 3)), box=Box(1, 1, 9, 3),
              kind=LayerKind.TEXT, text="Fly ✈ high", fonts=("Inter-Bold",), group_path=("Sky",)),
    ]
    poster = Poster(width=64, height=48, name="tiny", layers=[*tiny_poster.layers, *extra], unsupported=["smart filter"])
    clip_box = Box(8, 6, 16, 20)
    clips = {
        2: LayerClip(layer_id=2, box=clip_box, frames=rng.integers(0, 256, (5, 20, 16, 4), dtype=np.uint8),
                     preset="float", params={"amplitude": 4.5, "pivot": [0.5, 1.0]}, messages=["used float"]),
        4: LayerClip(layer_id=4, box=Box(0, 0, 20, 12), frames=rng.integers(0, 256, (3, 12, 20, 4), dtype=np.uint8),
                     engine="dmdl"),
    }
    motions = [
        Motion(layer_ids=[2], prompt="the sun bobs", params={"preset": "float", "amplitude": 4.5, "pivot": [0.5, 1.0]},
               box=clip_box, seed=11, start=2, loop="pingpong", planned_by="llm", rationale="room to bob",
               box_sized=True),
        Motion(layer_ids=[4, 7], engine="dmdl", prompt="clouds drift", group="Sky", seed=3),
    ]
    return Project(poster=poster, timeline=Timeline(fps=12, frames=30), motions=motions, clips=clips,
                   source="/posters/tiny.psd")


def assert_same_project(loaded: Project, original: Project) -> None:
    assert loaded.timeline == original.timeline
    assert loaded.motions == original.motions
    assert loaded.source == original.source
    assert (loaded.poster.width, loaded.poster.height, loaded.poster.name, loaded.poster.unsupported) == (
        original.poster.width, original.poster.height, original.poster.name, original.poster.unsupported)
    assert len(loaded.poster.layers) == len(original.poster.layers)
    for got, want in zip(loaded.poster.layers, original.poster.layers):
        fields_got = {k: v for k, v in asdict(got).items() if k != "pixels"}
        fields_want = {k: v for k, v in asdict(want).items() if k != "pixels"}
        assert fields_got == fields_want
        assert got.pixels.dtype == np.uint8 and np.array_equal(got.pixels, want.pixels)
    assert loaded.clips.keys() == original.clips.keys()
    for layer_id, clip in original.clips.items():
        got = loaded.clips[layer_id]
        assert (got.box, got.engine, got.preset, got.params, got.messages) == (
            clip.box, clip.engine, clip.preset, clip.params, clip.messages)
        assert np.array_equal(got.frames, clip.frames)


def test_round_trip_is_pixel_exact(tmp_path, project):
    path = save_project(project, tmp_path / "tiny.posterproj")
    assert_same_project(load_project(path), project)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("project.json"))
        assert manifest["schema_version"] == SCHEMA_VERSION
        assert not any(name.endswith((".pkl", ".pickle")) for name in archive.namelist())


def test_saving_again_replaces_the_file(tmp_path, project):
    path = tmp_path / "p.posterproj"
    save_project(project, path)
    project.timeline = Timeline(fps=24, frames=49)
    project.clips.pop(4)
    save_project(project, path)
    loaded = load_project(path)
    assert loaded.timeline.frames == 49 and set(loaded.clips) == {2}
    assert [p.name for p in tmp_path.iterdir()] == ["p.posterproj"]


def rewrite_manifest(source, target, change) -> None:
    """Copy a project zip, passing its manifest through `change` (to forge bad files)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "project.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            new.writestr(info, data)


def test_newer_schema_is_refused_with_a_clear_sentence(tmp_path, project):
    good = save_project(project, tmp_path / "good.posterproj")
    rewrite_manifest(good, tmp_path / "new.posterproj", lambda m: m.update(schema_version=SCHEMA_VERSION + 1))
    with pytest.raises(PosterError, match="newer version of the editor"):
        load_project(tmp_path / "new.posterproj")


def test_payload_that_disagrees_with_the_manifest_is_damaged(tmp_path, project):
    good = save_project(project, tmp_path / "good.posterproj")

    def shrink_clip(manifest):
        manifest["clips"][0]["frame_count"] = 4

    rewrite_manifest(good, tmp_path / "bad.posterproj", shrink_clip)
    with pytest.raises(PosterError, match="damaged"):
        load_project(tmp_path / "bad.posterproj")


def test_foreign_files_are_refused(tmp_path):
    foreign_zip = tmp_path / "photos.zip"
    with zipfile.ZipFile(foreign_zip, "w") as archive:
        archive.writestr("photo.txt", "hello")
    with pytest.raises(PosterError, match="not a poster project"):
        load_project(foreign_zip)
    other_json = tmp_path / "other.zip"
    with zipfile.ZipFile(other_json, "w") as archive:
        archive.writestr("project.json", json.dumps({"format": "something-else", "schema_version": 1}))
    with pytest.raises(PosterError, match="not a poster project"):
        load_project(other_json)
    text = tmp_path / "notes.posterproj"
    text.write_text("just some text")
    with pytest.raises(PosterError, match="damaged"):
        load_project(text)
    with pytest.raises(PosterError, match="no project file"):
        load_project(tmp_path / "missing.posterproj")


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_truncated_file_is_damaged(tmp_path, project, keep):
    path = save_project(project, tmp_path / "p.posterproj")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(PosterError, match="damaged or incomplete"):
        load_project(path)


def test_flipped_bytes_inside_a_layer_are_detected(tmp_path, project):
    path = save_project(project, tmp_path / "p.posterproj")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("layers/5.png")
    data = bytearray(path.read_bytes())
    header = 30 + len(info.filename.encode()) + len(info.extra)
    middle = info.header_offset + header + info.compress_size // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(PosterError, match="damaged"):
        load_project(path)


def test_failed_save_keeps_the_previous_project(tmp_path, project, monkeypatch):
    path = save_project(project, tmp_path / "p.posterproj")
    before = path.read_bytes()

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project_module, "write_clip_frames", disk_full)  # the clips are written last
    project.poster.name = "changed"
    with pytest.raises(PosterError, match="No space left on device.*previous file is unchanged"):
        save_project(project, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.posterproj"]
    monkeypatch.undo()
    assert load_project(path).poster.name == "tiny"


def test_unsaveable_settings_and_bad_places_get_a_sentence(tmp_path, project):
    with pytest.raises(PosterError, match="does not exist"):
        save_project(project, tmp_path / "nowhere" / "p.posterproj")
    project.motions[0].params["callback"] = print
    with pytest.raises(PosterError, match="cannot be saved"):
        save_project(project, tmp_path / "p.posterproj")
    assert not (tmp_path / "p.posterproj").exists()


def test_motions_and_projects_check_what_they_refer_to(tiny_poster):
    with pytest.raises(PosterError, match="Loop mode"):
        Motion(layer_ids=[2], loop="bounce-forever")
    with pytest.raises(PosterError, match="layer 9"):
        Project(poster=tiny_poster, motions=[Motion(layer_ids=[9])])
    with pytest.raises(PosterError, match="at least one frame"):
        Timeline(fps=24, frames=0)
