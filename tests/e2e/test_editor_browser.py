"""A designer's whole session in real headless Chromium, with a second designer beside them.

Upload a PSD, select two layers, type their prompts, draw a motion box with the mouse,
animate, watch the preview play for the timeline's duration, download the MP4 and the
layered bundle and decode both. Meanwhile another browser context edits another poster;
neither ever sees the other's layers or files. A reload restores the work.
"""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from app.canvas import MAX_CANVAS_SIDE
from tests.helpers.editor_server import REPO_ROOT

ASSETS_DIR = REPO_ROOT / "assets"
CORPUS_DIR = REPO_ROOT.parent / "shared" / "psd-corpus"

pytestmark = pytest.mark.e2e

STEP_MS = 120_000  # generous: CI machines are small and shared
FPS, SECONDS = 12, 1


def other_psd() -> Path:
    """The other designer's poster: a real PSD with layer effects the import cannot reproduce."""
    return CORPUS_DIR / "psd-tools__psd-tools" / "tests" / "psd_files" / "layer_effects.psd"


def status(page: Page):
    return page.locator("#status")


def wait_status(page: Page, pattern: str) -> None:
    expect(status(page)).to_contain_text(re.compile(pattern), timeout=STEP_MS)


def settle(page: Page) -> None:
    """Wait until no event of the page is queued or running: its progress shows on the status
    line, which moves the buttons below it, so a click meanwhile may land beside its button."""
    expect(status(page)).not_to_contain_text(re.compile(r"queue:|processing"), timeout=STEP_MS)


def click_when_idle(page: Page, selector: str) -> None:
    """Click a button once the page has settled (see `settle`)."""
    settle(page)
    page.locator(selector).click()


def upload_psd(page: Page, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.locator("#upload-psd").click()
    chooser.value.set_files(str(path))
    wait_status(page, rf"Opened {re.escape(path.name)}")


def layer_names(page: Page) -> list[str]:
    return [name.split(" — ")[0].split(" / ")[-1] for name in page.locator("#layers-list label span").all_inner_texts()]


def select_layer(page: Page, name: str) -> None:
    page.locator("#layers-list label").filter(has_text=re.compile(rf"(^|[\s/]){re.escape(name)} — ")).first.click()
    expect(page.locator("#active-layer input")).to_be_enabled(timeout=STEP_MS)


def edit_layer(page: Page, name: str, prompt: str) -> None:
    settle(page)  # a reply still on its way (to ticking a layer) would pick its own active layer
    page.locator("#active-layer input").click()
    page.get_by_role("option", name=name, exact=True).click()
    expect(page.locator("#active-layer input")).to_have_value(name, timeout=STEP_MS)
    box = page.locator("#motion-prompt textarea")
    box.fill("")
    box.press_sequentially(prompt)
    expect(page.locator("#preset-note")).to_contain_text("Preset in use", timeout=STEP_MS)


def set_number(page: Page, elem_id: str, value: float) -> None:
    field = page.locator(f"#{elem_id} input[type=number]")
    field.fill(str(value))
    field.press("Enter")


def laid_out(locator: Locator) -> dict[str, float]:
    """The element's box once it has one: Gradio re-renders components as values land, so a
    box read at once can be None (element detached) or empty (being laid out)."""
    deadline = time.monotonic() + STEP_MS / 1000
    while True:
        locator.wait_for(state="visible", timeout=STEP_MS)
        box = locator.bounding_box()
        if box and box["width"] > 0 and box["height"] > 0:
            return box
        assert time.monotonic() < deadline, f"{locator} never got a box on the page"
        time.sleep(0.1)


def draw_box_on_canvas(page: Page, poster_size: tuple[int, int], box: tuple[int, int, int, int]) -> None:
    """Press "Create box" and drag a rectangle given in poster pixels across the canvas."""
    page.locator('#canvas button[aria-label="Create box"]').click()
    canvas = page.locator("#canvas canvas")
    rect = laid_out(canvas)
    buffer_w, buffer_h = canvas.evaluate("c => [c.width, c.height]")
    width, height = poster_size
    shown = min(1.0, MAX_CANVAS_SIDE / max(width, height))
    image_w, image_h = width * shown, height * shown
    fit = min(1.0, buffer_w / image_w)
    offset_x = (buffer_w - image_w * fit) / 2
    css = rect["width"] / buffer_w

    def screen(x: float, y: float) -> tuple[float, float]:
        return rect["x"] + (offset_x + x * shown * fit) * css, rect["y"] + y * shown * fit * css

    x, y, w, h = box
    page.mouse.move(*screen(x, y))
    page.mouse.down()
    page.mouse.move(*screen(x + w / 2, y + h / 2), steps=5)
    page.mouse.move(*screen(x + w, y + h), steps=5)
    page.mouse.up()


def box_fields(page: Page) -> tuple[int, ...]:
    return tuple(int(float(page.locator(f"#box-{k} input").input_value())) for k in ("x", "y", "w", "h"))


def poster_size(page: Page) -> tuple[int, int]:
    match = re.search(r"(\d+)×(\d+) px", page.locator("#poster-title").inner_text())
    assert match, "the header shows the poster size"
    return int(match.group(1)), int(match.group(2))


def download(page: Page, suffix: str, folder: Path) -> Path:
    link = page.locator(f'#downloads a[download$="{suffix}"]').first
    expect(link).to_be_visible(timeout=STEP_MS)
    with page.expect_download(timeout=STEP_MS) as info:
        link.click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def choose_format(page: Page, *labels: str) -> None:
    """Exactly these formats in the export panel's multi-select (cleared first)."""
    clear = page.locator("#export-format .remove-all")
    if clear.count():
        clear.click()
    for label in labels:
        page.locator("#export-format input").click()
        page.get_by_role("option", name=label).click()
    expect(page.locator("#export-format .token")).to_have_count(len(labels), timeout=STEP_MS)


def export(page: Page, label: str) -> None:
    choose_format(page, label)
    click_when_idle(page, "#export")
    wait_status(page, r"Exported")


def test_designer_session_in_chromium(editor_url: str, browser: Browser, artifacts: Path, tmp_path: Path) -> None:
    psd = ASSETS_DIR / "samples" / "balloon.psd"
    first = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    second = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page, other = first.new_page(), second.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(editor_url)
    wait_status(page, r"Opened the sample poster")
    other.goto(editor_url)
    wait_status(other, r"Opened the sample poster")

    upload_psd(page, psd)
    # A damaged file is refused with a sentence on the page, and the open poster stays.
    broken = tmp_path / "damaged.psd"
    broken.write_bytes(b"8BPS" + bytes(range(256)) * 4)
    with other.expect_file_chooser() as chooser:
        other.locator("#upload-psd").click()
    chooser.value.set_files(str(broken))
    wait_status(other, r"⚠")
    expect(status(other)).to_have_class(re.compile("status-problem"), timeout=STEP_MS)
    other.screenshot(path=str(artifacts / "00-damaged-psd-refused.png"))
    assert "Traceback" not in status(other).inner_text() and layer_names(other)
    upload_psd(other, other_psd())
    mine, theirs = layer_names(page), layer_names(other)
    assert len(mine) >= 2 and mine != theirs

    # Two layers, each with its own prompt (the sample's README suggests these).
    chosen = ["Title", "Balloon"]
    assert set(chosen) <= set(mine)
    for name in chosen:
        select_layer(page, name)
    edit_layer(page, chosen[0], "the title bobs like it floats")
    edit_layer(page, chosen[1], "the balloon drifts up gently and sways")
    page.screenshot(path=str(artifacts / "01-two-layers-selected.png"), full_page=True)

    # Draw the second layer's motion box with the mouse: a box around the layer and beyond.
    width, height = poster_size(page)
    before = box_fields(page)
    x, y, w, h = before
    drawn = (max(0, x - 10), max(0, y - 12), min(width, x + w + 10) - max(0, x - 10), min(height, y + h + 12) - max(0, y - 12))
    draw_box_on_canvas(page, (width, height), drawn)
    expect(status(page)).to_contain_text("Motion box of", timeout=STEP_MS)
    after = box_fields(page)
    assert after != before
    assert after[0] <= x and after[1] <= y and after[0] + after[2] >= x + w and after[1] + after[3] >= y + h
    slack = 2 / min(1.0, MAX_CANVAS_SIDE / max(width, height)) + 1  # a screen pixel of the scaled canvas
    assert all(abs(a - d) <= slack for a, d in zip(after, drawn)), (after, drawn)
    page.screenshot(path=str(artifacts / "02-box-drawn.png"), full_page=True)

    # The other designer meanwhile reads the import notice and picks a layer on the canvas.
    expect(other.locator("#import-notice")).to_contain_text("cannot be reproduced", timeout=STEP_MS)
    other.get_by_role("tab", name="Pick layers").click()
    picture = other.locator("#pick-canvas img")
    expect(picture).to_be_visible(timeout=STEP_MS)
    picture.click()  # the middle of the poster
    wait_status(other, r"Selected ")
    picked = other.locator("#layers-list input:checked")
    expect(picked).to_have_count(1, timeout=STEP_MS)
    other.screenshot(path=str(artifacts / "02b-other-designer-picked.png"), full_page=True)

    set_number(page, "fps", FPS)
    set_number(page, "duration", SECONDS)
    click_when_idle(page, "#animate-selected")
    wait_status(page, r"Animated")
    video = page.locator("#poster-preview video")
    expect(video).to_have_attribute("src", re.compile(r"preview-"), timeout=STEP_MS)
    duration = video.evaluate(
        """v => new Promise(done => {
            const report = () => done(v.duration);
            if (v.readyState >= 1) report(); else v.addEventListener('loadedmetadata', report);
        })"""
    )
    assert abs(duration - SECONDS) < 0.15, duration
    played = video.evaluate(
        """v => new Promise(done => {
            v.muted = true; v.play();
            const start = performance.now();
            const tick = () => (v.currentTime > 0.2 || performance.now() - start > 8000)
                ? done(v.currentTime) : requestAnimationFrame(tick);
            tick();
        })"""
    )
    assert played > 0.2, "the preview video plays"
    page.screenshot(path=str(artifacts / "03-animated-preview.png"), full_page=True)

    export(page, "MP4 video")
    mp4 = download(page, ".mp4", tmp_path)
    frames = _read_mp4(mp4)
    assert frames.shape[0] == FPS * SECONDS
    assert frames.shape[1:3] == (height + height % 2, width + width % 2)
    assert np.ptp(frames.astype(np.int16), axis=0).max() > 30, "the exported poster moves"

    export(page, "Layered bundle")
    bundle = download(page, "-layers.zip", tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        animated = [entry for entry in manifest["layers"] if entry.get("animated")]
        assert {entry["name"] for entry in animated} >= set(chosen)
        archive.extract("preview.mp4", tmp_path / "bundle")
    assert _read_mp4(tmp_path / "bundle" / "preview.mp4").shape[0] == FPS * SECONDS
    assert any(name.endswith(".webm") for name in names)
    page.screenshot(path=str(artifacts / "04-exported.png"), full_page=True)

    # Isolation: the other designer still has their poster, nothing of ours.
    assert layer_names(other) == theirs
    assert other.locator("#downloads a").count() == 0
    other.screenshot(path=str(artifacts / "05-other-designer.png"), full_page=True)

    # A reload restores the work: same poster, same selection, same motion box.
    page.reload()
    wait_status(page, r"Restored your work|Welcome back")
    assert layer_names(page) == mine
    expect(page.locator('#downloads a[download$=".mp4"]')).to_be_visible(timeout=STEP_MS)
    edit_layer(page, chosen[1], "the balloon drifts up gently and sways")
    assert box_fields(page) == after
    page.screenshot(path=str(artifacts / "06-after-reload.png"), full_page=True)
    assert not errors, errors
    first.close()
    second.close()


def _read_mp4(path: Path) -> np.ndarray:
    """Decode every frame with imageio's ffmpeg reader (the real decoder, not a header peek)."""
    return np.stack(list(iio.imiter(path, plugin="FFMPEG")))
