"""The live preview and the fast paths of animating, in real Chromium (issue 16).

On the balloon sample: animate two layers, then move the balloon's Amplitude slider and
see the poster preview change without pressing Animate (frames decoded and compared), a
draft first and then the full render, the title's clip untouched; re-roll the balloon and
find every other layer's clip file byte-identical; save the project, open it in a fresh
browser and find its preview there at once, made from the saved clips.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_editor_browser import STEP_MS, click_when_idle, edit_layer, select_layer, set_number, status, wait_status

pytestmark = pytest.mark.e2e

FPS, SECONDS = 12, 1


def preview_frames(page: Page, folder: Path, name: str) -> np.ndarray:
    """The poster preview the page is showing, fetched as the browser does and decoded."""
    video = page.locator("#poster-preview video")
    expect(video).to_have_attribute("src", re.compile(r"preview-"), timeout=STEP_MS)
    response = page.request.get(video.get_attribute("src"))
    assert response.ok, response.status
    path = folder / f"{name}.mp4"
    path.write_bytes(response.body())
    return np.stack(list(iio.imiter(path, plugin="FFMPEG"))).astype(np.int16)


def autosave_folders(data_root: Path) -> set[Path]:
    """The autosave folders (one per session) of the editor under test."""
    return {path.resolve() for path in data_root.glob("editor-data*/sessions/*/autosave")}


def clip_files(data_root: Path, earlier: set[Path]) -> dict[int, bytes]:
    """Each animated layer's current clip file (as editor.json names it) of the one session,
    not among `earlier`, with animated layers."""
    folders = {f for f in autosave_folders(data_root) - earlier if any(f.glob("clip-*.zip"))}
    assert len(folders) == 1, folders
    folder = next(iter(folders))
    clips = json.loads((folder / "editor.json").read_text())["clips"]
    return {entry["layer_id"]: (folder / entry["frames"]).read_bytes() for entry in clips}


def set_slider(page: Page, label: str, value: float) -> None:
    """Type a value into the motion panel's slider labelled `label` (as a designer would)."""
    slider = page.locator("[id^=param-number-]").filter(has_text=label).locator("input[type=number]")
    expect(slider).to_have_count(1, timeout=STEP_MS)
    slider.fill(str(value))
    slider.press("Enter")


def open_project_panel(page: Page) -> None:
    """Unfold the (folded) Project panel that holds Save project and Open project."""
    page.get_by_text("Project", exact=True).first.click()
    expect(page.locator("#save-project")).to_be_visible(timeout=STEP_MS)


def test_live_preview_reroll_and_reopen(editor_url: str, browser: Browser, tmp_path: Path, artifacts: Path,
                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    data_root = tmp_path_factory.getbasetemp()
    earlier = autosave_folders(data_root)  # other tests' sessions on the same editor
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(editor_url)
    wait_status(page, r"Opened the sample poster balloon")
    set_number(page, "fps", FPS)
    set_number(page, "duration", SECONDS)
    for name in ("Title", "Balloon"):
        select_layer(page, name)
    expect(page.locator("#active-layer input")).to_have_value("Balloon", timeout=STEP_MS)  # the last one ticked
    edit_layer(page, "Title", "the title bobs like it floats")
    edit_layer(page, "Balloon", "the balloon drifts up gently")
    click_when_idle(page, "#animate-selected")
    wait_status(page, r"Animated")
    page.screenshot(path=str(artifacts / "live-preview-animated.png"), full_page=True)
    before = preview_frames(page, tmp_path, "before")
    assert before.shape[0] == FPS * SECONDS
    animated = clip_files(data_root, earlier)
    title, balloon, shadow = 11, 9, 8  # the sample's layer ids (Balloon Shadow follows Balloon)
    assert {title, balloon} <= set(animated)

    # A parameter change shows without Animate: a draft first, then the full render.
    expect(page.locator("#active-layer input")).to_have_value("Balloon", timeout=STEP_MS)
    set_slider(page, "Amplitude", 0.8)
    wait_status(page, r"Draft preview of Balloon|Preview is current: Balloon")
    wait_status(page, r"Preview is current: Balloon")
    page.screenshot(path=str(artifacts / "live-preview-after-slider.png"), full_page=True)
    after = preview_frames(page, tmp_path, "after")
    assert after.shape == before.shape
    assert np.abs(after - before).max() > 40, "the preview moved differently after the slider"
    live = clip_files(data_root, earlier)
    assert live[title] == animated[title], "only the edited layer is re-rendered"
    assert live[balloon] != animated[balloon]

    # Re-roll: one layer's clip is rewritten, every other clip file is byte-identical.
    click_when_idle(page, "#reroll")
    wait_status(page, r"New take of Balloon")
    rolled = clip_files(data_root, earlier)
    assert rolled.keys() == live.keys()
    assert {layer for layer in rolled if rolled[layer] != live[layer]} <= {balloon, shadow}
    assert rolled[title] == live[title]
    reference = preview_frames(page, tmp_path, "rolled")

    # A saved project opened in a new browser previews at once, from its saved clips.
    open_project_panel(page)
    click_when_idle(page, "#save-project")
    wait_status(page, r"Saved .*posterproj")
    link = page.locator("#project-file a").first
    with page.expect_download(timeout=STEP_MS) as info:
        link.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    fresh = browser.new_context(viewport={"width": 1500, "height": 1000})
    other = fresh.new_page()
    other.goto(editor_url)
    wait_status(other, r"Opened the sample poster")
    open_project_panel(other)
    with other.expect_file_chooser() as chooser:
        other.locator("#open-project").click()
    chooser.value.set_files(str(saved))
    wait_status(other, r"Opened the project")
    reopened = preview_frames(other, tmp_path, "reopened")
    assert reopened.shape == reference.shape
    assert np.abs(reopened - reference).mean() < 3, "the reopened preview shows the saved animation"
    assert "⚠" not in status(other).inner_text()
    assert not errors, errors
    fresh.close()
    context.close()
