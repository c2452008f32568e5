"""Linked and hidden layers in the editor's logic (no browser) and in the LLM planner's request."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from app import animating, handlers, views
from app.persist import restore
from app.session import SessionStore
from app.state import EditorState
from engine.core.links import FOLLOWS_PARAM
from engine.core.poster import Box, LayerKind, Poster
from engine.core.project import Project, Timeline
from engine.planning import plan
from tests.helpers.layers import solid_layer
from tests.test_planner_llm import answer, server  # noqa: F401  (the real local chat server fixture)


@pytest.fixture
def linked_poster() -> Poster:
    return Poster(width=96, height=64, name="linked", layers=[
        solid_layer(1, "Paper", Box(0, 0, 96, 64), (230, 220, 200, 255)),
        solid_layer(2, "Title Shadow", Box(22, 12, 40, 10), (0, 0, 0, 140), blend_mode="multiply"),
        solid_layer(3, "Title", Box(20, 10, 40, 10), (200, 40, 40, 255), kind=LayerKind.TEXT, text="HI"),
        solid_layer(4, "Fill 2", Box(60, 40, 16, 16), (40, 200, 40, 255), visible=False),
    ])


@pytest.fixture
def session(tmp_path: Path, linked_poster: Poster):
    session, _ = SessionStore(tmp_path / "data", restore=restore).open(None)
    session.state = EditorState(project=Project(poster=linked_poster, timeline=Timeline(fps=6, frames=6), source=""))
    return session


def test_the_editor_shows_moves_unlinks_and_stills_a_linked_layer(session) -> None:
    state = session.state
    labels = dict((i, label) for label, i in views.selection_view(session)["layers"][0])
    assert labels[2].endswith("↳ follows Title") and "follows" not in labels[3]

    view = handlers.set_selection(session, [2])
    assert view["status"].startswith("Title Shadow moves with Title")
    assert view["link"][1] == "Unlink from Title"
    view = handlers.set_selection(session, [3])
    assert view["link"] == ("Title Shadow moves with Title.", None)

    state.motion(3).prompt = "floats"
    view = animating.animate(session)
    assert "Title Shadow moves with Title." in view["status"]
    assert state.clips[2].params[FOLLOWS_PARAM] == 3 and state.clips[2].preset == state.clips[3].preset
    assert state.motion_of(2) is None  # it follows; it has no motion of its own

    view = handlers.toggle_link(session, 2)
    assert "unlinked from Title" in view["status"]
    assert dict((i, l) for l, i in view["layers"][0])[2].endswith("(unlinked from Title)")
    saved = json.loads((session.dir("autosave") / "editor.json").read_text())
    assert saved["unlinked"] == [2] and saved["links"] == {"2": 3}
    view = animating.animate(session)
    assert 2 not in state.clips and "moves with" not in view["status"]

    assert "moves with Title again" in handlers.toggle_link(session, 2)["status"]
    animating.animate(session)
    assert state.clips[2].params[FOLLOWS_PARAM] == 3


def test_animating_a_hidden_layer_says_it_will_not_show(session) -> None:
    handlers.set_selection(session, [4])
    session.state.motion(4).prompt = "spins"
    view = animating.animate(session)
    assert "'Fill 2' is hidden in the PSD" in view["status"] and "layered bundle keeps its clip" in view["status"]


def test_the_llm_planner_is_told_full_bleed_and_linked_layers(server, linked_poster) -> None:  # noqa: F811
    # the LLM answers for the title only; the shadow's box follows the title's
    server.responder = lambda r, n: answer(r, {3: (16, 0, 48, 32)}, "float")
    (result,) = plan(linked_poster, [(["Title", "Title Shadow"], "floats gently")])
    sent = server.received[0]
    layers = {layer["id"]: layer for layer in sent.payload["layers"]}
    assert sent.payload["request"]["layer_ids"] == [3]
    assert layers[2]["follows"] == 3 and layers[2]["to_plan"] is False
    assert layers[1]["full_bleed"] is True and "full_bleed" not in layers[3]
    assert "full_bleed" in sent.body["messages"][0]["content"] and "follows" in sent.body["messages"][0]["content"]
    assert sent.schema["properties"]["boxes"]["items"]["properties"]["layer_id"]["enum"] == [3]
    assert result.source == "llm"
    title, shadow = result.layer_boxes[3], result.layer_boxes[2]
    assert shadow.contains(linked_poster.layer(2).box)
    # the title's room, carried over by the 2 px offset between the two layers
    assert shadow.contains(Box(title.x + 2, title.y + 2, title.w, title.h))


def test_an_llm_answer_that_plans_a_follower_on_its_own_is_refused(server, linked_poster) -> None:  # noqa: F811
    def planned_both(received, attempt):
        reply = answer(received, {3: (16, 0, 48, 32)}, "float")
        body = json.loads(reply.body["choices"][0]["message"]["content"])
        body["boxes"].append({"layer_id": 2, "x": 0, "y": 0, "width": 96, "height": 64})
        reply.body["choices"][0]["message"]["content"] = json.dumps(body)
        return reply

    server.responder = planned_both
    (result,) = plan(linked_poster, [(["Title", "Title Shadow"], "floats gently")])
    assert result.source == "heuristic"
    assert "linked layer moves with the layer it follows" in result.message


def test_the_bundle_manifest_says_which_clips_follow_which_layer(tmp_path, linked_poster) -> None:
    from engine.export.bundle import read_manifest, write_bundle
    from engine.motion import MotionRequest, get_engine
    from engine.motion.follow import animate_with_followers
    from engine.render.compositor import poster_stream

    title = linked_poster.layer("Title")
    request = MotionRequest(layer=title, box=Box(16, 4, 48, 24), params={"preset": "float"}, frames=4, fps=4)
    clips = animate_with_followers(get_engine("presets"), [request], {3: [linked_poster.layer("Title Shadow")]})
    by_id = {clip.layer_id: clip for clip in clips}
    linked = write_bundle(tmp_path / "linked.zip", linked_poster, by_id, poster_stream(linked_poster, clips, 4, fps=4), 4)
    assert read_manifest(linked).links == {2: 3}
    alone = write_bundle(tmp_path / "alone.zip", linked_poster, {3: by_id[3]},
                         poster_stream(linked_poster, [by_id[3]], 4, fps=4), 4)
    assert read_manifest(alone).links == {}
    with zipfile.ZipFile(alone) as archive:
        assert "links" not in json.loads(archive.read("manifest.json"))
