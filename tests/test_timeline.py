"""The timeline's rows and edits without a browser (app.timeline, handlers.set_timing)."""

from __future__ import annotations

import json

import pytest

from app import handlers
from app.motion_panel import MotionFields
from app.persist import MANIFEST, restore
from app.session import AUTOSAVE_NAME, SessionStore
from app.state import EditorState
from app.timeline import TimingEdit, parse_edit, tracks, tracks_value
from engine.core.poster import Poster, PosterError
from engine.core.project import Project, Timeline

FPS, FRAMES = 6, 12


@pytest.fixture
def session(tmp_path, tiny_poster: Poster):
    session, _ = SessionStore(tmp_path / "data", restore=restore).open(None)
    session.state = EditorState(project=Project(poster=tiny_poster, timeline=Timeline(fps=FPS, frames=FRAMES), source=""))
    return session


def prompt(session, layer_id: int, text: str, **timing) -> None:
    session.state.selection = sorted({*session.state.selection, layer_id})
    session.state.active = layer_id
    view = handlers.edit_motion(session, layer_id, MotionFields(prompt=text, **timing))
    assert not view.get("error"), view


def test_rows_are_the_layers_with_a_motion_top_first_with_their_phase_and_span(session) -> None:
    assert tracks(session.state) == []
    prompt(session, 2, "the sun floats")  # a loop, to the end
    prompt(session, 3, "the title fades in", phase="in", start_s=0.5, duration_s=1)
    rows = tracks(session.state)
    assert [r.name for r in rows] == ["Title", "Sun"]  # the layer list's order (top first)
    title, sun = rows
    assert (title.phase, title.start, title.span, title.open_end) == ("in", 3, 6, False)
    assert title.start_set and title.duration_set and title.active and not title.animated
    assert (sun.phase, sun.start, sun.span, sun.open_end) == ("loop", 0, FRAMES, True)
    assert not sun.start_set and not sun.active
    value = tracks_value(session.state)
    assert (value["fps"], value["frames"]) == (FPS, FRAMES)
    assert value["rows"][0]["layer_id"] == 3 and value["rows"][0]["editable"] is True


def test_a_row_says_when_its_clip_was_made_for_other_timing(session) -> None:
    prompt(session, 2, "the sun floats")
    view = handlers.run_action(session, "animate", 2, FPS, FRAMES / FPS, MotionFields(prompt="the sun floats"))
    assert not view.get("error"), view
    assert [(r["layer_id"], r["animated"], r["stale"]) for r in view["tracks"]["rows"]] == [(2, True, False)]
    moved = handlers.set_timing(session, 2, 4)
    assert [(r["start"], r["span"], r["stale"]) for r in moved["tracks"]["rows"]] == [(4, FRAMES - 4, True)]


def test_edit_messages_are_checked_against_the_poster_and_the_length(session) -> None:
    prompt(session, 3, "the title fades in", phase="in", start_s=0, duration_s=1)  # 6 frames
    state = session.state
    assert parse_edit(state, {"layer_id": 3, "start": 2}) == TimingEdit(3, 2, None)
    assert parse_edit(state, {"layer_id": "3", "start": 4.0, "duration": 8}) == TimingEdit(3, 4, 8)
    refusals = {
        "not on the timeline": {"layer_id": 1, "start": 0},  # the background has no motion
        "not on the timeline any more": {"layer_id": 99, "start": 0},
        "before the first frame": {"layer_id": 3, "start": -1},
        "before the end of the animation": {"layer_id": 3, "start": FRAMES},
        "would end after the animation's 12 frames: shorten": {"layer_id": 3, "start": 4, "duration": 9},
        "start it at frame 6 or earlier": {"layer_id": 3, "start": 7},  # a move keeps its 6 frames
        "at least one frame": {"layer_id": 3, "start": 0, "duration": 0},
        "not a whole frame": {"layer_id": 3, "start": 1.5},
        "not a number": {"layer_id": 3, "start": "soon"},
        "cannot read": ["layer", 3],
    }
    for words, message in refusals.items():
        with pytest.raises(PosterError, match=words):
            parse_edit(state, message)


def test_a_drag_goes_through_the_panel_path_and_shows_in_the_panel(session) -> None:
    prompt(session, 3, "the title fades in", phase="in", start_s=0, duration_s=1)
    view = handlers.set_timing(session, 3, 2, 4)
    assert not view.get("error"), view
    motion = session.state.motion(3)
    assert (motion.start, motion.duration, motion.phase) == (2, 4, "in")
    assert (view["motion"].start_s, view["motion"].duration_s) == (round(2 / FPS, 3), round(4 / FPS, 3))
    assert "from 0.33 s (frame 2) for 0.67 s (4 frames)" in view["status"]
    saved = json.loads((session.dir(AUTOSAVE_NAME) / MANIFEST).read_text())  # autosave has it too
    assert [(m["start"], m["duration"]) for m in saved["motions"] if m["layer_ids"] == [3]] == [(2, 4)]
    refused = handlers.set_timing(session, 3, 10, 4)
    assert refused["error"] and "would end after" in refused["status"]
    assert (session.state.motion(3).start, session.state.motion(3).duration) == (2, 4)  # unchanged


def test_a_linked_layer_rides_on_its_owner_and_cannot_be_dragged(session) -> None:
    assert not handlers.open_sample(session, "flower.psd").get("error")
    state = session.state
    state.timeline = Timeline(fps=FPS, frames=FRAMES)
    names = {layer.name: layer.id for layer in state.poster.layers}
    owner, follower = names["Pot"], names["Pot Shadow"]
    prompt(session, owner, "the pot sways")
    view = handlers.run_action(session, "animate", owner, FPS, FRAMES / FPS, MotionFields(prompt="the pot sways"))
    assert not view.get("error"), view
    rows = {r["layer_id"]: r for r in view["tracks"]["rows"]}
    assert rows[follower]["follows"] == "Pot" and not rows[follower]["editable"]
    assert (rows[follower]["start"], rows[follower]["span"]) == (rows[owner]["start"], rows[owner]["span"])
    refused = handlers.set_timing(session, follower, 1)
    assert refused["error"] and "drag Pot's bar instead" in refused["status"]


def test_a_click_on_a_rows_name_edits_that_layer(session) -> None:
    prompt(session, 2, "the sun floats")
    prompt(session, 3, "the title waves")
    session.state.selection = [3]
    view = handlers.focus_layer(session, 2)
    assert (session.state.selection, session.state.active) == ([3, 2], 2)
    assert view["motion"].prompt == "the sun floats" and view["active"][1] == 2
    assert handlers.focus_layer(session, 99)["error"]
    assert handlers.focus_layer(session, None)["error"]
