"""The i2v engine in the real editor, in real Chromium, on a tiny random model.

The editor runs as a designer starts it, with `I2V_MODEL` naming a folder this module
fills: first nothing is there and then an empty folder (the engine list says why i2v is
unavailable, in a sentence), then a tiny LTX-Video pipeline saved by the test (the
cheapest family to build and run on a CPU). With it: pick the engine, see its own
parameters and no preset sliders, animate the balloon sample's small balloon with a
free-text prompt while the progress bar counts denoising steps, watch the preview play,
export the layered bundle (the layer RGBA in its motion box, frame 0 the static layer),
then start a longer Animate and cancel it from the page: the status says so and the layer
keeps its clip (the preview is not replaced). Without `I2V_MODEL` at all (the shared editor of the other browser test)
the list says to set it.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from engine.core.clip import place_static
from engine.core.poster import Box
from engine.psd.load import load_psd
from tests.e2e.test_editor_browser import (
    ASSETS_DIR, STEP_MS, choose_format, download, select_layer, set_number, settle, status, wait_status,
)
from tests.helpers import i2v_tiny
from tests.helpers.editor_server import running_editor

pytestmark = pytest.mark.e2e

FAMILY = "LTXImageToVideoPipeline"
LAYER = "Small Balloon"
PROMPT = "the small balloon rises into the sky"
I2V_LABEL = "Image-to-video model (GPU)"
FPS, SECONDS, SEED = 8, 1, 5
FIRST_STEPS = 4
#: The take that is cancelled: 200 steps on a 128 px canvas, at least ~0.06 s each, leave
#: seconds to press Cancel in (on the 32 px canvas 200 steps can end before the click lands).
CANCELLED_STEPS, CANCELLED_RESOLUTION = 200, 128


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where I2V_MODEL points; the test puts (and removes) things there."""
    return tmp_path_factory.mktemp("i2v-model") / "ltx"


@pytest.fixture(scope="module")
def i2v_editor(tmp_path_factory: pytest.TempPathFactory, artifacts: Path, model_folder: Path) -> Iterator[str]:
    overrides = {"I2V_MODEL": str(model_folder), "I2V_DEVICE": "cpu", "I2V_OFFLOAD": None,
                 "I2V_MATTING_MODEL": None, "OMP_NUM_THREADS": "1"}
    with running_editor(tmp_path_factory.mktemp("i2v-editor-data"), artifacts / "i2v-editor.log", overrides) as url:
        yield url


def engine_note(page: Page):
    return page.locator("#engine-note")


def engine_choices(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("#engine label").all_inner_texts()]


def open_editor(page: Page, url: str) -> None:
    page.goto(url)
    wait_status(page, r"Opened the sample poster|Restored your work|Welcome back")


def visible_labels(page: Page) -> list[str]:
    """The labels of the motion panel's parameter widgets that are shown."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[id^="param-"]')]
            .filter(el => el.offsetParent !== null && el.innerText.trim())
            .map(el => el.innerText.trim().split('\\n')[0].trim())"""
    )


def watch_progress(page: Page, total: int, cancel_at_first: bool = False) -> None:
    """Record every 'denoising step k of `total`' the page shows, however briefly (window.__steps);
    a bar left from an earlier run counts other steps and is not this run's. With
    `cancel_at_first` the page presses Cancel as soon as it shows the first step: a click
    sent from the test would arrive seconds later on a busy machine, after the tiny model
    has finished every step."""
    page.evaluate(
        """([total, cancelAtFirst]) => {
            window.__steps = [];
            window.__cancelSaid = false;
            let cancelled = false;
            const seen = () => {  // the bar shows in several panels: the furthest step is the news
                let k = 0, n = 0;
                for (const m of document.body.textContent.matchAll(/denoising step (\\d+) of (\\d+)/g)) {
                    if (+m[2] === total && +m[1] > k) { k = +m[1]; n = +m[2]; }
                }
                const last = window.__steps[window.__steps.length - 1];
                if (k && (!last || k > last[0])) window.__steps.push([k, n]);  // panels fade out at the end
                const said = document.querySelector('#status')?.textContent || '';
                if (/[Cc]ancelled.*keep their previous clips/.test(said)) window.__cancelSaid = true;
                if (k && cancelAtFirst && !cancelled) {
                    cancelled = true;
                    document.querySelector('#cancel-animate').click();
                }
            };
            window.__observer?.disconnect();
            window.__observer = new MutationObserver(seen);
            window.__observer.observe(document.body, {subtree: true, childList: true, characterData: true});
        }""",
        [total, cancel_at_first],
    )


def click(page: Page, elem_id: str) -> None:
    settle(page)
    page.locator(f"#{elem_id}").click()


def steps_seen(page: Page) -> list[list[int]]:
    return page.evaluate("() => window.__steps")


def bundle_layer(bundle: Path, name: str) -> tuple[dict, list[np.ndarray]]:
    """The manifest entry of layer `name` and its PNG sequence, decoded."""
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        [entry] = [layer for layer in manifest["layers"] if layer["name"] == name]
        folder = entry["files"]["png_sequence"]
        names = sorted(n for n in archive.namelist() if n.startswith(folder) and n.endswith(".png"))
        frames = []
        for member in names:
            image = Image.open(io.BytesIO(archive.read(member)))
            assert image.mode == "RGBA", (member, image.mode)
            frames.append(np.asarray(image))
    return entry, frames


def video_frames_differ(page: Page) -> float:
    """Largest pixel difference between the preview's first frame and one later on."""
    return page.locator("#poster-preview video").evaluate(
        """async v => {
            v.muted = true; v.pause();
            const grab = async t => {
                await new Promise(done => { v.addEventListener('seeked', done, {once: true}); v.currentTime = t; });
                const c = document.createElement('canvas');
                c.width = v.videoWidth; c.height = v.videoHeight;
                const g = c.getContext('2d'); g.drawImage(v, 0, 0);
                return g.getImageData(0, 0, c.width, c.height).data;
            };
            if (v.readyState < 2) await new Promise(done => v.addEventListener('loadeddata', done, {once: true}));
            const first = await grab(0), later = await grab(v.duration * 0.75);
            let most = 0;
            for (let i = 0; i < first.length; i++) most = Math.max(most, Math.abs(first[i] - later[i]));
            return most;
        }"""
    )


def test_i2v_is_unavailable_without_a_model(editor_url: str, browser: Browser) -> None:
    """The shared editor runs without I2V_MODEL: i2v is not offered and the note says what to set."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    open_editor(page, editor_url)
    expect(engine_note(page)).to_contain_text(
        f"{I2V_LABEL} (unavailable) — The image-to-video engine needs a model: set I2V_MODEL", timeout=STEP_MS)
    assert I2V_LABEL not in engine_choices(page)
    context.close()


def test_i2v_in_the_editor(i2v_editor: str, browser: Browser, model_folder: Path, artifacts: Path,
                           tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # A folder that holds no model: unavailable, and why.
    model_folder.mkdir()
    open_editor(page, i2v_editor)
    expect(engine_note(page)).to_contain_text(
        re.compile(rf"{re.escape(I2V_LABEL)} \(unavailable\) — .*is not a diffusers model folder"), timeout=STEP_MS)
    assert I2V_LABEL not in engine_choices(page)
    page.screenshot(path=str(artifacts / "i2v-00-bad-folder.png"), full_page=True)

    # The model arrives: i2v is listed as configured.
    model_folder.rmdir()
    i2v_tiny.BUILDERS[FAMILY](model_folder)
    open_editor(page, i2v_editor)
    expect(page.locator("#engine label").filter(has_text=I2V_LABEL)).to_be_visible(timeout=STEP_MS)
    expect(engine_note(page)).not_to_contain_text("Image-to-video", timeout=STEP_MS)

    # A short timeline first, confirmed by the server before anything else is asked.
    set_number(page, "fps", FPS)
    wait_status(page, rf"Timeline: \d+ frames at {FPS} fps")
    set_number(page, "duration", SECONDS)
    wait_status(page, rf"Timeline: {FPS * SECONDS} frames at {FPS} fps \({SECONDS} s\)")

    # Pick the layer and the engine: its own parameters, no preset sliders.
    select_layer(page, LAYER)
    expect(page.locator("#active-layer input")).to_have_value(LAYER, timeout=STEP_MS)
    assert any("Preset" in label for label in visible_labels(page)), "the presets engine shows its preset"
    page.locator("#engine label").filter(has_text=I2V_LABEL).click()
    expect(page.locator("#preset-note")).to_contain_text(f"Engine: {I2V_LABEL}", timeout=STEP_MS)
    expect(page.locator("#engine-params").first).to_contain_text("Denoising steps", timeout=STEP_MS)
    labels = visible_labels(page)
    for wanted in ("Denoising steps", "Guidance", "Resolution (px)", "Matting", "Loop", "GPU memory"):
        assert any(label.startswith(wanted) for label in labels), (wanted, labels)
    assert not any(label.startswith(("Preset", "Amplitude", "Cycles")) for label in labels), labels
    seed = page.locator("#seed input")
    expect(seed).to_be_visible(timeout=STEP_MS)
    seed.fill(str(SEED))
    seed.press("Tab")
    prompt = page.locator("#motion-prompt textarea")
    prompt.fill(PROMPT)
    prompt.press("Tab")
    set_number(page, "param-number-0", FIRST_STEPS)  # steps, then guidance, then resolution
    set_number(page, "param-number-2", i2v_tiny.TINY_RESOLUTION)
    expect(page.locator("#param-number-2 input[type=number]")).to_have_value(str(i2v_tiny.TINY_RESOLUTION),
                                                                             timeout=STEP_MS)
    page.screenshot(path=str(artifacts / "i2v-01-parameters.png"), full_page=True)

    # Animate: the bar counts the denoising steps, then the preview plays and moves.
    watch_progress(page, FIRST_STEPS)
    click(page, "animate-selected")
    wait_status(page, r"Animated")
    seen = steps_seen(page)
    # The page shows the denoising bar of this run. How many of its steps get drawn depends
    # on how fast the tiny model runs against Gradio's rendering (one, on a busy machine);
    # that the app reports every step in order is tests/test_i2v.py's, at the handler.
    assert seen and all(total == FIRST_STEPS for _, total in seen), seen
    video = page.locator("#poster-preview video")
    expect(video).to_have_attribute("src", re.compile(r"preview-"), timeout=STEP_MS)
    assert video_frames_differ(page) > 20, "the preview's frames change"
    page.screenshot(path=str(artifacts / "i2v-02-animated.png"), full_page=True)

    # The layered bundle: the layer as RGBA frames in its motion box, frame 0 the static layer.
    choose_format(page, "Layered bundle")
    click(page, "export")
    wait_status(page, r"Exported")
    bundle = download(page, "-layers.zip", tmp_path)
    entry, frames = bundle_layer(bundle, LAYER)
    box = Box(**{k: entry["motion_box"][k] for k in ("x", "y", "w", "h")})
    layer = load_psd(ASSETS_DIR / "samples" / "balloon.psd").layer(LAYER)
    assert entry["animated"] and box.contains(layer.box)
    motion = entry["motion"]
    assert motion["engine"] == "i2v" and motion["params"]["seed"] == SEED and motion["params"]["steps"] == FIRST_STEPS
    assert len(frames) == FPS * SECONDS and all(f.shape == (box.h, box.w, 4) for f in frames)
    assert np.array_equal(frames[0], place_static(layer, box)), "frame 0 is the static layer exactly"
    assert max(np.abs(f.astype(int) - frames[0]).max() for f in frames[1:]) > 0, "the layer moves"

    # Cancel a longer take from the page: the status says so, the layer keeps its clip.
    # (the server keeps the clip object itself: tests/test_i2v.py checks it at the handler)
    preview_before = video.get_attribute("src")
    set_number(page, "param-number-0", CANCELLED_STEPS)
    set_number(page, "param-number-2", CANCELLED_RESOLUTION)
    expect(page.locator("#param-number-0 input[type=number]")).to_have_value(str(CANCELLED_STEPS), timeout=STEP_MS)
    expect(page.locator("#param-number-2 input[type=number]")).to_have_value(str(CANCELLED_RESOLUTION),
                                                                             timeout=STEP_MS)
    watch_progress(page, CANCELLED_STEPS, cancel_at_first=True)
    click(page, "animate-selected")
    page.wait_for_function("() => window.__steps.length > 0", timeout=STEP_MS)
    # The Cancel button's reply and the Animate's come in either order; both say this. (On a
    # busy machine the reply to the steps edit above, "preview is stale", may land after them:
    # the status said it, which is what the designer saw.)
    page.wait_for_function("() => window.__cancelSaid", timeout=STEP_MS)
    settle(page)
    seen = steps_seen(page)
    assert seen[-1][0] < CANCELLED_STEPS and all(total == CANCELLED_STEPS for _, total in seen), seen
    page.screenshot(path=str(artifacts / "i2v-03-cancelled.png"), full_page=True)
    assert video.get_attribute("src") == preview_before, "the preview still shows the kept clip"
    assert not errors, errors
    context.close()
