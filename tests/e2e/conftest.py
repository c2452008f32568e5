"""Browser fixtures: the real editor in a subprocess, Debian's Chromium driven by Playwright."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.helpers.editor_server import REPO_ROOT, running_editor

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="package")
def editor_url(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[str]:
    # No generative model configured: the editor a designer gets on a fresh machine.
    unconfigured = {"I2V_MODEL": None, "I2V_MATTING_MODEL": None}
    with running_editor(tmp_path_factory.mktemp("editor-data"), artifacts / "editor.log", unconfigured) as url:
        yield url


@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory, monkeypatch_session_home: None) -> Iterator[Browser]:
    """One Chromium for the browser tests, closed when they are done: Playwright's sync API
    keeps an asyncio loop marked running in this thread while it is open, which code run by
    later tests (Ray Serve's sync calls) rightly refuses."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="package")
def monkeypatch_session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Chromium writes caches and crash reports under HOME: give it a throw-away one."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HOME", str(tmp_path_factory.mktemp("chromium-home")))
    yield
    mp.undo()


@dataclass
class OpenEditor:
    """A page on the editor with its sample poster open, and the page errors seen so far."""

    page: Page
    errors: list[str]


@pytest.fixture
def sample_editor(editor_url: str, browser: Browser) -> Iterator[OpenEditor]:
    """A fresh browser context (downloads allowed) on the editor's opening sample poster."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(editor_url)
    expect(page.locator("#status")).to_contain_text("Opened the sample poster", timeout=120_000)
    yield OpenEditor(page, errors)
    context.close()
