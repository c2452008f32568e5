"""Motion phases in real Chromium: the panel's Phase and Start fields reach the exported
layered bundle's manifest (and its frames), through the editor's own controls."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, expect

from tests.e2e import test_editor_browser as steps

pytestmark = pytest.mark.e2e

FPS, SECONDS = 12, 1


def test_phase_and_start_in_the_panel_change_the_bundle(editor_url: str, browser: Browser, artifacts: Path,
                                                        tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(editor_url)
    steps.wait_status(page, r"Opened the sample poster")
    steps.select_layer(page, "Title")
    steps.edit_layer(page, "Title", "the title fades")  # a fade out and back in: a loop
    phase = page.locator("#motion-phase input")
    expect(phase).to_have_value(re.compile(r"Auto: loop"), timeout=steps.STEP_MS)  # what the prompt reads as
    steps.set_number(page, "fps", FPS)
    steps.set_number(page, "duration", SECONDS)

    phase.click()
    page.get_by_role("option", name=re.compile(r"^In: an entrance")).click()
    expect(phase).to_have_value(re.compile(r"^In: an entrance"), timeout=steps.STEP_MS)
    steps.set_number(page, "motion-start", 0.25)
    steps.click_when_idle(page, "#animate-selected")
    steps.wait_status(page, r"Animated")
    page.screenshot(path=str(artifacts / "10-phase-in-animated.png"), full_page=True)

    steps.export(page, "Layered bundle")
    bundle = steps.download(page, "-layers.zip", tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        title = next(entry for entry in manifest["layers"] if entry["name"] == "Title")  # (its shadow follows it)
        names = sorted(n for n in archive.namelist() if n.startswith(title["files"]["png_sequence"]) and n.endswith(".png"))
        alpha = [np.array(Image.open(io.BytesIO(archive.read(n))).convert("RGBA"))[..., 3].sum() for n in names]
    assert title["name"] == "Title"
    motion = title["motion"]
    assert (motion["phase"], motion["start"]) == ("in", round(0.25 * FPS)), motion
    assert motion["duration"] >= 1 and manifest["frames"] == FPS * SECONDS
    start, end = motion["start"], motion["start"] + motion["duration"] - 1
    assert max(alpha[:start]) == 0, "an entrance is hidden before its start"
    assert len(set(alpha[end:])) == 1 and alpha[end] > 0, "and holds the static layer once it has entered"
    assert not errors, errors
    context.close()
