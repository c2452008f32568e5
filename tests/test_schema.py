"""One schema for project files, autosave and bundle manifests: migrations, round trips, refusals.

The schema-1 fixtures under tests/fixtures/old-schema were written by the code of commit
376c9c8 (see the README there), so these tests check what old files really hold.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.persist import MANIFEST as AUTOSAVE_MANIFEST
from app.persist import autosave, restore, save_clip
from app.session import Session, SessionStore
from app.state import EditorState
from engine.core import schema
from engine.core.clip import LayerClip
from engine.core.poster import Box, LayerKind, PosterError
from engine.core.project import Motion, Project, Timeline
from engine.core.projectfile import load_project, save_project
from engine.export.bundle import read_manifest, write_bundle

OLD = Path(__file__).resolve().parent / "fixtures" / "old-schema"
TOKEN = "0" * 32


def old_clip_frames() -> np.ndarray:
    with np.load(OLD / "v1-session" / "autosave" / "clip-2.npz", allow_pickle=False) as data:
        return data["frames"].copy()


# --------------------------------------------------------------------------- old files open


def test_a_schema_1_project_opens_with_motions_boxes_presets_and_clips():
    project = load_project(OLD / "v1.posterproj")
    assert project.timeline == Timeline(fps=12, frames=6)
    assert project.source == "sample:old-tiny.psd"
    poster = project.poster
    assert (poster.name, poster.width, poster.height, poster.unsupported) == ("old-tiny", 32, 24, ["drop shadow"])
    assert [layer.name for layer in poster.layers] == ["Background", "Sun", "Cloud A", "Title"]
    title = poster.layer("Title")
    assert (title.kind, title.text, title.fonts, title.group_path, title.box) == (
        LayerKind.TEXT, "Hi", ("Inter-Bold",), ("Sky",), Box(22, 12, 7, 5))
    sun = poster.layer("Sun")
    assert (sun.opacity, sun.blend_mode) == (0.8, "screen") and sun.pixels.shape == (8, 8, 4)
    assert project.motions == [
        Motion(layer_ids=[2], prompt="the sun floats", params={"preset": "float", "amplitude": 0.4, "cycles": 1},
               box=Box(2, 2, 12, 12), seed=5, phase="loop", start=2, loop="loop"),
        Motion(layer_ids=[3, 4], prompt="they wave together", group="Sky", seed=1, phase="loop", start=0),
    ]
    assert project.motions[0].preset == "float" and project.motions[1].preset == "auto"
    clip = project.clips[2]
    assert (clip.box, clip.engine, clip.preset, clip.params, clip.messages) == (
        Box(2, 2, 12, 12), "presets", "float", {"amplitude": 0.4, "cycles": 1}, ["used float"])
    assert np.array_equal(clip.frames, old_clip_frames())


def test_a_schema_1_autosave_restores_into_the_editor(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(OLD / "v1-session", data / "sessions" / TOKEN)
    session, restored = SessionStore(data, restore=restore).open(TOKEN)
    assert restored
    state = session.state
    assert state.source_name == "project:v1.posterproj" and state.poster.name == "old-tiny"
    assert (state.fps, state.frames, state.duration_s) == (12, 6, 0.5)
    assert state.selection == [2, 4] and state.active == 4
    sun, cloud, title = state.motion(2), state.motion(3), state.motion(4)
    assert (sun.preset, sun.params, sun.box, sun.seed, sun.start, sun.box_sized) == (
        "float", {"preset": "float", "amplitude": 0.4, "cycles": 1}, Box(2, 2, 12, 12), 5, 2, True)
    assert (cloud.prompt, cloud.group, cloud.preset, cloud.box) == ("they wave together", "Sky", "auto", None)
    assert (title.prompt, title.preset, title.params, title.box, title.seed, title.group) == (
        "the title bobs", "bounce", {"preset": "bounce", "amplitude": 0.7}, Box(20, 10, 11, 9), 2, None)
    assert (title.planned_by, title.rationale, title.box_sized) == ("heuristic", "room to bounce", False)
    assert set(state.clips) == {2}
    clip = state.clips[2]
    assert (clip.box, clip.preset, clip.messages) == (Box(2, 2, 12, 12), "float", ["used float"])
    assert np.array_equal(clip.frames, old_clip_frames())
    # The next autosave is written in today's schema and reads back the same.
    autosave(session)
    document = json.loads((session.folder / "autosave" / AUTOSAVE_MANIFEST).read_text())
    assert (document["format"], document["schema_version"]) == (schema.AUTOSAVE_FORMAT, schema.SCHEMA_VERSION)
    again, _ = SessionStore(data, restore=restore).open(TOKEN)
    assert again.state.motions == state.motions and again.state.selection == [2, 4]
    assert np.array_equal(again.state.clips[2].frames, clip.frames)


def test_a_group_motion_from_a_file_becomes_one_motion_per_member_in_the_editor():
    state = EditorState.for_project(load_project(OLD / "v1.posterproj"))
    cloud, title = state.motion(3), state.motion(4)
    assert cloud is not title
    assert cloud.group == title.group == "Sky" and cloud.prompt == title.prompt == "they wave together"
    assert state.group_members("Sky") == [3, 4]


# --------------------------------------------------------------------------- round trips


def every_field_set(layer_ids: list[int]) -> Motion:
    """A Motion with every field away from its default, whatever fields it has today."""
    values = {
        "layer_ids": layer_ids, "engine": "dmdl", "prompt": "drifts", "params": {"preset": "float", "cycles": 2},
        "box": Box(0, 0, 30, 20), "seed": 9, "phase": "in", "start": 3, "duration": 12, "loop": "pingpong", "group": "g",
        "planned_by": "llm", "rationale": "room above", "box_sized": True,
    }
    missing = {f.name for f in dataclasses.fields(Motion)} - set(values)
    assert not missing, f"give the new Motion fields {missing} a non-default value here"
    motion = Motion(**values)
    for f in dataclasses.fields(Motion):
        if f.default is not dataclasses.MISSING:
            assert getattr(motion, f.name) != f.default, f.name
    return motion


def test_every_motion_field_survives_a_project_file_and_an_autosave(tmp_path, tiny_poster):
    motion = every_field_set([2])
    clip = LayerClip(layer_id=2, box=Box(0, 0, 30, 20), frames=np.full((2, 20, 30, 4), 7, np.uint8),
                     engine="dmdl", preset="float", params={"cycles": 2}, messages=["note"])
    project = Project(poster=tiny_poster, timeline=Timeline(fps=10, frames=2), motions=[motion], clips={2: clip},
                      source="upload:tiny.psd")
    loaded = load_project(save_project(project, tmp_path / "p.posterproj"))
    assert loaded.motions == [motion] and loaded.timeline == project.timeline

    manifest = schema.load(schema.dump(schema.AutosaveManifest(
        source="upload:tiny.psd", timeline=project.timeline, motions=[motion], selection=[2], active=2)),
        schema.AutosaveManifest)
    assert manifest.motions == [motion] and (manifest.selection, manifest.active) == ([2], 2)


def test_autosave_round_trip_through_a_session(tmp_path, tiny_poster):
    session = Session(token=TOKEN, folder=tmp_path / TOKEN)
    uploads = session.dir("uploads")
    save_project(Project(poster=tiny_poster), uploads / "tiny.posterproj")
    session.state = EditorState.for_project(load_project(uploads / "tiny.posterproj"))
    session.state.project.source = "project:tiny.posterproj"
    session.state.project.timeline = Timeline(fps=8, frames=4)
    session.state.project.motions.append(every_field_set([3]))
    clip = LayerClip(layer_id=3, box=Box(0, 0, 30, 20), frames=np.full((4, 20, 30, 4), 9, np.uint8))
    session.state.clips[3] = clip
    session.state.selection, session.state.active = [3], 3
    save_clip(session, clip)
    autosave(session)
    before = session.state
    assert restore(session) and session.state is not before
    state = session.state
    assert state.motions == before.motions and state.timeline == Timeline(fps=8, frames=4)
    assert (state.selection, state.active) == ([3], 3)
    assert np.array_equal(state.clips[3].frames, clip.frames)


def test_bundle_manifest_is_written_and_read_back_by_the_schema(tmp_path, tiny_poster):
    sun = tiny_poster.layer("Sun")
    box = Box(8, 8, 16, 18)
    first = np.zeros((18, 16, 4), np.uint8)
    first[2:, :] = sun.pixels
    clip = LayerClip(sun.id, box, np.stack([first, np.roll(first, 1, axis=0)]), preset="bounce",
                     params={"amplitude": 5.0})
    frames = np.zeros((2, 48, 64, 4), np.uint8)
    frames[..., 3] = 255
    out = write_bundle(tmp_path / "b.zip", tiny_poster, {sun.id: clip}, frames, 12)
    manifest = read_manifest(out)
    assert isinstance(manifest, schema.BundleManifest) and manifest.schema_version == schema.SCHEMA_VERSION
    assert (manifest.canvas.width, manifest.canvas.height, manifest.frames, manifest.fps) == (64, 48, 2, 12)
    entries = {entry.name: entry for entry in manifest.layers}
    assert entries["Sun"].motion_box == box and entries["Sun"].motion.preset == "bounce"
    assert entries["Sun"].motion.params == {"amplitude": 5.0} and entries["Sun"].motion.clip_frames == 2
    assert entries["Title"].text == "HI" and entries["Title"].kind == LayerKind.TEXT
    assert entries["Background"].motion is None and not entries["Background"].animated

    # A schema-1 bundle (it said "version") reads too; one from the future is refused.
    with zipfile.ZipFile(out) as archive:
        raw = json.loads(archive.read("manifest.json"))
    assert "motion_box" not in raw["layers"][0], "static layers carry no motion fields"
    old = {key: value for key, value in raw.items() if key != "schema_version"} | {"version": 1}
    assert schema.load(json.dumps(old), schema.BundleManifest).layers[1].motion_box == box
    with pytest.raises(PosterError, match="newer version of the editor"):
        schema.load(json.dumps(raw | {"schema_version": schema.SCHEMA_VERSION + 1}), schema.BundleManifest)


# --------------------------------------------------------------------------- refusals


def test_a_newer_or_damaged_autosave_is_refused_and_the_work_in_memory_stays(tmp_path, tiny_poster):
    data = tmp_path / "data"
    shutil.copytree(OLD / "v1-session", data / "sessions" / TOKEN)
    session, _ = SessionStore(data, restore=restore).open(TOKEN)
    path = session.folder / "autosave" / AUTOSAVE_MANIFEST
    autosave(session)
    good = json.loads(path.read_text())
    kept = session.state

    path.write_text(json.dumps(good | {"schema_version": schema.SCHEMA_VERSION + 1}))
    with pytest.raises(PosterError, match="newer version of the editor"):
        restore(session)
    assert session.state is kept

    damaged = json.loads(json.dumps(good))
    damaged["motions"][0]["box"] = {"x": 1, "y": 2}
    for text in (json.dumps(damaged), path.read_text()[:40], json.dumps(good | {"surprise": 1})):
        path.write_text(text)
        with pytest.raises(PosterError, match="damaged or incomplete"):
            restore(session)
        assert session.state is kept

    # A clip file that does not match its entry (a crash between the two writes) is dropped alone.
    path.write_text(json.dumps(good))
    from engine.core.clipstore import save_clip_file

    save_clip_file(session.folder / "autosave" / "clip-2.zip",
                   LayerClip(2, Box(0, 0, 3, 3), np.zeros((1, 3, 3, 4), np.uint8)))
    assert restore(session) and session.state.clips == {} and session.state.motion(2).preset == "float"


def test_foreign_and_future_documents_get_one_sentence():
    with pytest.raises(PosterError, match="not a poster project"):
        schema.load(json.dumps({"format": schema.AUTOSAVE_FORMAT, "schema_version": 2}), schema.ProjectManifest)
    with pytest.raises(PosterError, match="damaged"):
        schema.load("[1, 2]", schema.ProjectManifest)
    with pytest.raises(PosterError, match="damaged"):
        schema.load(json.dumps({"format": schema.PROJECT_FORMAT, "schema_version": "two"}), schema.ProjectManifest)
    with pytest.raises(PosterError, match="update the editor"):
        schema.migrate({"format": schema.PROJECT_FORMAT, "schema_version": schema.SCHEMA_VERSION + 1})
    assert set(schema.MIGRATIONS) == {schema.PROJECT_FORMAT, schema.AUTOSAVE_FORMAT, schema.BUNDLE_FORMAT}
    for steps in schema.MIGRATIONS.values():
        assert sorted(steps) == list(range(1, schema.SCHEMA_VERSION))
