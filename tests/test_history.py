"""Undo and redo: the bounded snapshot history, and the editor's steps over a real session.

The session tests open a small real PSD (96×80, written by psd-tools) through the upload
path, so the autosave, the clip files and a restore in a new server are the real ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import animating, handlers, undoing
from app.history import HISTORY_FILE, describe
from app.motion_panel import MotionFields
from app.persist import restore
from app.session import SessionStore
from engine.core.history import History
from engine.core.poster import Box
from tests.helpers.psd_factory import write_layered_psd


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def snap(**parts: str) -> dict[str, str]:
    return dict(parts)


# --------------------------------------------------------------------------- the history itself


def test_undo_redo_and_a_new_edit_dropping_the_redo_branch() -> None:
    history = History(clock=Clock())
    assert not history.record(snap(a="0"), "baseline") and history.undo() is None
    history.record(snap(a="1"), "one")
    history.record(snap(a="2"), "two")
    assert (history.undo_label, history.redo_label) == ("two", None)
    assert history.undo() == ("two", {"a": "1"})
    assert history.undo() == ("one", {"a": "0"}) and history.undo() is None
    assert history.redo() == ("one", {"a": "1"}) and history.redo_label == "two"
    assert not history.record(snap(a="1"), "same"), "an unchanged project is no step"
    history.record(snap(a="3"), "three")
    assert history.redo() is None, "a new edit after an undo drops what could be redone"
    assert [e.label for e in history.entries] == ["", "one", "three"]


def test_a_burst_with_one_key_is_one_step_and_a_pause_or_an_undo_ends_it() -> None:
    clock = Clock()
    history = History(coalesce_s=4, clock=clock)
    history.record(snap(p='""'), "")
    for typed in ("t", "th", "the", "the sun"):
        clock.now += 0.3
        history.record(snap(p=typed), "prompt of Sun", key="prompt of Sun")
    assert len(history.entries) == 2 and history.undo() == ("prompt of Sun", {"p": '""'})
    history.redo()
    clock.now += 0.1
    history.record(snap(p="the sun rises"), "prompt of Sun", key="prompt of Sun")
    assert len(history.entries) == 3, "typing after a redo starts a new step"
    clock.now += 10
    history.record(snap(p="the sun rises slowly"), "prompt of Sun", key="prompt of Sun")
    assert len(history.entries) == 4, "typing after a pause starts a new step"
    clock.now += 1
    history.record(snap(p="the sun rises"), "prompt of Sun", key="prompt of Sun")
    assert len(history.entries) == 3 and history.undo_label == "prompt of Sun", \
        "typed back to where the step began: the step is gone"
    history.record(snap(p="x"), "Animate of Sun", key=None)
    history.record(snap(p="y"), "Animate of Sun", key=None)
    assert len(history.entries) == 5, "steps without a key never merge"


def test_the_history_is_bounded_and_lists_every_snapshot_it_keeps() -> None:
    history = History(limit=3, clock=Clock())
    for index in range(6):
        history.record(snap(a=str(index)), f"edit {index}")
    assert [s["a"] for s in history.snapshots()] == ["2", "3", "4", "5"]
    labels = [history.undo()[0] for _ in range(3)]
    assert labels == ["edit 5", "edit 4", "edit 3"] and history.undo() is None


def test_the_history_file_round_trips_and_a_damaged_one_is_refused() -> None:
    history = History(clock=Clock())
    history.record(snap(a="0", b="x"), "")
    history.record(snap(a="1", b="x"), "one", key="k")
    history.record(snap(a="2", b="x"), "two")
    history.undo()
    text = history.to_json()
    assert text.count('"x"') == 1, "a part shared by every step is stored once"
    again = History.from_json(text)
    assert (again.cursor, again.current, again.undo_label, again.redo_label) == (1, {"a": "1", "b": "x"}, "one", "two")
    doc = json.loads(text)
    for broken in ("{", "[]", json.dumps({**doc, "cursor": 7}), json.dumps({**doc, "format": "other"}),
                   json.dumps({**doc, "entries": [{"label": "", "parts": {"a": -1}}]})):
        with pytest.raises(ValueError):
            History.from_json(broken)


def test_a_change_is_described_by_what_changed() -> None:
    name = {2: "Sun", 3: "Title"}.get
    motion = {"layer_ids": [2], "prompt": "", "params": {}, "seed": 0, "box": None}
    before = {"timeline": '{"fps":24}', "motion:2": json.dumps(motion), "unlinked": "[]"}

    def after(**changes) -> dict[str, str]:
        return {**before, "motion:2": json.dumps({**motion, **changes})}

    assert describe(before, after(prompt="x", params={"preset": "float"}), name) == ("prompt of Sun", "prompt of Sun")
    grouped = {**before, "motion:3": json.dumps({**motion, "layer_ids": [3]})}
    shared = {"prompt": "all wave", "group": "group-2-3"}
    both = {**grouped, "motion:2": json.dumps({**motion, **shared}),
            "motion:3": json.dumps({**motion, "layer_ids": [3], **shared})}
    assert describe(grouped, both, name) == ("group prompt of Sun, Title", None)
    assert describe(before, after(params={"amplitude": 2}), name) == ("amplitude of Sun", "amplitude of Sun")
    assert describe(before, after(box=[1, 2, 3, 4]), name)[0] == "box of Sun"
    assert describe(before, {**before, "timeline": '{"fps":12}'}, name)[0] == "fps and length"
    assert describe(before, {**before, "unlinked": "[3]"}, name) == ("unlink of Title", None)
    fresh = {k: v for k, v in before.items() if k != "motion:2"}
    assert describe(fresh, before, name)[0] != "prompt of Sun", "a motion created with its defaults is no prompt"
    rerolled = {**after(seed=1), "clip:2": '{"frames":"clip-2-b.zip"}'}
    assert describe({**before, "clip:2": '{"frames":"clip-2-a.zip"}'}, rerolled, name) == ("Re-roll of Sun", None)
    assert describe(before, {**before, "clip:2": "{}", "clip:3": "{}"}, name)[0] == "Animate of Sun, Title"


# --------------------------------------------------------------------------- the editor's steps


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def session(data_dir: Path, tmp_path: Path):
    """A session on a real 96×80 PSD, opened through the upload path (source upload:small.psd)."""
    store = SessionStore(data_dir, restore=restore)
    session, _ = store.open(None)
    view = handlers.open_psd(session, str(write_layered_psd(tmp_path / "small.psd")), "small.psd")
    assert not view.get("error"), view["status"]
    handlers.set_timeline(session, 6, 1)
    return session


def sun(session) -> int:
    return next(layer.id for layer in session.state.poster.layers if layer.name == "Sun")


def type_prompt(session, layer_id: int, text: str) -> None:
    for end in range(1, len(text) + 1):  # one event per keystroke, as the page sends them
        handlers.edit_motion(session, layer_id, MotionFields(prompt=text[:end]), only=("prompt",))


def reopened(data_dir: Path, token: str):
    """The same browser session in a new server (nothing in memory)."""
    session, restored = SessionStore(data_dir, restore=restore).open(token)
    assert restored
    return session


def test_three_edits_undo_and_redo_through_a_reload(session, data_dir: Path) -> None:
    layer = sun(session)
    handlers.set_selection(session, [layer])
    type_prompt(session, layer, "the sun sways")
    handlers.edit_motion(session, layer, MotionFields(params={"amplitude": 0.9}), only=("amplitude",))
    handlers.edit_box(session, layer, 2, 4, 60, 50)
    handlers.set_selection(session, [])  # selecting is not an edit
    motion = session.state.motion(layer)
    done = (motion.prompt, motion.params.get("amplitude"), motion.box)
    assert done == ("the sun sways", 0.9, Box(2, 4, 60, 50))

    statuses = [undoing.undo(session)["status"] for _ in range(3)]
    assert statuses == ["✓ Undid the box of Sun.", "✓ Undid the amplitude of Sun.", "✓ Undid the prompt of Sun."]
    assert session.state.history.undo_label == "fps and length", "the fixture's timeline came before"
    motion = session.state.motion_of(layer)
    assert motion is None or (motion.prompt, motion.box) == ("", None)
    assert session.state.active == layer, "the layer an undo changed is the one shown"

    session = reopened(data_dir, session.token)
    assert session.state.history.redo_label == "prompt of Sun"
    for _ in range(3):
        view = undoing.redo(session)
        assert not view.get("error"), view["status"]
    motion = session.state.motion(layer)
    assert (motion.prompt, motion.params.get("amplitude"), motion.box) == done
    assert view["motion"].prompt == "the sun sways" and view["box"] == (2, 4, 60, 50), "the panel shows it"
    session = reopened(data_dir, session.token)
    assert undoing.undo(session)["status"] == "✓ Undid the box of Sun."


def test_undoing_an_animate_or_a_reroll_points_the_layer_back_at_its_take(session) -> None:
    layer = sun(session)
    handlers.set_selection(session, [layer])
    type_prompt(session, layer, "the sun floats")
    assert not animating.animate(session).get("error")
    first = session.state.clips[layer]
    first_file, first_frames = first.source.path, first.frames.copy()
    assert not animating.reroll(session, layer).get("error")
    second_file = session.state.clips[layer].source.path
    assert second_file != first_file and first_file.exists(), "each take in a file of its own"

    view = undoing.undo(session)
    assert view["status"] == "✓ Undid the Re-roll of Sun." and view["preview"]
    assert session.state.clips[layer].source.path == first_file
    assert (session.state.clips[layer].frames == first_frames).all()
    assert session.state.motion(layer).seed == 0
    assert undoing.undo(session)["status"] == "✓ Undid the Animate of Sun."
    assert layer not in session.state.clips and first_file.exists(), "a redo still needs it"
    undoing.redo(session)
    assert session.state.clips[layer].source.path == first_file

    type_prompt(session, layer, "!")  # a new edit: the re-roll can no longer be redone
    assert not second_file.exists() and first_file.exists()


def test_clip_files_that_fall_off_the_bounded_history_are_deleted(session) -> None:
    layer = sun(session)
    handlers.set_selection(session, [layer])
    handlers.edit_motion(session, layer, MotionFields(prompt="the sun floats"), only=("prompt",))
    session.state.history.limit = 1  # one undoable step: the take before the newest is the oldest kept
    files = []
    for _ in range(3):
        assert not animating.reroll(session, layer).get("error")
        files.append(session.state.clips[layer].source.path)
    autosave_files = {p.name for p in files[0].parent.glob("clip-*.zip")}
    assert autosave_files == {files[1].name, files[2].name}, "the oldest take fell off with its step"
    assert undoing.undo(session)["status"] == "✓ Undid the Re-roll of Sun."
    assert session.state.clips[layer].source.path == files[1]
    assert undoing.undo(session)["status"] == "Nothing to undo."


def test_a_damaged_or_foreign_history_file_means_an_empty_history(session, data_dir: Path) -> None:
    layer = sun(session)
    handlers.edit_motion(session, layer, MotionFields(prompt="the sun floats"), only=("prompt",))
    path = session.folder / "autosave" / HISTORY_FILE
    path.write_text('{"format": "poster-animator-history", "version": 1, "parts": [], "entr')
    again = reopened(data_dir, session.token)
    assert again.state.motion(layer).prompt == "the sun floats"
    assert again.state.history.undo_label is None and undoing.undo(again)["status"] == "Nothing to undo."
    handlers.edit_motion(again, layer, MotionFields(prompt="the sun sinks"), only=("prompt",))
    assert json.loads(path.read_text())["cursor"] == 1, "the next edit writes a good one"
    # a history that ends elsewhere than the autosave (written by another step) is not used
    data = json.loads((session.folder / "autosave" / "editor.json").read_text())
    data["motions"][0]["prompt"] = "changed behind the history's back"
    (session.folder / "autosave" / "editor.json").write_text(json.dumps(data))
    assert reopened(data_dir, session.token).state.history.undo_label is None


def test_opening_another_poster_clears_the_history(session, tmp_path: Path) -> None:
    handlers.edit_motion(session, sun(session), MotionFields(prompt="the sun floats"), only=("prompt",))
    assert session.state.history.undo_label == "prompt of Sun"
    handlers.open_psd(session, str(write_layered_psd(tmp_path / "other.psd")), "other.psd")
    assert session.state.history.undo_label is None and undoing.undo(session)["status"] == "Nothing to undo."
