"""The preview's scaled layers and static composites are made before Animate (a poster
opened, a layer selected) and the render then takes them instead of making its own: the
same frames, one compositing of the static layers (issue 16's missed Animate target)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app import animating, handlers, warmup
from app.motion_panel import MotionFields
from app.persist import restore
from app.session import SessionStore
from engine.render import compositor, scale
from engine.render.compositor import iter_frames, prepare_preview
from tests.test_compositor_collapse import moving_clip, sample_poster


@pytest.fixture
def composited(monkeypatch) -> list[int]:
    """Nothing kept yet; each compositing of a preview's static layers is counted."""
    warmup.wait()  # an earlier test's warm-up must not be counted here
    monkeypatch.setattr(compositor, "_kept", [])
    monkeypatch.setattr(scale, "_kept", [])
    calls: list[int] = []
    real = compositor._composited

    def counted(poster, drawn, lowest, canvas_type):
        calls.append(lowest)
        return real(poster, drawn, lowest, canvas_type)

    monkeypatch.setattr(compositor, "_composited", counted)
    return calls


def test_a_prepared_preview_is_what_the_render_uses_and_draws_the_same(composited, monkeypatch):
    poster = sample_poster("flower")
    clips = [moving_clip(poster.layer("Bloom"), 3, 6)]
    prepare_preview(poster, [], 0.25)  # a poster just opened: nothing moves yet, layers scaled only
    assert composited == [] and scale._kept
    prepare_preview(poster, [poster.layer("Bloom").id], 0.25)
    assert len(composited) == 1
    prepared = [frame.copy() for frame in iter_frames(poster, clips, scale=0.25)]
    assert len(composited) == 1, "the render composited the static layers again"
    monkeypatch.setattr(compositor, "_kept", [])
    monkeypatch.setattr(scale, "_kept", [])
    fresh = [frame.copy() for frame in iter_frames(poster, clips, scale=0.25)]
    assert len(composited) == 2
    for mine, theirs in zip(prepared, fresh, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_a_render_waits_for_the_warm_up_under_way_instead_of_compositing_again(composited, monkeypatch):
    poster = sample_poster("flower")
    bloom = poster.layer("Bloom")
    started = threading.Event()
    counted = compositor._composited

    def slow(*args):
        started.set()
        time.sleep(0.3)  # the render below asks meanwhile
        return counted(*args)

    monkeypatch.setattr(compositor, "_composited", slow)
    warming = threading.Thread(target=prepare_preview, args=(poster, [bloom.id], 0.25))
    warming.start()
    assert started.wait(10)
    frames = [frame.copy() for frame in iter_frames(poster, [moving_clip(bloom, 2, 6)], scale=0.25)]
    warming.join()
    assert len(composited) == 1 and len(frames) == 2


def test_selecting_a_layer_prepares_the_preview_that_animate_then_takes(tmp_path: Path, composited):
    session, _ = SessionStore(tmp_path, restore=restore).open(None)
    handlers.start(session, False)
    balloon = session.state.poster.layer("Balloon").id
    handlers.set_selection(session, [balloon])
    warmup.wait()
    assert len(composited) == 1  # under the balloon's linked shadow, which moves with it
    handlers.edit_motion(session, balloon, MotionFields(prompt="the balloon drifts up gently"))
    handlers.set_timeline(session, 12, 1)
    view = animating.animate(session, "selected")
    assert not view.get("error"), view["status"]
    assert len(composited) == 1, "Animate composited the static layers again"
