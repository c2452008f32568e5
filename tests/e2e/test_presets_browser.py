"""The preset engine as a designer meets it in the editor, in real headless Chromium.

A corpus poster's full-bleed background shows the widgets of the motion that will play
(a "drift" on a layer covering the poster pans: pan's widgets, not travel's Mode and
Crop), and a prompt typed and animated at once is the prompt that animates.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.test_editor_browser import CORPUS_DIR, STEP_MS, click_when_idle, select_layer, set_number, status, upload_psd, wait_status

pytestmark = pytest.mark.e2e

MASKS = CORPUS_DIR / "psd-tools__psd-tools" / "tests" / "psd_files" / "masks.psd"
BACKGROUND = "Color Fill 1"  # 640×1394 at (0, 0): the whole poster


def visible_param_labels(page) -> set[str]:
    """The labels of the parameter widgets the panel shows now."""
    labels = page.locator("#engine-params [data-testid='block-info']:visible")
    return {text.strip() for text in labels.all_inner_texts() if text.strip()}


def test_full_bleed_background_shows_the_widgets_of_the_motion_that_plays_and_animate_takes_the_typed_prompt(
    editor_url: str, browser: Browser, artifacts
) -> None:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(editor_url)
    wait_status(page, r"Opened the sample poster")
    upload_psd(page, MASKS)

    select_layer(page, BACKGROUND)
    expect(page.locator("#active-layer input")).to_have_value(BACKGROUND, timeout=STEP_MS)
    prompt = page.locator("#motion-prompt textarea")
    note = page.locator("#preset-note")

    # A pasted prompt (no key press, so no `input` event) is read when the field is left;
    # a "drift" on the layer covering the poster pans: pan's widgets, not travel's.
    prompt.fill("the background drifts slowly to the left")
    prompt.blur()
    expect(note).to_contain_text("Pan (Ken Burns)", timeout=STEP_MS)
    expect(note).to_contain_text("moves inside its own frame", timeout=STEP_MS)
    expect(page.locator("#engine-params").first).to_contain_text("Direction", timeout=STEP_MS)
    labels = visible_param_labels(page)
    shown = page.locator("#engine-params").first.inner_text()  # hidden widgets have no text
    assert "Direction" in labels and not {"Mode", "Crop"} & labels, labels
    assert "Crop" not in shown and "Mode" not in shown, shown
    page.screenshot(path=str(artifacts / "presets-01-full-bleed-pan-widgets.png"), full_page=True)

    # Type a new prompt and press Animate at once: the typed words animate, nothing older.
    set_number(page, "fps", 8)  # a short, small timeline keeps the check quick
    set_number(page, "duration", 1)
    prompt.fill("")
    prompt.press_sequentially("the background zooms in slowly")
    click_when_idle(page, "#animate-selected")
    wait_status(page, r"Animated|⚠")
    text = status(page).inner_text()
    page.screenshot(path=str(artifacts / "presets-02-typed-then-animated.png"), full_page=True)
    assert "Animated" in text and "Understood: Push in" in text and "No motion prompt" not in text, text
    expect(note).to_contain_text("Understood: Push in", timeout=STEP_MS)
    assert "'slowly'" in note.inner_text()
    assert not errors, errors
    context.close()
