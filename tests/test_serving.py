"""Serving generative engines in this process: the result cache and the one-job-per-device queue.

A tiny random LTX-Video pipeline (tests/helpers/i2v_tiny.py) stands in for a real model;
generations are counted at the engine's own `_generate`, where the pipeline is called.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.__main__ import main as cli_main
from engine.core.clip import LayerClip
from engine.core.poster import Box, PosterError
from engine.motion.base import Cancelled, MotionRequest
from engine.motion.device_queue import device_queue, waiting_message
from engine.motion.i2v import I2VAnimator
from engine.motion.registry import release
from engine.motion.result_cache import ClipCache, cache_bytes, cache_dir, model_identity
from engine.motion.service import REUSED, get_service
from engine.psd.load import load_psd
from tests.helpers import i2v_tiny
from tests.helpers.dmdl_tiny import one_thread  # noqa: F401 (autouse fixture)
from tests.helpers.paths import ASSETS_DIR

FLOWER = ASSETS_DIR / "samples" / "flower.psd"
PROMPT = "the butterfly flaps its wings"
TINY = {"resolution": i2v_tiny.TINY_RESOLUTION, "steps": 2}


@pytest.fixture(scope="module")
def ltx_folder(tmp_path_factory) -> Path:
    return i2v_tiny.ltx_i2v(tmp_path_factory.mktemp("serving-model") / "ltx")


@pytest.fixture(scope="module")
def butterfly():
    layer = load_psd(FLOWER).layer("Butterfly")
    b = layer.box
    return layer, Box(b.x - 20, b.y - 30, b.w + 36, b.h + 50)


@pytest.fixture
def i2v(ltx_folder, monkeypatch):
    """The i2v engine on the tiny model, on the CPU, fresh; its generations counted (start, end)."""
    monkeypatch.setenv("I2V_MODEL", str(ltx_folder))
    monkeypatch.setenv("I2V_DEVICE", "cpu")
    monkeypatch.delenv("I2V_OFFLOAD", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    runs: list[list[float]] = []
    original = I2VAnimator._generate

    def counted(self, *args, **kwargs):
        runs.append([time.monotonic()])
        try:
            return original(self, *args, **kwargs)
        finally:
            runs[-1].append(time.monotonic())

    monkeypatch.setattr(I2VAnimator, "_generate", counted)
    release("i2v")
    yield runs
    release("i2v")


def request(butterfly, seed=1, prompt=PROMPT, **params) -> MotionRequest:
    layer, box = butterfly
    return MotionRequest(layer=layer, box=box, prompt=prompt, frames=6, fps=12, seed=seed,
                         params={**TINY, **params})


# --- the result cache -----------------------------------------------------------------------


def test_identical_inputs_are_generated_once_and_any_change_generates(i2v, butterfly, ltx_folder):
    [first] = get_service("i2v").animate([request(butterfly)])
    assert len(i2v) == 1 and first.frame_count == 6 and REUSED not in first.messages

    [again] = get_service("i2v").animate([request(butterfly)])
    assert len(i2v) == 1, "the same inputs never reach the model again"
    assert np.array_equal(again.frames, first.frames) and again.layer_id == first.layer_id
    assert again.box == first.box and again.engine == "i2v" and REUSED in again.messages

    release("i2v")  # as a restarted editor, or the CLI next time: the cache is on disk
    get_service("i2v").animate([request(butterfly)])
    assert len(i2v) == 1

    [other_seed] = get_service("i2v").animate([request(butterfly, seed=2)])
    assert len(i2v) == 2 and not np.array_equal(other_seed.frames[1:], first.frames[1:])
    get_service("i2v").animate([request(butterfly, prompt="the butterfly rises")])
    get_service("i2v").animate([request(butterfly, steps=1)])
    assert len(i2v) == 4, "a new seed, prompt or parameter generates"

    index = ltx_folder / "model_index.json"
    stat = index.stat()
    os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a replaced model
    get_service("i2v").animate([request(butterfly)])
    assert len(i2v) == 5, "another model (its identity changed) generates"

    # One layer cached, one new: only the new one is generated, results in request order.
    clips = get_service("i2v").animate([request(butterfly, seed=7), request(butterfly)])
    assert len(i2v) == 6 and [REUSED in c.messages for c in clips] == [False, True]


def test_the_command_line_reuses_an_earlier_generation(i2v, tmp_path):
    def run(out: Path) -> list[bytes]:
        code = cli_main(["animate", str(FLOWER), "--layer", "Butterfly", "--prompt", PROMPT, "--engine", "i2v",
                         "--box", "740,430,150,120", "--param", "resolution=32", "--param", "steps=1",
                         "--frames", "4", "--fps", "12", "--out", str(out), "--quiet"])
        assert code == 0
        return [p.read_bytes() for p in sorted(out.glob("*.png"))]

    first = run(tmp_path / "first")
    assert run(tmp_path / "second") == first and len(first) == 4
    assert len(i2v) == 1


def _clip(value: int, side: int = 64) -> LayerClip:
    rng = np.random.default_rng(value)  # noise: deflate cannot shrink it, so sizes are predictable
    return LayerClip(layer_id=value, box=Box(0, 0, side, side),
                     frames=rng.integers(0, 255, (3, side, side, 4), dtype=np.uint8), engine="i2v")


def test_the_cache_keeps_the_recently_used_clips_under_its_cap(tmp_path):
    one = ClipCache(tmp_path, 1 << 30)
    one.put("probe", _clip(0))
    size = one.size()
    cache = ClipCache(tmp_path / "capped", int(size * 2.5))
    cache.put("a", _clip(1))
    cache.put("b", _clip(2))
    past = time.time() - 100
    os.utime(cache.path("a"), (past, past))
    os.utime(cache.path("b"), (past + 1, past + 1))
    assert cache.get("a").layer_id == 1  # a used now: b is the least recently used
    cache.put("c", _clip(3))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert cache.size() <= cache.max_bytes
    assert np.array_equal(cache.get("c").frames, _clip(3).frames)

    cache.path("a").write_bytes(b"not a zip")  # damaged on disk: a miss, and dropped
    assert cache.get("a") is None and not cache.path("a").exists()
    off = ClipCache(tmp_path / "off", 0)
    assert off.put("x", _clip(4)) is None and off.get("x") is None


def test_cache_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("POSTER_CACHE_DIR", str(tmp_path / "here"))
    monkeypatch.setenv("POSTER_CACHE_MB", "1.5")
    assert cache_dir() == tmp_path / "here" and cache_bytes() == int(1.5 * (1 << 20))
    monkeypatch.delenv("POSTER_CACHE_DIR")
    monkeypatch.setenv("POSTER_DATA_DIR", str(tmp_path / "data"))
    assert cache_dir() == tmp_path / "data" / "cache" / "clips"
    monkeypatch.setenv("POSTER_CACHE_MB", "lots")
    with pytest.raises(PosterError, match="POSTER_CACHE_MB must be a number of megabytes"):
        cache_bytes()
    assert model_identity(tmp_path / "missing") != model_identity(tmp_path) and model_identity(None) == ""


# --- one generation at a time per device ----------------------------------------------------------


class _Caller(threading.Thread):
    """One designer's Animate in its own thread: what it heard, what it got."""

    def __init__(self, animator, req: MotionRequest, hold: threading.Event | None = None) -> None:
        super().__init__(daemon=True)
        self.animator, self.req, self.hold = animator, req, hold
        self.cancel = threading.Event()
        self.started_generating = threading.Event()
        self.messages: list[str] = []
        self.result: list[LayerClip] | Exception | None = None

    def progress(self, done: int, total: int, message: str) -> None:
        self.messages.append(message)
        if not message.startswith("waiting"):
            self.started_generating.set()
            if self.hold is not None:
                assert self.hold.wait(30)

    def run(self) -> None:
        try:
            self.result = self.animator.animate([self.req], progress=self.progress, cancel=self.cancel)
        except Exception as error:  # noqa: BLE001 (the test reads it)
            self.result = error

    def heard(self, message: str, timeout: float = 20) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if message in self.messages:
                return True
            time.sleep(0.01)
        return False


def test_one_generation_at_a_time_a_waiting_request_sees_its_place_and_can_leave(i2v, butterfly):
    service = get_service("i2v")
    hold = threading.Event()
    first = _Caller(service, request(butterfly, seed=11), hold=hold)
    first.start()
    try:
        assert first.started_generating.wait(30)
        second = _Caller(service, request(butterfly, seed=12))
        second.start()
        assert second.heard(waiting_message(1)), second.messages

        # The preset engine is not in the GPU's line: it answers while the generation runs.
        layer, box = butterfly
        [preset_clip] = get_service("presets").animate([MotionRequest(layer=layer, box=box, prompt="sways", frames=4)])
        assert preset_clip.frame_count == 4 and first.is_alive()

        second.cancel.set()  # Cancel while queued: leaves the line at once
        second.join(5)
        assert not second.is_alive() and isinstance(second.result, Cancelled), second.result
        assert "waiting for the GPU" in str(second.result)
        assert len(device_queue("cpu")) == 1 and not second.started_generating.is_set()

        third = _Caller(service, request(butterfly, seed=13))
        third.start()
        assert third.heard(waiting_message(1)) and len(device_queue("cpu")) == 2
    finally:
        hold.set()
    first.join(30)
    third.join(30)
    assert isinstance(first.result, list) and isinstance(third.result, list), (first.result, third.result)
    assert len(i2v) == 2, "the cancelled request never generated"
    (start_a, end_a), (start_c, end_c) = i2v
    assert start_c >= end_a, "the second generation starts after the first ends"
    assert len(device_queue("cpu")) == 0
