"""Live preview (app.live) through the handlers: stale detection, draft then full, a newer
edit superseding an older render, generative layers waiting for Animate, and a reopened
project's preview made from its saved clips (issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app import animating, exporting, handlers, live, undoing
from app.history import hint
from app.motion_panel import MotionFields
from app.persist import restore
from app.session import Session, SessionStore
from tests.helpers.video_decode import decode

FPS, SECONDS = 12, 1


@pytest.fixture
def animated(tmp_path: Path) -> tuple[Session, int]:
    """The balloon sample with the balloon animated (its shadow follows)."""
    session, _ = SessionStore(tmp_path, restore=restore).open(None)
    handlers.start(session, False)
    balloon = session.state.poster.layer("Balloon").id
    handlers.set_selection(session, [balloon])
    handlers.edit_motion(session, balloon, MotionFields(prompt="the balloon drifts up gently"))
    handlers.set_timeline(session, FPS, SECONDS)
    view = animating.animate(session, "selected")
    assert not view.get("error"), view["status"]
    return session, balloon


def move_amplitude(session: Session, layer: int, value: float) -> None:
    motion = session.state.motion(layer)
    fields = MotionFields(engine="presets", prompt=motion.prompt, params={**motion.params, "amplitude": value})
    view = handlers.edit_motion(session, layer, fields, only=("amplitude",))
    assert not view.get("error"), view


def clip_bytes(session: Session) -> dict[int, bytes]:
    """Each animated layer's current clip file, as autosave keeps it."""
    return {layer_id: Path(clip.source.path).read_bytes() for layer_id, clip in session.state.clips.items()}


def test_a_parameter_change_previews_a_draft_then_the_full_render(animated):
    session, balloon = animated
    assert live.stale_layers(session.state) == []
    assert live.draft(session) == {}, "nothing changed: nothing is rendered"
    before = decode(handlers.full_view(session)["preview"])
    saved = clip_bytes(session)

    move_amplitude(session, balloon, 0.9)
    assert live.stale_layers(session.state) == [balloon]
    draft = live.draft(session)
    assert draft["status"].startswith("Draft preview of Balloon"), draft
    small = decode(draft["preview"])
    assert small.shape[0] == FPS * SECONDS and max(small.shape[1:3]) <= live.DRAFT_MAX_SIDE + 1
    assert clip_bytes(session) == saved, "a draft saves nothing"

    full = live.full(session)
    assert full["status"].startswith("✓ Preview is current: Balloon"), full
    after = decode(full["preview"])
    assert after.shape == before.shape
    assert np.abs(after.astype(int) - before.astype(int)).max() > 40, "the new amplitude shows"
    assert live.stale_layers(session.state) == []
    changed = {layer for layer, data in clip_bytes(session).items() if saved.get(layer) != data}
    assert changed == {balloon, session.state.poster.layer("Balloon Shadow").id}

    # The re-render belongs to the edit: one Ctrl+Z takes back the setting and its clip (an
    # undo step of its own would leave the old setting unreachable: undoing it would make the
    # clip stale again and the live preview would redo it).
    assert hint(session.state)[0] == "amplitude of Balloon"
    undoing.undo(session)
    assert session.state.motion(balloon).params["amplitude"] != 0.9
    assert clip_bytes(session) == saved and live.stale_layers(session.state) == []
    undoing.redo(session)
    assert session.state.motion(balloon).params["amplitude"] == 0.9 and live.stale_layers(session.state) == []


def test_a_newer_edit_supersedes_a_draft_still_rendering(animated, monkeypatch):
    session, balloon = animated
    move_amplitude(session, balloon, 0.7)
    write = animating._write_video

    def edited_meanwhile(*args, **kwargs):
        live.Superseded.newest(session)  # what the next edit's refresh does first
        return write(*args, **kwargs)

    monkeypatch.setattr(animating, "_write_video", edited_meanwhile)
    assert live.draft(session) == {}, "the superseded draft stops and shows nothing"
    monkeypatch.setattr(animating, "_write_video", write)
    assert live.stale_layers(session.state) == [balloon], "and its layer is still to be refreshed"


def test_a_generative_layer_is_marked_stale_never_run(animated, monkeypatch):
    session, balloon = animated
    motion = session.state.motion(balloon)
    motion.engine, motion.params = "i2v", {}  # the panel switched to the i2v engine (its defaults)
    monkeypatch.setattr(animating, "_run", lambda *a, **k: pytest.fail("no engine may run on an edit"))
    view = live.draft(session)
    assert "preview" not in view
    assert "Preview is stale for Balloon" in view["status"] and "press ▶ Animate" in view["status"]
    assert live.full(session) == {}


def test_a_reopened_project_previews_its_saved_clips_at_once(animated, tmp_path):
    session, _ = animated
    reference = decode(handlers.full_view(session)["preview"])
    saved = exporting.save_project(session)["project_file"]
    other, _ = SessionStore(tmp_path / "other", restore=restore).open(None)
    handlers.start(other, False)
    view = exporting.open_project(other, saved)
    assert not view.get("error"), view["status"]
    shown = decode(view["preview"])
    assert shown.shape == reference.shape
    assert np.abs(shown.astype(int) - reference.astype(int)).mean() < 2
    assert live.stale_layers(other.state) == [], "its clips count as made from its saved settings"
