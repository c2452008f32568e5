"""The editor's logic without a browser: canvas maths, sessions, handlers, persistence."""

from __future__ import annotations

import json
import os
import re
import time
import zipfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from app import canvas as cv
from app import animating, exporting, handlers, views
from app.config import parse_settings
from app.motion_panel import MotionFields
from app.persist import restore
from app.session import SessionStore, valid_token
from app.state import EditorState
from tests.helpers.layers import solid_layer
from tests.helpers.paths import ASSETS_DIR, CORPUS_DIR
from engine.core.poster import Box, LayerKind, Poster
from engine.core.project import Project, Timeline

SAMPLE = ASSETS_DIR / "samples" / "balloon.psd"


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "data", restore=restore)


@pytest.fixture
def session(store: SessionStore, tiny_poster: Poster):
    """A session editing the 64×48 tiny poster, short timeline."""
    session, _ = store.open(None)
    session.state = EditorState(project=Project(poster=tiny_poster, timeline=Timeline(fps=6, frames=6), source=""))
    return session


def is_error(view: dict) -> bool:
    return bool(view.get("error")) and view["status"].startswith("⚠")


# --------------------------------------------------------------------------- settings


def test_settings_flags_beat_environment_which_beats_defaults(tmp_path: Path) -> None:
    defaults = parse_settings([], {})
    assert (defaults.host, defaults.port, defaults.data_dir) == ("127.0.0.1", 7860, Path("./data").resolve())
    env = {"POSTER_HOST": "0.0.0.0", "POSTER_PORT": "9000", "POSTER_DATA_DIR": str(tmp_path / "env")}
    from_env = parse_settings([], env)
    assert (from_env.host, from_env.port, from_env.data_dir) == ("0.0.0.0", 9000, tmp_path / "env")
    flags = parse_settings(["--host", "::1", "--port", "8123", "--data-dir", str(tmp_path / "flag")], env)
    assert (flags.host, flags.port, flags.data_dir) == ("::1", 8123, tmp_path / "flag")
    with pytest.raises(SystemExit):
        parse_settings([], {"POSTER_PORT": "http"})


# --------------------------------------------------------------------------- canvas


def test_canvas_view_scales_big_posters_and_round_trips_without_drift() -> None:
    side = cv.MAX_CANVAS_SIDE
    big = Poster(width=4 * side, height=3 * side,
                 layers=[solid_layer(1, "A", Box(101, 203, 307, 409), (1, 2, 3, 255))])
    view = cv.CanvasView.for_poster(big)
    assert (view.width, view.height) == (side, 3 * side // 4) and view.scale == 0.25
    odd = Box(101, 203, 307, 409)
    widget = {**view.to_widget(odd), "label": cv.box_label(big.layers[0])}
    edit = cv.read_annotation({"boxes": [widget]}, big, view, [1], 1, current={1: odd})
    assert edit.boxes == {1: odd} and not edit.notes
    moved = {**widget, "xmin": widget["xmin"] - 20}
    edit = cv.read_annotation({"boxes": [moved]}, big, view, [1], 1, current={1: odd})
    assert edit.boxes[1].x == (widget["xmin"] - 20) * 4 and edit.boxes[1].contains(odd)


def test_a_drawn_box_goes_to_the_layer_being_edited_or_the_one_under_it(tiny_poster: Poster) -> None:
    view = cv.CanvasView.for_poster(tiny_poster)
    drawn = {"xmin": 2, "ymin": 2, "xmax": 40, "ymax": 30, "label": ""}
    assert cv.read_annotation({"boxes": [drawn]}, tiny_poster, view, [], 3).boxes[3] == Box(2, 2, 48, 36)
    # Nothing selected: the sun (id 2) is under the centre (21, 16).
    edit = cv.read_annotation({"boxes": [drawn]}, tiny_poster, view, [], None)
    assert set(edit.boxes) == {2} and edit.boxes[2] == Box(2, 2, 38, 28)
    shown_but_gone = cv.read_annotation({"boxes": []}, tiny_poster, view, [2, 3], None)
    assert shown_but_gone.removed == [2, 3]
    assert cv.drawing_in_progress({"boxes": [{**drawn, "xmax": 2, "ymax": 2}]})
    assert not cv.drawing_in_progress({"boxes": [drawn]})


def test_clicking_picks_the_object_not_the_full_canvas_overlay() -> None:
    texture = solid_layer(9, "Paper", Box(0, 0, 50, 50), (200, 200, 200, 40))
    ball = solid_layer(5, "Ball", Box(10, 10, 10, 10), (255, 0, 0, 255))
    hidden = solid_layer(6, "Hidden", Box(10, 10, 10, 10), (0, 0, 255, 255), visible=False)
    poster = Poster(width=50, height=50, layers=[ball, hidden, texture])
    assert cv.layer_at(poster, 15, 15) == 5
    assert cv.layer_at(poster, 40, 40) == 9
    clear = Poster(width=50, height=50, layers=[solid_layer(1, "Clear", Box(0, 0, 5, 5), (0, 0, 0, 0))])
    assert cv.layer_at(clear, 2, 2) is None


def test_checkerboard_shows_through_transparent_pixels_only() -> None:
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[:8, :8] = (255, 0, 0, 255)
    out = cv.over_checkerboard(rgba)
    assert (out[:8, :8] == (255, 0, 0)).all()
    assert set(np.unique(out[8:])) == {200, 236}  # both checker cells of the bottom row


# --------------------------------------------------------------------------- sessions


def test_tokens_are_checked_and_sessions_are_isolated(store: SessionStore) -> None:
    a, _ = store.open(None)
    b, _ = store.open("../../etc/passwd")
    assert valid_token(a.token) and valid_token(b.token) and a.token != b.token
    assert a.folder.parent == b.folder.parent == store.root
    assert store.get(a.token) is a and a.state is not b.state
    # A well-formed token this server never handed out (or whose folder was cleaned up)
    # gets a fresh one: the client does not choose its session's name.
    fresh, restored = store.open("0123456789abcdef" * 2)
    assert fresh.token != "0123456789abcdef" * 2 and valid_token(fresh.token) and fresh.folder.is_dir()
    assert not restored and not (store.root / ("0123456789abcdef" * 2)).exists()
    with pytest.raises(Exception, match="does not belong"):
        a.inside(b.folder / "uploads" / "x.psd")
    upload = a.folder / "incoming.bin"
    upload.write_bytes(b"x")
    stored = a.adopt_upload(upload, "../../../evil name.psd")
    assert stored.parent == a.folder / "uploads" and stored.name == "evil_name.psd"


def test_cleanup_removes_only_long_idle_session_folders(store: SessionStore) -> None:
    live, _ = store.open(None)
    old, _ = store.open(None)
    (old.folder / "work").mkdir()
    past = time.time() - 8 * 24 * 3600
    for path in [old.folder / "work", old.folder]:
        os.utime(path, (past, past))
    store._sessions.pop(old.token)  # it left memory long ago
    assert store.cleanup() == [old.token]
    assert live.folder.exists() and not old.folder.exists()


# --------------------------------------------------------------------------- opening posters


def test_opening_a_sample_fills_every_panel(session) -> None:
    view = handlers.open_sample(session, "balloon.psd")
    assert not view.get("error"), view["status"]
    poster = session.state.poster
    assert len(view["gallery"]) == len(poster.layers)
    assert [value for _, value in view["layers"][0]] == [layer.id for layer in poster.layers[::-1]]
    assert Path(view["canvas"]["image"]).exists() and view["canvas"]["boxes"] == []
    assert "1080×1350" in view["poster_title"]


def test_bad_files_give_a_message_and_keep_the_open_poster(session, tmp_path: Path) -> None:
    before = session.state.poster
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    view = handlers.open_psd(session, str(text), "notes.txt")
    assert is_error(view) and ".psd" in view["status"]
    broken = tmp_path / "broken.psd"
    broken.write_bytes(b"8BPS" + os.urandom(200))
    view = handlers.open_psd(session, str(broken), "broken.psd")
    assert is_error(view) and "Traceback" not in view["status"]
    assert handlers.open_sample(session, "../../secret.psd")["error"]
    assert session.state.poster is before


def test_import_notices_from_a_real_psd_are_listed_once(session) -> None:
    psd = CORPUS_DIR / "psd-tools__psd-tools" / "tests" / "psd_files" / "layer_effects.psd"
    view = handlers.open_psd(session, str(psd), psd.name)
    assert not view.get("error"), view["status"]
    assert session.state.poster.name == "layer_effects"  # not the staging name it was read under
    notes = session.state.notices
    assert notes and len(notes) == len(set(notes))
    assert "cannot be reproduced exactly" in view["notice"] and "inner glow" in view["notice"].lower()  # styles are drawn now; this one is not exact
    assert all(note in view["notice"] for note in notes)
    assert any("not exact" in caption for _, caption in view["gallery"])


# --------------------------------------------------------------------------- selection and boxes


def test_selection_from_list_gallery_and_canvas(session) -> None:
    view = handlers.set_selection(session, [2, 3])
    assert session.state.selection == [2, 3] and session.state.active == 3
    # The boxes carry no label text (the widget would draw it on the art): their colours name the layers.
    poster = session.state.poster
    assert {cv.widget_layer_id(b, poster) for b in view["canvas"]["boxes"]} == {2, 3}
    assert {b["label"] for b in view["canvas"]["boxes"]} == {""}
    handlers.toggle_gallery(session, 0)  # gallery shows the top layer (Title) first
    assert session.state.selection == [2]
    handlers.pick_at(session, 10, 10)  # on the sun: toggles it off
    assert session.state.selection == []
    handlers.pick_at(session, 25, 33)
    assert session.state.selection == [3]
    assert handlers.set_selection(session, [99])["error"]


def test_boxes_typed_as_numbers_are_fitted_and_explained(session) -> None:
    handlers.set_selection(session, [2])
    view = handlers.edit_box(session, 2, 0, 0, 200, 30)
    assert session.state.motion_box(2) == Box(0, 0, 64, 30)
    assert "off the canvas" in view["status"] and view["box"] == (0, 0, 64, 30)
    view = handlers.edit_box(session, 2, 10, 10, 4, 4)
    assert session.state.motion_box(2) == Box(8, 8, 16, 16) and "contain the whole layer" in view["status"]
    assert handlers.edit_box(session, 2, "a", 1, 2, 3)["error"]


def test_canvas_edits_update_the_active_layer_box(session) -> None:
    handlers.set_selection(session, [2, 3])
    drawn = {"xmin": 18, "ymin": 26, "xmax": 60, "ymax": 46, "label": ""}
    shown = views.canvas_view(session)["canvas"]["boxes"]
    view = handlers.canvas_changed(session, {"image": None, "boxes": [drawn, *shown]})
    assert session.state.motion_box(3) == Box(18, 26, 42, 20)
    assert "canvas" in view  # relabelled so the widget shows the box under its layer's name
    assert handlers.canvas_changed(session, {"boxes": [{**drawn, "xmax": 18, "ymax": 26}]}) == {}


# --------------------------------------------------------------------------- motion settings


def test_the_panel_says_what_a_prompt_cannot_ask_of_presets_before_animate(session) -> None:
    handlers.set_selection(session, [3])
    note = handlers.edit_motion(session, 3, MotionFields(prompt="make it look expensive and cinematic"))["preset_note"]
    assert "names no motion" in note and "picked from the prompt" not in note, note
    note = handlers.edit_motion(session, 3, MotionFields(prompt="the character waves her hand"))["preset_note"]
    assert "needs a generative engine" in note, note


def test_prompt_picks_a_preset_and_sliders_override(session) -> None:
    handlers.set_selection(session, [3])
    assert "the default until you type a prompt" in views.panel_view(session)["preset_note"]
    view = handlers.edit_motion(session, 3, MotionFields(prompt="the title bobs up and down"))
    motion = session.state.motion(3)
    assert motion.prompt == "the title bobs up and down" and "picked from the prompt" in view["preset_note"]
    assert "Understood" in view["preset_note"] and "'bobs'" in view["preset_note"]  # shown before Animate
    assert "prompt" in view["motion_keep"]  # never rewrite what is being typed
    chosen = view["motion"]
    tweaked = MotionFields(prompt=motion.prompt, params={**chosen.params, "amplitude": 0.9})
    handlers.edit_motion(session, 3, tweaked)
    assert motion.params.get("amplitude") == 0.9
    assert handlers.edit_motion(session, 3, MotionFields(prompt="x", start_s=-1))["error"]
    assert handlers.edit_motion(session, 3, MotionFields(engine="warp-drive"))["error"]
    # A refused value changes nothing: it must not reach the autosave, undo or a render.
    stored = lambda: (session.state.motion(3).start, dict(session.state.motion(3).params))  # noqa: E731
    before = stored()
    refused = handlers.edit_motion(session, 3, MotionFields(prompt=motion.prompt, start_s=0.5,
                                                           params={**chosen.params, "amplitude": 9.0}))
    assert refused["error"] and stored() == before


def test_a_button_press_takes_the_typed_prompt_but_not_stale_sliders(session) -> None:
    handlers.set_selection(session, [2])
    handlers.edit_motion(session, 2, MotionFields(prompt="the sun drifts up gently"))
    gentle = session.state.motion(2).params["amplitude"]
    assert gentle < 0.5  # "gently" asks for a small motion
    # The page had not refreshed the slider (still 0.5) when Animate was pressed.
    view = handlers.run_action(session, "animate", 2, 6, 1.0,
                               MotionFields(prompt="the sun drifts up gently", params={"amplitude": 0.5}))
    assert not view.get("error"), view["status"]
    assert session.state.motion(2).params["amplitude"] == gentle
    view = handlers.run_action(session, "animate", 2, 6, 1.0, MotionFields(prompt="the sun spins"))
    assert session.state.motion(2).prompt == "the sun spins" and session.state.clips[2].preset == "spin"


def test_each_widget_event_stores_only_its_own_widget(session) -> None:
    handlers.set_selection(session, [2])
    handlers.edit_motion(session, 2, MotionFields(params={"preset": "bounce"}), only=("preset",))
    motion = session.state.motion(2)
    assert motion.preset == "bounce"
    # A late prompt keystroke event still carries the menu's old value "auto": it must not win.
    handlers.edit_motion(session, 2, MotionFields(prompt="hops about", params={"preset": "auto"}), only=("prompt",))
    assert motion.preset == "bounce" and motion.prompt == "hops about"
    handlers.edit_motion(session, 2, MotionFields(params={"amplitude": 0.8, "cycles": 7}), only=("amplitude",))
    assert motion.params["amplitude"] == 0.8 and motion.params.get("cycles") != 7


def test_group_prompt_needs_two_layers_and_shares_the_prompt(session) -> None:
    handlers.set_selection(session, [2])
    assert handlers.apply_group_prompt(session, "they dance")["error"]
    handlers.set_selection(session, [2, 3])
    view = handlers.apply_group_prompt(session, "they dance together")
    assert not view.get("error")
    groups = {session.state.motion(i).group for i in (2, 3)}
    assert len(groups) == 1 and None not in groups
    assert session.state.motion(2).prompt == session.state.motion(3).prompt == "they dance together"
    view = animating.animate(session, "selected")
    assert not view.get("error"), view["status"]
    assert set(session.state.clips) == {2, 3}


def test_plan_boxes_fills_boxes_presets_and_says_who_planned(session, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    handlers.set_selection(session, [2])
    assert "Type a motion prompt" in handlers.plan(session)["status"]
    view = handlers.plan_with(session, 2, MotionFields(prompt="the sun bobs up and down"))
    assert not view.get("error"), view["status"]
    motion = session.state.motion(2)
    assert motion.box is not None and motion.box.contains(Box(8, 8, 16, 16)) and motion.box != Box(8, 8, 16, 16)
    assert motion.planned_by == "heuristic" and motion.rationale and motion.preset != "auto"
    assert "offline heuristic" in view["status"] and "offline heuristic" in view["plans"]
    assert "Planner:" in views.planner_line()
    # The planned box stays editable.
    handlers.edit_box(session, 2, 0, 0, 40, 40)
    assert session.state.motion_box(2) == Box(0, 0, 40, 40)


def test_animating_without_a_box_gives_the_layer_room(session) -> None:
    handlers.set_selection(session, [2])
    handlers.edit_motion(session, 2, MotionFields(prompt="the sun bobs up and down"))
    view = animating.animate(session, "selected")
    assert "sized for the motion" in view["status"]
    assert session.state.motion_box(2) != Box(8, 8, 16, 16) and "canvas" in view


def test_a_box_sized_for_the_motion_follows_a_new_prompt_but_a_drawn_box_stays(session) -> None:
    """The designer's report: after 'bobs', the prompt 'drifts up gently and sways' was
    squeezed into the box sized for the bob ('float reduced to 63%'). A box Animate sized
    is sized again for the new motion; a box the designer drew is theirs and stays."""
    session.state = EditorState(project=Project(poster=Poster(width=640, height=480, layers=[
        solid_layer(1, "Sky", Box(0, 0, 640, 480), (30, 60, 90, 255)),
        solid_layer(2, "Sun", Box(256, 192, 128, 96), (250, 200, 40, 255)),
    ]), timeline=Timeline(fps=6, frames=6)))
    handlers.set_selection(session, [2])
    for prompt in ("the sun bobs", "the sun drifts up gently and sways", "the sun jumps wildly", "the sun sways"):
        handlers.edit_motion(session, 2, MotionFields(prompt=prompt))
        view = animating.animate(session, "selected")
        assert not view.get("error"), view["status"]
        assert "reduced" not in view["status"] and "no room" not in view["status"], (prompt, view["status"])
    assert session.state.motion_box(2).w > 128
    handlers.edit_box(session, 2, 256, 192, 128, 96)  # drawn tight on purpose
    handlers.edit_motion(session, 2, MotionFields(prompt="the sun jumps wildly"))
    view = animating.animate(session, "selected")
    assert session.state.motion_box(2) == Box(256, 192, 128, 96)
    assert "reduced" in view["status"] or "no room" in view["status"]


def test_timeline_is_validated(session) -> None:
    assert handlers.set_timeline(session, 0, 1)["error"]
    assert handlers.set_timeline(session, 12, "long")["error"]
    handlers.set_timeline(session, 12, 1.5)
    assert session.state.frames == 18


# --------------------------------------------------------------------------- animate, export, persist


def animate_two(session) -> None:
    handlers.set_selection(session, [2, 3])
    handlers.edit_motion(session, 2, MotionFields(prompt="the sun breathes"))
    handlers.edit_box(session, 2, 4, 4, 24, 24)
    handlers.edit_motion(session, 3, MotionFields(prompt="the title bobs"))
    handlers.edit_box(session, 3, 18, 26, 34, 14)
    progress: list[float] = []
    view = animating.animate(session, "selected", lambda fraction, desc="": progress.append(fraction))
    assert not view.get("error"), view["status"]
    assert progress and progress[-1] == 1.0 and progress == sorted(progress)
    return view


def test_animate_previews_and_reroll_touches_one_layer(session) -> None:
    view = animate_two(session)
    preview = iio.imread(view["preview"], plugin="FFMPEG", index=None)
    assert preview.shape[0] == 6 and view["tab"] == "preview" and view["layer_preview"] is None
    clips = session.state.clips
    assert set(clips) == {2, 3} and clips[2].frames.shape[0] == 6
    sun_before = clips[2]
    view = animating.reroll(session, 3)
    assert not view.get("error"), view["status"]
    assert session.state.clips[2] is sun_before and session.state.motion(3).seed == 1
    layer = animating.preview_layer(session, 3)
    assert Path(layer["layer_preview"]).exists() and layer["tab"] == "layer"
    assert animating.preview_layer(session, 1)["error"]  # the background was never animated


def test_engine_failure_is_a_message_and_keeps_the_clips(session, monkeypatch) -> None:
    animate_two(session)
    before = dict(session.state.clips)

    from engine.motion.presets import PresetAnimator

    class Exploding(PresetAnimator):
        def animate(self, requests, *, group_prompt=None, progress=None, cancel=None):
            raise RuntimeError("GPU on fire")

    import engine.motion.registry

    monkeypatch.setattr(engine.motion.registry, "get_engine", lambda name: Exploding())
    view = animating.animate(session, "selected")
    assert is_error(view) and "GPU on fire" in view["status"]
    assert session.state.clips == before


def test_nothing_to_animate_is_explained(session) -> None:
    assert "Select the layers" in animating.animate(session, "selected")["status"]
    assert "No layer has a motion" in animating.animate(session, "all")["status"]
    assert "Nothing is animated" in exporting.export(session, "mp4")["status"]


def test_every_export_format_is_written_and_decodes(session) -> None:
    animate_two(session)
    view = exporting.export(session, exporting.ALL)
    assert not view.get("error"), view["status"]
    files = {Path(p).name: Path(p) for p in view["exports"]}
    assert set(files) == {f.file_name("tiny") for f in exporting.export_formats()}
    for path in files.values():
        assert path.parent == session.folder / "exports"
    mp4 = iio.imread(files["tiny.mp4"], plugin="FFMPEG", index=None)
    assert mp4.shape == (6, 48, 64, 3)
    with zipfile.ZipFile(files["tiny-layers.zip"]) as archive:
        assert "manifest.json" in archive.namelist()
    assert exporting.export(session, "bmp")["error"]
    assert set(views.full_view(session)["exports"]) == {str(p) for p in files.values()}  # listed after a reload


def test_export_options_and_gif_estimate_in_the_editor(session, monkeypatch) -> None:
    from PIL import Image

    from engine.export.options import frame_picks
    from engine.render import compositor

    animate_two(session)
    options = exporting.export_options("32x32", "draft", 3, 2)
    note = exporting.estimate(session, ["gif", "mp4"], options)["export_note"]
    assert re.fullmatch(r"GIF: about \d+ KB .*", note), note
    drawn: list[int] = []
    draw = compositor._Plan.draw_frame
    monkeypatch.setattr(compositor._Plan, "draw_frame",
                        lambda plan, index, out: (drawn.append(index), draw(plan, index, out))[1])
    view = exporting.export(session, ["gif", "mp4", "layered"], options=options)
    assert not view.get("error"), view["status"]
    assert sorted(drawn) == list(range(6)), "one render for three formats"
    assert re.search(r"tiny\.gif \(\d+ KB\)", view["status"]) and "keeps the poster's own size" in view["status"]
    with Image.open(session.folder / "exports" / "tiny.gif") as gif:
        assert gif.size == (32, 32) and gif.info["loop"] == 1
        assert gif.n_frames == len(frame_picks(6, session.state.fps, 3)) < 6
    assert "at most" in exporting.export(session, ["mp4"], options=exporting.export_options(None, None, 60, 0))["status"]
    assert "Pick at least one format" in exporting.export(session, [])["status"]


def test_project_saves_and_reopens(session, store: SessionStore) -> None:
    animate_two(session)
    saved = exporting.save_project(session)
    assert saved["project_file"].endswith(exporting.PROJECT_SUFFIX)
    other, _ = store.open(None)
    view = exporting.open_project(other, saved["project_file"])
    assert not view.get("error"), view["status"]
    assert other.state.motion(3).prompt == "the title bobs"
    assert other.state.motion_box(2) == Box(4, 4, 24, 24)
    assert np.array_equal(other.state.clips[3].frames, session.state.clips[3].frames)
    bogus = other.folder / "bogus.posterproj"
    bogus.write_bytes(b"not a zip")
    assert exporting.open_project(other, str(bogus))["error"]
    assert other.state.motion(3).prompt == "the title bobs"  # the failed open lost nothing


def test_work_survives_a_reload_and_a_server_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = SessionStore(data, restore=restore)
    session, _ = first.open(None)
    assert not handlers.start(session, False).get("error")
    name = session.state.poster.layer("Balloon")
    handlers.set_selection(session, [name.id])
    handlers.edit_motion(session, name.id, MotionFields(prompt="the balloon drifts up gently"))
    handlers.edit_box(session, name.id, name.box.x, name.box.y - 40, name.box.w, name.box.h + 40)
    handlers.set_timeline(session, 4, 0.5)
    assert not animating.animate(session, "selected").get("error")
    restarted = SessionStore(data, restore=restore)  # a new server process on the same folder
    again, restored = restarted.open(session.token)
    assert restored and again.token == session.token
    state = again.state
    assert state.poster.name == session.state.poster.name and state.selection == [name.id]
    assert state.motion(name.id).prompt == "the balloon drifts up gently"
    assert state.motion_box(name.id) == session.state.motion_box(name.id)
    assert np.array_equal(state.clips[name.id].frames, session.state.clips[name.id].frames)
    assert handlers.start(again, restored)["status"].startswith("✓ Restored")


def test_a_motions_loop_mode_reaches_its_clip_and_the_autosave(session) -> None:
    animate_two(session)
    session.state.motion(3).loop = "pingpong"
    view = animating.animate(session, "all")
    assert not view.get("error"), view["status"]
    assert session.state.clips[3].loop_mode == "pingpong" and session.state.clips[2].loop_mode == "loop"
    saved = json.loads((session.folder / "autosave" / "editor.json").read_text())
    assert {c["layer_id"]: c["loop_mode"] for c in saved["clips"]} == {2: "loop", 3: "pingpong"}


# --------------------------------------------------------------------------- engines, parameters, cancel


def test_the_motion_panel_shows_the_specs_of_the_selected_engine(session, monkeypatch, tmp_path) -> None:
    from app.ui import PARAM_SLOTS, assign_slots
    from engine.motion.presets import PRESETS
    from engine.motion.registry import ENGINES, get_engine

    handlers.set_selection(session, [2])
    handlers.edit_motion(session, 2, MotionFields(prompt="the sun sways in the wind"))
    panel = views.panel_view(session)
    names = [spec.name for spec in panel["specs"]]
    assert names[0] == "preset" and names[1:] == list(PRESETS["sway"].params)
    assert panel["motion"].params["preset"] == "auto" and panel["motion"].params["pivot"] == "bottom"
    slots = assign_slots(panel["specs"])
    assert slots["param_choice_0"].name == "preset" and slots["param_number_0"].name == "amplitude"

    handlers.edit_motion(session, 2, MotionFields(params={"preset": "spin"}), only=("preset",))
    assert [s.name for s in views.panel_view(session)["specs"]][1:] == list(PRESETS["spin"].params)

    # The generative engine, made available without a GPU: its own parameters replace the preset's.
    (tmp_path / "model_index.json").write_text("{}")
    monkeypatch.setenv("DMDL_CHECKPOINT", str(tmp_path))
    monkeypatch.setenv("DMDL_DEVICE", "cpu")
    from engine.motion import registry

    registry.release("dmdl")
    try:
        view = handlers.edit_motion(session, 2, MotionFields(engine="dmdl"), only=("engine",))
        assert not view.get("error"), view.get("status")
        assert [s.name for s in view["specs"]] == ["steps", "guidance", "resolution", "offload"]
        assert session.state.motion(2).engine == "dmdl" and "Engine: **DMDL" in view["preset_note"]
        handlers.edit_motion(session, 2, MotionFields(engine="dmdl", params={"steps": 12}), only=("steps",))
        assert views.panel_view(session)["motion"].params == {"steps": 12, "guidance": 6.0, "resolution": 512,
                                                              "offload": "none"}
        assert is_error(handlers.edit_motion(session, 2, MotionFields(engine="dmdl", params={"steps": 500}),
                                             only=("steps",)))
    finally:
        registry.release("dmdl")

    # Every engine's and every preset's parameters fit the panel's pool of widgets.
    for name in ENGINES:
        assign_slots(get_engine(name).param_specs())
    for preset in PRESETS:
        assert set(assign_slots(get_engine("presets").param_specs({"preset": preset}))) <= set(PARAM_SLOTS)


def test_cancel_stops_animate_and_keeps_the_old_clips(session, monkeypatch) -> None:
    animate_two(session)
    before = dict(session.state.clips)
    from engine.motion import registry
    from engine.motion.presets import PresetAnimator

    class PressesCancel(PresetAnimator):
        """The designer presses Cancel while the first layer renders."""

        def animate(self, requests, *, group_prompt=None, progress=None, cancel=None):
            def pressed(done, total, message):
                progress(done, total, message)
                animating.cancel(session)

            return super().animate(requests, group_prompt=group_prompt, progress=pressed, cancel=cancel)

    monkeypatch.setattr(registry, "get_engine", lambda name: PressesCancel())
    steps: list[tuple[float, str]] = []
    view = animating.animate(session, "selected", lambda fraction, desc="": steps.append((fraction, desc)))
    assert not view.get("error") and "cancelled" in view["status"]
    assert session.state.clips == before
    assert [desc for _, desc in steps if desc.startswith("Animated ")] == ["Animated Sun (breathe)"]
    monkeypatch.undo()
    view = animating.animate(session, "selected")  # the next Animate runs normally
    assert not view.get("error"), view["status"]
    assert session.state.clips[2] is not before[2]


def test_the_seed_is_set_in_the_panel_and_a_reroll_shows_the_next(session) -> None:
    handlers.set_selection(session, [3])
    view = handlers.edit_motion(session, 3, MotionFields(seed=7), only=("seed",))
    assert not is_error(view) and session.state.motion(3).seed == 7
    for bad in (-2, 1.5, "seven"):
        view = handlers.edit_motion(session, 3, MotionFields(seed=bad), only=("seed",))
        assert is_error(view) and "seed is a whole number" in view["status"]
    assert session.state.motion(3).seed == 7
    handlers.edit_motion(session, 3, MotionFields(prompt="the title bobs"), only=("prompt",))
    handlers.edit_box(session, 3, 18, 26, 34, 14)
    view = animating.reroll(session, 3)
    assert not is_error(view), view["status"]
    assert session.state.motion(3).seed == 8 and view["motion"].seed == 8, "the panel shows the new seed"
