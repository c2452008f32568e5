"""The timeline in real Chromium: dragging a bar moves and trims the layer's motion (the
exported layered bundle's manifest says so), and Space / ←/→ drive the poster preview."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import test_editor_browser as steps
from tests.e2e.conftest import OpenEditor

pytestmark = pytest.mark.e2e

FPS, SECONDS = 12, 1
FRAMES = FPS * SECONDS
PROMPT = "the title floats"  # a loop that runs to the end of the animation


def type_prompt(page: Page, name: str, prompt: str) -> None:
    """The prompt, typed until it stays: a panel refresh for the layer just picked may land
    after the first keystrokes. Its row on the timeline says the server has it."""
    box = page.locator("#motion-prompt textarea")
    for _ in range(3):
        box.fill(prompt)
        box.blur()  # the prompt is stored when the designer leaves the field
        expect(page.locator(f'#timeline .tl-row[data-name="{name}"]')).to_be_visible(timeout=steps.STEP_MS)
        page.wait_for_timeout(500)
        if box.input_value() == prompt:
            return
    assert box.input_value() == prompt


def drag(page: Page, x: float, y: float, dx: float) -> None:
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y, steps=4)
    page.mouse.move(x + dx, y, steps=4)
    page.mouse.up()


def preview_time(page: Page) -> float:
    return page.locator("#poster-preview video").evaluate("v => v.currentTime")


def preview_paused(page: Page) -> bool:
    return page.locator("#poster-preview video").evaluate("v => v.paused")


def test_dragging_a_bar_reaches_the_bundle_and_keys_drive_the_preview(sample_editor: OpenEditor, artifacts: Path,
                                                                      tmp_path: Path) -> None:
    page = sample_editor.page
    steps.set_number(page, "fps", FPS)  # the timeline's header: fps and length of the whole animation
    steps.wait_status(page, rf"Timeline: \d+ frames at {FPS} fps")
    steps.set_number(page, "duration", SECONDS)
    expect(page.locator("#timeline .tl-length")).to_have_text(f"{FRAMES} frames at {FPS} fps", timeout=steps.STEP_MS)
    steps.select_layer(page, "Title")
    type_prompt(page, "Title", PROMPT)
    row = page.locator('#timeline .tl-row[data-name="Title"]')
    expect(row).to_have_attribute("data-phase", "loop")
    expect(row).to_have_attribute("data-start", "0")

    # Move the bar 3 frames later (it stays open to the end), then trim its end back 3 frames.
    page.locator("#timeline").scroll_into_view_if_needed()
    lane = steps.laid_out(row.locator(".tl-lane"))
    frame_px = lane["width"] / FRAMES
    bar = steps.laid_out(row.locator(".tl-bar"))
    drag(page, bar["x"] + bar["width"] * 0.3, bar["y"] + bar["height"] / 2, 3 * frame_px)
    steps.wait_status(page, r"Title plays \(loop\) from 0\.25 s \(frame 3\) to the end")
    expect(row).to_have_attribute("data-start", "3", timeout=steps.STEP_MS)
    expect(page.locator("#motion-start input")).to_have_value("0.25", timeout=steps.STEP_MS)
    end = steps.laid_out(row.locator(".tl-grip-end"))
    drag(page, end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, -3 * frame_px)
    steps.wait_status(page, r"from 0\.25 s \(frame 3\) for 0\.5 s \(6 frames\)")
    expect(row).to_have_attribute("data-span", "6", timeout=steps.STEP_MS)
    expect(page.locator("#motion-duration input")).to_have_value("0.5", timeout=steps.STEP_MS)
    # A bar cannot leave the animation: dragged far right, it stops at the last frame.
    bar = steps.laid_out(row.locator(".tl-bar"))
    drag(page, bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2, 20 * frame_px)
    steps.wait_status(page, r"from 0\.5 s \(frame 6\) for 0\.5 s \(6 frames\)")
    drag(page, bar["x"] + 6 * frame_px, bar["y"] + bar["height"] / 2, -3 * frame_px)  # and back to frame 3
    steps.wait_status(page, r"from 0\.25 s \(frame 3\) for 0\.5 s")

    steps.click_when_idle(page, "#animate-selected")
    steps.wait_status(page, r"Animated")
    video = page.locator("#poster-preview video")
    expect(video).to_be_visible(timeout=steps.STEP_MS)
    page.screenshot(path=str(artifacts / "20-timeline-dragged.png"), full_page=True)

    # Clicking the ruler scrubs: the preview shows that frame, paused.
    page.locator("#timeline").scroll_into_view_if_needed()
    ruler = steps.laid_out(page.locator("#timeline .tl-ruler"))
    page.mouse.click(ruler["x"] + 2.5 * ruler["width"] / FRAMES, ruler["y"] + ruler["height"] / 2)
    assert preview_paused(page) and preview_time(page) == pytest.approx(2 / FPS, abs=1e-3)
    expect(page.locator("#timeline .tl-clock")).to_contain_text(f"frame 2 / {FRAMES - 1}")
    # Keys (focus outside any text field): ← / → step one frame; Space plays and pauses.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert preview_time(page) == pytest.approx(4 / FPS, abs=1e-3)
    page.keyboard.press("ArrowLeft")
    assert preview_time(page) == pytest.approx(3 / FPS, abs=1e-3)
    expect(page.locator("#timeline .tl-clock")).to_contain_text(f"0.25 s · frame 3 / {FRAMES - 1}")
    page.keyboard.press("Space")
    page.wait_for_function("() => !document.querySelector('#poster-preview video').paused", timeout=10_000)
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('#poster-preview video').paused", timeout=10_000)
    # …but not while typing: the arrow keys move the caret in the prompt, not the playhead.
    held = preview_time(page)
    page.locator("#motion-prompt textarea").click()
    page.keyboard.press("ArrowLeft")
    assert preview_time(page) == held

    steps.export(page, "Layered bundle")
    bundle = steps.download(page, "-layers.zip", tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    title = next(entry for entry in manifest["layers"] if entry["name"] == "Title")
    assert (title["motion"]["phase"], title["motion"]["start"], title["motion"]["duration"]) == ("loop", 3, 6), title
    assert manifest["frames"] == FRAMES
    # A click on a row's name edits that layer.
    page.locator('#timeline .tl-row[data-name="Title Shadow"] .tl-name').click()
    expect(page.locator("#active-layer input")).to_have_value("Title Shadow", timeout=steps.STEP_MS)
    assert not sample_editor.errors, sample_editor.errors
