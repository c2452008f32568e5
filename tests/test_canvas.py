"""The canvas as a designer's tool, without a browser: only the selected layers are marked,
their names sit beside their boxes off the art, a box's colour names its layer, the motion
trail is read from the clip, and the side panels follow the selection and the open file."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gradio_image_annotation
from app import animating, exporting, handlers, views
from app import canvas as cv
from app.motion_panel import MotionFields
from app.persist import restore
from app.session import SessionStore
from app.state import EditorState
from engine.core.clip import LayerClip
from engine.core.poster import Box, Poster
from engine.core.project import Project, Timeline
from tests.helpers.layers import solid_layer


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "data", restore=restore)


@pytest.fixture
def session(store: SessionStore, tiny_poster: Poster):
    session, _ = store.open(None)
    session.state = EditorState(project=Project(poster=tiny_poster, timeline=Timeline(fps=6, frames=6), source=""))
    return session


def widget_new_box_colors() -> list[tuple[int, int, int]]:
    """The colours the installed annotator gives a box the designer draws, read from its script."""
    folder = Path(gradio_image_annotation.__file__).parent / "templates" / "component"
    script = next(folder.glob("Index-*.js")).read_text()
    lists = re.findall(r'=\s*\[((?:\s*"rgb\(\d+, \d+, \d+\)",?){8,})\s*\]', script)
    assert lists, "the annotator's default box colours were not found in its script"
    return [tuple(map(int, rgb)) for rgb in re.findall(r"rgb\((\d+), (\d+), (\d+)\)", lists[0])]


def test_a_box_colour_names_its_layer_and_a_drawn_box_names_none() -> None:
    ids = [0, 1, 2, 9, 10, 3 + cv.ID_SPAN, 511, 512, 1000]
    poster = Poster(width=64, height=48, layers=[solid_layer(i, f"L{i}", Box(0, 0, 4, 4), (9, 9, 9, 255)) for i in ids])
    for layer_id in ids:
        assert cv.color_layer_id(cv.box_color(layer_id), poster, [layer_id]) == layer_id
        assert max(abs(a - b) for a, b in zip(cv.box_color(layer_id), cv.layer_color(layer_id))) < 8
    assert cv.color_layer_id(cv.box_color(3), poster) is None  # no layer 3 in this poster
    # Every colour the widget gives a new box misses every box colour, whatever the id.
    defaults = widget_new_box_colors()
    for rgb in defaults:
        for base in cv.PALETTE:
            assert tuple(c & ~7 for c in rgb) != tuple(c & ~7 for c in base), rgb
    assert all(cv.color_layer_id(rgb, poster) is None for rgb in defaults)


def test_boxes_without_labels_round_trip_and_a_drawn_box_goes_to_the_layer_being_edited(tiny_poster) -> None:
    view = cv.CanvasView.for_poster(tiny_poster)
    boxes = {2: Box(4, 4, 30, 24), 3: Box(18, 28, 34, 12)}
    value = cv.annotation_value("canvas.png", tiny_poster, view, boxes)
    assert [b["label"] for b in value["boxes"]] == ["", ""]
    back = cv.read_annotation(value, tiny_poster, view, [2, 3], 3, current=boxes)
    assert back.boxes == boxes and back.removed == [] and back.notes == []
    sun, title = value["boxes"]
    moved = {**title, "xmin": title["xmin"] - 2, "xmax": title["xmax"] - 2}
    assert cv.read_annotation({"boxes": [moved]}, tiny_poster, view, [2, 3], 3, boxes).removed == [2]
    assert cv.read_annotation({"boxes": [moved]}, tiny_poster, view, [2, 3], 3, boxes).boxes[3] == Box(16, 28, 34, 12)
    drawn = {"xmin": 2, "ymin": 2, "xmax": 40, "ymax": 30, "label": "", "color": widget_new_box_colors()[1]}
    assert cv.drawing_in_progress({"boxes": [{**drawn, "xmax": 2, "ymax": 2}, sun]}, tiny_poster)
    assert not cv.drawing_in_progress({"boxes": [drawn, sun]}, tiny_poster)
    edit = cv.read_annotation({"boxes": [drawn, sun]}, tiny_poster, view, [2], 2, {2: boxes[2]})
    assert edit.boxes == {2: Box(2, 2, 38, 28)}  # the drawn box replaces the edited layer's


def test_label_goes_beside_its_box_where_there_is_no_art() -> None:
    art = np.zeros((100, 80), dtype=bool)
    box = {"xmin": 20, "ymin": 40, "xmax": 60, "ymax": 60}
    art[20:40, :] = True  # a title just above the box
    x, y = cv.place_label(box, (30, 12), art)
    assert y >= 60 and 0 <= x <= 50  # below it
    art[:] = False
    art[60:80, :] = True  # art just below instead
    assert cv.place_label(box, (30, 12), art)[1] + 12 <= 40
    tall = {"xmin": 0, "ymin": 0, "xmax": 80, "ymax": 100}  # no room outside: just inside an edge
    x, y = cv.place_label(tall, (30, 12), np.zeros((100, 80), bool))
    assert 0 <= y and y + 12 <= 100 and x + 30 <= 80
    first = cv.place_label(box, (30, 12), np.zeros((100, 80), bool))
    second = cv.place_label(box, (30, 12), np.zeros((100, 80), bool), [(first[0], first[1], first[0] + 30, first[1] + 12)])
    assert second != first  # two labels never stack


def test_only_selected_layers_are_marked_and_labelled_off_the_art() -> None:
    sun, title = Box(40, 40, 40, 40), Box(20, 90, 160, 20)
    poster = Poster(width=200, height=150, layers=[
        solid_layer(1, "Sky", Box(0, 0, 200, 150), (30, 60, 90, 255)),
        solid_layer(2, "Sun", sun, (250, 200, 40, 255)),
        solid_layer(3, "Title", title, (255, 255, 255, 255)),
    ])
    view = cv.CanvasView.for_poster(poster)
    static = np.zeros((150, 200, 4), np.uint8)
    static[..., :3], static[..., 3] = (30, 60, 90), 255
    for layer in poster.layers[1:]:
        static[layer.box.y:layer.box.bottom, layer.box.x:layer.box.right] = layer.pixels
    plain = cv.overview_image(static, poster, view)
    assert np.array_equal(plain, cv.over_checkerboard(static))  # nothing selected: the bare poster
    marked = cv.overview_image(static, poster, view, [2], {2: sun})
    changed = np.argwhere(np.any(marked != plain, axis=-1))
    assert len(changed) > 50
    on_title = (changed[:, 0] >= title.y) & (changed[:, 0] < title.bottom)
    assert not on_title.any()  # the Sun's name went above it, not onto the title just below
    label_rows = changed[changed[:, 0] < sun.y - 1, 0]
    assert len(label_rows) > 30
    # the backdrop is made once per poster picture and kept: the marks drawn on it stay out of it
    assert np.array_equal(cv.overview_image(static, poster, view), plain)
    assert np.array_equal(cv.overview_image(static.copy(), poster, view), plain)


def test_trail_is_the_alpha_centroid_of_the_clip(tiny_poster) -> None:
    frames = np.zeros((8, 10, 40, 4), np.uint8)
    for k in range(8):
        frames[k, 3:7, 2 * k:2 * k + 4] = 255
    frames[5] = 0  # hidden in that frame: no point
    clip = LayerClip(2, Box(10, 5, 40, 10), frames)
    points = cv.trail_points(clip)
    assert points == [(10 + 2 * k + 2.0, 5 + 5.0) for k in range(8) if k != 5]
    still = np.repeat(frames[:1], 6, axis=0)
    assert cv.trail_points(LayerClip(2, Box(10, 5, 40, 10), still)) == []


def test_animating_draws_the_layers_path_on_the_canvas(session) -> None:
    handlers.set_selection(session, [2])
    before = np.asarray(Image.open(views.canvas_view(session)["canvas"]["image"]))
    handlers.edit_motion(session, 2, MotionFields(prompt="the sun drifts up"))
    view = animating.animate(session)
    assert not view.get("error"), view.get("status")
    trail = cv.trail_points(session.state.clips[2])
    ys = [y for _, y in trail]
    assert len(trail) >= 3 and min(ys) < ys[0] - 1  # it rises
    after = np.asarray(Image.open(view["canvas"]["image"]))
    assert np.any(after != before)


def test_plan_notes_follow_the_selection(session) -> None:
    for layer_id, why in ((2, "the sun rises"), (3, "the title waves")):
        motion = session.state.motion(layer_id)
        motion.rationale, motion.planned_by = why, "heuristic"
    assert "sun rises" in handlers.set_selection(session, [2])["plans"]
    plans = handlers.set_selection(session, [3])["plans"]
    assert "title waves" in plans and "sun" not in plans
    assert handlers.set_selection(session, [])["plans"] == ""


def test_sample_picker_names_the_open_project(store: SessionStore, session) -> None:
    names = views.samples()
    session.state.project.source = f"sample:{names[0]}"
    assert views.full_view(session)["samples"] == (names, names[0])
    saved = exporting.save_project(session)["project_file"]
    other, _ = store.open(None)
    view = exporting.open_project(other, saved)
    choices, value = view["samples"]
    assert value == other.state.source_name and value.startswith("project:")
    label = dict((v, k) for k, v in choices)[value]
    assert "opened project" in label and Path(saved).name in label
    assert [v for _, v in choices[1:]] == names
    assert handlers.open_sample(other, value) == {}  # picking it again changes nothing
    assert other.state.source_name == value

