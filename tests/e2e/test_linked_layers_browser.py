"""Linked layers in real Chromium: animating the title moves its shadow; unlinked, it stays.

The designer works on the balloon sample with the editor's own controls, exports the
layered bundle and the test reads the shadow layer's own PNG frames from it.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_editor_browser import (
    STEP_MS, click_when_idle, download, edit_layer, export, select_layer, set_number, status, wait_status,
)

pytestmark = pytest.mark.e2e


def shadow_in_bundle(bundle: Path) -> tuple[dict, dict, np.ndarray | None]:
    """The manifest, the Title Shadow entry, and its alpha frames when animated."""
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        entry = next(layer for layer in manifest["layers"] if layer["name"] == "Title Shadow")
        if not entry["animated"]:
            return manifest, entry, None
        folder = entry["files"]["png_sequence"]
        names = sorted(n for n in archive.namelist() if n.startswith(folder) and n.endswith(".png"))
        frames = np.stack([np.asarray(Image.open(io.BytesIO(archive.read(n))))[..., 3] for n in names])
        return manifest, entry, frames


def label_of(page: Page, name: str):
    return page.locator("#layers-list label").filter(has_text=re.compile(rf"(^|[\s/]){re.escape(name)} — "))


def test_the_title_shadow_moves_with_the_title_until_unlinked(editor_url: str, browser: Browser, artifacts: Path,
                                                              tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(editor_url)
    wait_status(page, r"Opened the sample poster")
    set_number(page, "fps", 4)
    set_number(page, "duration", 1)
    expect(label_of(page, "Title Shadow")).to_contain_text("↳ follows Title", timeout=STEP_MS)

    expect(page.locator("#fps input[type=number]")).to_have_value("4", timeout=STEP_MS)
    select_layer(page, "Title")
    expect(page.locator("#link-note")).to_contain_text("Title Shadow moves with Title", timeout=STEP_MS)
    edit_layer(page, "Title", "the title floats gently")
    expect(page.locator("#motion-prompt textarea")).to_have_value("the title floats gently", timeout=STEP_MS)
    expect(page.locator("#preset-note")).to_contain_text("float", timeout=STEP_MS)
    click_when_idle(page, "#animate-selected")
    wait_status(page, r"Animated Title")
    expect(status(page)).to_contain_text("Title Shadow moves with Title")
    page.screenshot(path=str(artifacts / "linked-01-animated.png"), full_page=True)

    export(page, "Layered bundle")
    first = tmp_path / "linked"
    first.mkdir()
    manifest, entry, frames = shadow_in_bundle(download(page, "-layers.zip", first))
    title_id = next(layer["id"] for layer in manifest["layers"] if layer["name"] == "Title")
    assert entry["animated"] and entry["motion"]["params"]["follows"] == title_id
    assert manifest["links"] == {str(entry["id"]): title_id}
    assert frames is not None and len(frames) == 4
    alpha = frames.astype(np.float64)
    rows = (alpha.sum(axis=2) * (np.arange(alpha.shape[1]) + 0.5)).sum(axis=1) / alpha.sum(axis=(1, 2))
    assert np.abs(rows - rows[0]).max() > 3, "the shadow's alpha centroid moves in its own frames"

    # Unlink: tick the shadow, press Unlink, untick it again, animate the title once more.
    label_of(page, "Title Shadow").first.click()
    toggle = page.locator("#link-toggle")
    expect(toggle).to_have_text("Unlink from Title", timeout=STEP_MS)
    toggle.click()
    wait_status(page, r"unlinked from Title")
    expect(label_of(page, "Title Shadow")).to_contain_text("(unlinked from Title)", timeout=STEP_MS)
    expect(toggle).to_have_text("Link again", timeout=STEP_MS)
    label_of(page, "Title Shadow").first.click()
    expect(page.locator("#layers-list input:checked")).to_have_count(1, timeout=STEP_MS)
    click_when_idle(page, "#animate-selected")
    wait_status(page, r"Animated Title")
    expect(status(page)).not_to_contain_text("moves with")
    page.screenshot(path=str(artifacts / "linked-02-unlinked.png"), full_page=True)

    export(page, "Layered bundle")
    later = tmp_path / "unlinked"
    later.mkdir()
    manifest, entry, frames = shadow_in_bundle(download(page, "-layers.zip", later))
    assert not entry["animated"] and frames is None and "links" not in manifest
    assert any(layer["name"] == "Title" and layer["animated"] for layer in manifest["layers"])
    assert not errors, errors
    context.close()
