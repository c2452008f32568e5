"""Undo and redo in real Chromium: three edits (a prompt typed key by key, a parameter, a
motion box) undone with Ctrl+Z and redone with Ctrl+Shift+Z and Ctrl+Y round-trip the
panel and the saved project; after a reload, Ctrl+Z still undoes."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e import test_editor_browser as steps

pytestmark = pytest.mark.e2e

LAYER = "Small Balloon"


def panel(page: Page) -> tuple[str, str, tuple[int, ...]]:
    """What the motion panel shows: the prompt, the first number parameter, the box."""
    return (page.locator("#motion-prompt textarea").input_value(),
            page.locator("#param-number-0 input[type=number]").input_value(), steps.box_fields(page))


def expect_panel(page: Page, shown: tuple[str, str, tuple[int, ...]]) -> None:
    prompt, number, box = shown
    expect(page.locator("#motion-prompt textarea")).to_have_value(prompt, timeout=steps.STEP_MS)
    expect(page.locator("#param-number-0 input[type=number]")).to_have_value(number, timeout=steps.STEP_MS)
    for key, value in zip(("x", "y", "w", "h"), box):
        expect(page.locator(f"#box-{key} input")).to_have_value(str(value), timeout=steps.STEP_MS)


def press(page: Page, keys: str, status: str) -> None:
    """A shortcut pressed outside any text field (where the browser's own text undo applies)."""
    page.locator("#poster-title").click()
    page.keyboard.press(keys)
    steps.wait_status(page, status)


def saved_motion(page: Page, folder: Path) -> dict:
    """The edited motion as a saved project file has it (the project, not the panel)."""
    save = page.locator("#save-project")
    if not save.is_visible():  # the Project accordion starts closed
        page.get_by_role("button", name=re.compile(r"^Project")).first.click()
    steps.click_when_idle(page, "#save-project")
    steps.wait_status(page, r"Saved ")
    link = page.locator('#project-file a[href$=".posterproj"]').first
    expect(link).to_be_visible(timeout=steps.STEP_MS)
    with page.expect_download(timeout=steps.STEP_MS) as info:
        link.click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("project.json"))
    path.unlink()
    return next(m for m in manifest["motions"] if m["prompt"])


def test_three_edits_undo_redo_and_survive_a_reload(editor_url: str, browser: Browser, artifacts: Path,
                                                    tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(editor_url)
    steps.wait_status(page, r"Opened the sample poster")
    expect(page.locator("#undo")).to_be_disabled()
    steps.select_layer(page, LAYER)
    shown = [panel(page)]

    steps.edit_layer(page, LAYER, "the balloon sways")  # typed key by key: one step
    expect(page.locator("#preset-note")).to_contain_text("sway", timeout=steps.STEP_MS)
    expect(page.locator("#undo")).to_have_attribute("title", f"Undo: prompt of {LAYER} (Ctrl+Z)", timeout=steps.STEP_MS)
    page.wait_for_timeout(1000)  # the last keystrokes' replies (they reset the parameters) have landed
    expect(page.locator("#param-number-0")).to_contain_text("Amplitude", timeout=steps.STEP_MS)
    shown.append(panel(page))
    amplitude = round(float(shown[-1][1]) + 0.1, 2)  # two steps of 0.05 with the keyboard on the slider
    slider = page.locator("#param-number-0 input[type=range]")
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    expect(page.locator("#param-number-0 input[type=number]")).to_have_value(str(amplitude), timeout=steps.STEP_MS)
    expect(page.locator("#undo")).to_have_attribute("title", f"Undo: amplitude of {LAYER} (Ctrl+Z)",
                                                    timeout=steps.STEP_MS)
    shown.append(panel(page))
    x, y, w, h = shown[-1][2]
    steps.set_number(page, "box-x", max(0, x - 7))  # widened to keep the layer inside: still one box edit
    expect(page.locator("#undo")).to_have_attribute("title", f"Undo: box of {LAYER} (Ctrl+Z)", timeout=steps.STEP_MS)
    shown.append(panel(page))
    assert len(set(shown)) == 4, shown
    project = saved_motion(page, tmp_path)
    assert (project["prompt"], project["params"]["amplitude"]) == ("the balloon sways", amplitude)
    assert project["box"]["x"] == shown[-1][2][0]

    for label, before in zip(("box", "amplitude", "prompt"), reversed(shown[:-1])):
        press(page, "Control+z", rf"Undid the {label} of {LAYER}")
        expect_panel(page, before)
    expect(page.locator("#undo")).to_be_disabled()
    expect(page.locator("#redo")).to_have_attribute("title", f"Redo: prompt of {LAYER} (Ctrl+Shift+Z)")
    page.screenshot(path=str(artifacts / "undo-3-undone.png"), full_page=True)

    for keys, label, after in zip(("Control+Shift+z", "Control+y", "Control+Shift+z"),
                                  ("prompt", "amplitude", "box"), shown[1:]):
        press(page, keys, rf"Redid the {label} of {LAYER}")
        expect_panel(page, after)
    expect(page.locator("#redo")).to_be_disabled()
    assert saved_motion(page, tmp_path) == project, "the project is back as it was"

    page.reload()
    steps.wait_status(page, r"Restored your work|Welcome back")
    expect(page.locator("#undo")).to_have_attribute("title", f"Undo: box of {LAYER} (Ctrl+Z)", timeout=steps.STEP_MS)
    expect(page.locator("#active-layer input")).to_have_value(LAYER, timeout=steps.STEP_MS)
    press(page, "Control+z", rf"Undid the box of {LAYER}")
    expect_panel(page, shown[2])

    # In the prompt field Ctrl+Z is the browser's own text undo, not a step of the history.
    page.locator("#motion-prompt textarea").click()
    page.keyboard.press("Control+z")
    page.wait_for_timeout(500)
    expect(steps.status(page)).to_contain_text(f"Undid the box of {LAYER}")
    assert not errors, errors
    context.close()
