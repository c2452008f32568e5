"""The canvas and its messages in real Chromium: no rotate control, only the selected layers'
boxes drawn (read from the annotator's own canvas pixels: a box's colour names its layer),
the gallery's three columns inside the panel, the layer preview at the layer's own size,
and each message beside the button that caused it, a refusal staying until the next."""

from __future__ import annotations

import base64
import io
import re
import time

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from app.canvas import box_color
from tests.e2e.test_editor_browser import STEP_MS, click_when_idle, edit_layer, laid_out, select_layer, set_number, wait_status

pytestmark = pytest.mark.e2e

NEAR_PX = 60  # a message this close under its button is read with it
MIN_BOX_PIXELS = 40  # a drawn box: its outline and eight resize handles in exactly its colour


def drawn_box_layers(page: Page, candidates: range) -> set[int]:
    """The layers whose motion box the annotator has drawn on its canvas right now."""
    data = page.locator("#canvas canvas").evaluate("c => c.width && c.height ? c.toDataURL('image/png') : ''")
    if not data:  # the annotator is re-laying its canvas out (0×0): nothing is drawn this instant
        return set()
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data.split(",", 1)[1]))).convert("RGB"))
    packed = (pixels[..., 0].astype(np.int32) << 16) | (pixels[..., 1].astype(np.int32) << 8) | pixels[..., 2]
    values, counts = np.unique(packed, return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist()))
    drawn = set()
    for layer_id in candidates:
        r, g, b = box_color(layer_id)
        if found.get((r << 16) | (g << 8) | b, 0) >= MIN_BOX_PIXELS:
            drawn.add(layer_id)
    return drawn


def wait_drawn(page: Page, candidates: range, count: int) -> set[int]:
    """The layers drawn once `count` boxes are (or what is drawn when the wait runs out)."""
    deadline = time.monotonic() + STEP_MS / 1000
    while True:
        drawn = drawn_box_layers(page, candidates)
        if len(drawn) == count or time.monotonic() > deadline:
            return drawn
        time.sleep(0.3)


def just_under(message: Page, button: Page) -> None:
    """`message` is visible and starts within NEAR_PX below `button`, overlapping its column."""
    expect(message).to_be_visible(timeout=STEP_MS)
    text, under = laid_out(message), laid_out(button)
    assert 0 <= text["y"] - (under["y"] + under["height"]) <= NEAR_PX, (text, under)
    assert text["x"] < under["x"] + under["width"] and under["x"] < text["x"] + text["width"], (text, under)


def test_canvas_marks_only_the_selection_and_messages_sit_by_their_buttons(editor_url: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(editor_url)
    wait_status(page, r"Opened the sample poster")
    ids = range(-1, page.locator("#layers-list input").count() + 8)  # psd-tools' ids, -1 for a background

    # Nothing turns the poster sideways; the annotator's own controls are still there.
    expect(page.locator('#canvas button[aria-label="Create box"]')).to_be_visible(timeout=STEP_MS)
    rotate = page.locator('#canvas button[aria-label^="Rotate"]')
    assert rotate.count() == 0 or not any(button.is_visible() for button in rotate.all())

    # The layers gallery shows its three columns inside the panel.
    gallery = laid_out(page.locator("#layers-gallery"))
    row = [laid_out(item) for item in page.locator("#layers-gallery .thumbnail-item").all()[:3]]
    assert len(row) == 3 and len({round(b["y"]) for b in row}) == 1, row
    assert all(gallery["x"] <= b["x"] and b["x"] + b["width"] <= gallery["x"] + gallery["width"] + 1 for b in row)

    # Only the selected layers' boxes are drawn on the canvas.
    assert wait_drawn(page, ids, 0) == set()
    select_layer(page, "Title")
    title = wait_drawn(page, ids, 1)
    assert len(title) == 1
    select_layer(page, "Small Balloon")
    both = wait_drawn(page, ids, 2)
    assert len(both) == 2 and title < both
    select_layer(page, "Title")  # unticked: its box goes
    assert wait_drawn(page, ids, 1) == both - title

    # Export with nothing animated: the refusal shows under Export, tinted, and stays there
    # (no toast that fades) until the next message, which shows under its own button.
    edit_layer(page, "Small Balloon", "the small balloon drifts up")
    set_number(page, "fps", 12)
    set_number(page, "duration", 1)
    click_when_idle(page, "#export")
    expect(page.locator("#export-status")).to_contain_text("Nothing is animated yet", timeout=STEP_MS)
    expect(page.locator("#export-status")).to_have_class(re.compile("status-problem"))
    just_under(page.locator("#export-status"), page.locator("#export"))
    page.wait_for_timeout(2000)
    expect(page.locator("#export-status")).to_contain_text("Nothing is animated yet")
    click_when_idle(page, "#animate-selected")
    expect(page.locator("#action-status")).to_contain_text("Animated Small Balloon", timeout=STEP_MS)
    just_under(page.locator("#action-status"), page.locator("#animate-selected"))
    expect(page.locator("#export-status")).to_be_hidden()

    # The layer preview plays the layer at its own size (at most twice), never blown up.
    box_w = int(float(page.locator("#box-w input").input_value()))
    click_when_idle(page, "#preview-layer")
    video = page.locator("#layer-preview video")
    expect(video).to_have_attribute("src", re.compile(r"layer-"), timeout=STEP_MS)
    # Gradio may swap the <video> element while the value lands: read the element that is in
    # the page at each poll, once it is laid out and knows its video's size.
    sizes = page.wait_for_function(
        """() => {
            const v = document.querySelector('#layer-preview video');
            if (!v || !v.videoWidth) return null;
            const shown = v.getBoundingClientRect().width;
            return shown > 0 ? {natural: v.videoWidth, shown} : null;
        }""",
        timeout=STEP_MS,
    ).json_value()
    natural, shown = sizes["natural"], {"width": sizes["shown"]}
    assert natural <= box_w and 0 < shown["width"] <= 2 * box_w, (shown, natural, box_w)
    context.close()
