"""The export panel in real Chromium: two formats and a size from one Export press.

The designer animates the balloon, picks MP4 and GIF, half size, 2 plays; the panel
estimates the GIF's size before writing; one Export writes both files at the chosen size,
and the status gives each file's size.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e import test_editor_browser as steps
from tests.e2e.conftest import OpenEditor
from tests.helpers.video_decode import decode

pytestmark = pytest.mark.e2e

FPS, SECONDS = 12, 1


def test_two_formats_and_a_size_from_one_export(sample_editor: OpenEditor, artifacts: Path, tmp_path: Path) -> None:
    page, errors = sample_editor.page, sample_editor.errors
    width, height = steps.poster_size(page)
    steps.select_layer(page, "Balloon")
    steps.edit_layer(page, "Balloon", "the balloon drifts up gently")
    steps.set_number(page, "fps", FPS)
    steps.set_number(page, "duration", SECONDS)
    steps.click_when_idle(page, "#animate-selected")
    steps.wait_status(page, r"Animated")

    steps.choose_format(page, "MP4 video", "GIF")
    page.locator("#export-size input").click()
    page.get_by_role("option", name=re.compile(r"^Half size")).click()
    steps.set_number(page, "export-plays", 2)
    expect(page.locator("#export-note")).to_contain_text(re.compile(r"GIF: about [\d.]+ [KM]B"),
                                                         timeout=steps.STEP_MS)
    steps.click_when_idle(page, "#export")
    steps.wait_status(page, r"Exported .*\.mp4 \([\d.]+ [KM]B\).*\.gif \([\d.]+ [KM]B\)")
    page.screenshot(path=str(artifacts / "20-export-options.png"), full_page=True)

    half = round(width / 2), round(height / 2)
    gif = steps.download(page, ".gif", tmp_path)
    note = re.search(r"GIF: about ([\d.]+) ([KM]B)", page.locator("#export-note").inner_text())
    estimate = float(note.group(1)) * (1000 if note.group(2) == "KB" else 1_000_000)
    assert 0.7 < estimate / gif.stat().st_size < 1.3, (note.group(0), gif.stat().st_size)
    with Image.open(gif) as image:
        assert image.size == half and image.n_frames == FPS * SECONDS
        assert image.info["loop"] == 1  # NETSCAPE repeats after the first play: 2 plays
    mp4 = decode(steps.download(page, ".mp4", tmp_path))
    assert mp4.shape[:3] == (FPS * SECONDS, half[1] + half[1] % 2, half[0] + half[0] % 2)
    assert not errors, errors
