"""The `i2v` engine on tiny random pipelines of every supported family, loaded through I2V_MODEL.

Each family's folder is built once per session (tests/helpers/i2v_tiny.py) and animates the
flower poster's butterfly through the Animator: RGBA in motion-box coordinates, frame 0 the
static layer exactly, the requested length, progress at every denoising step, and a cancel
that stops the call within a step. The pixel and timing helpers are checked on their own.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.core.clip import place_static
from engine.core.poster import Box, PosterError
from engine.motion.base import Cancelled, MotionRequest
from engine.motion.i2v import I2VAnimator
from engine.motion.i2v_families import FAMILIES, choose_canvas, read_model_folder
from engine.motion.i2v_frames import Fit, crossfade, frames_to_generate, from_canvas, pingpong, retime, to_canvas
from engine.__main__ import main as cli_main
from engine.motion.registry import available_engines, get_engine, release
from engine.psd.load import load_psd
from tests.helpers import i2v_tiny
from tests.helpers.dmdl_tiny import one_thread  # noqa: F401 (autouse fixture)
from tests.helpers.paths import ASSETS_DIR

FLOWER = ASSETS_DIR / "samples" / "flower.psd"
PROMPT = "the butterfly flaps its wings"
TINY = {"resolution": i2v_tiny.TINY_RESOLUTION, "steps": 2}


class _Folders(dict):
    """Pipeline class -> its tiny folder, built on first use (once per session)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def __missing__(self, name: str) -> Path:
        self[name] = i2v_tiny.BUILDERS[name](self.root / name)
        return self[name]


@pytest.fixture(scope="session")
def tiny_folders(tmp_path_factory) -> dict[str, Path]:
    return _Folders(tmp_path_factory.mktemp("i2v-models"))


@pytest.fixture(scope="session")
def engine() -> I2VAnimator:
    """One engine for the session, as the registry keeps one per process."""
    return I2VAnimator(device="cpu")


@pytest.fixture(scope="module")
def butterfly():
    poster = load_psd(FLOWER)
    layer = poster.layer("Butterfly")
    b = layer.box
    return layer, Box(b.x - 20, b.y - 30, b.w + 36, b.h + 50)


def use(monkeypatch, folder: Path) -> None:
    monkeypatch.setenv("I2V_MODEL", str(folder))
    monkeypatch.delenv("I2V_OFFLOAD", raising=False)


# --- every family through the Animator ----------------------------------------------------


@pytest.mark.parametrize("family", list(FAMILIES))
def test_each_family_animates_a_poster_layer(family, tiny_folders, engine, butterfly, monkeypatch):
    use(monkeypatch, tiny_folders[family])
    layer, box = butterfly
    ticks: list[tuple[int, int]] = []
    request = MotionRequest(layer=layer, box=box, prompt=PROMPT, frames=12, fps=24, seed=3, params=dict(TINY))
    [clip] = engine.animate([request], progress=lambda done, total, _m: ticks.append((done, total)))

    frames = clip.frames
    assert clip.engine == "i2v" and clip.layer_id == layer.id and clip.box == box
    assert frames.dtype == np.uint8 and frames.shape == (12, box.h, box.w, 4)
    assert np.array_equal(frames[0], place_static(layer, box)), "frame 0 is the static layer exactly"
    total = ticks[-1][1]
    assert total == 2 * FAMILIES[family].denoising_passes(engine._plan(read_model_folder(tiny_folders[family]),
                                                                       request, PROMPT).model_frames)
    assert [done for done, _ in ticks] == list(range(total + 1)), "progress at every denoising step"
    assert clip.params["seed"] == 3 and clip.params["steps"] == 2


@pytest.mark.parametrize("family", list(FAMILIES))
def test_cancel_stops_each_family_within_a_step(family, tiny_folders, engine, butterfly, monkeypatch):
    use(monkeypatch, tiny_folders[family])
    layer, box = butterfly
    cancel = threading.Event()
    ticks: list[int] = []

    def progress(done, total, _message):
        ticks.append(done)
        if done == 1:
            cancel.set()

    request = MotionRequest(layer=layer, box=box, prompt=PROMPT, frames=9, params={**TINY, "steps": 4})
    with pytest.raises(Cancelled):
        engine.animate([request], progress=progress, cancel=cancel)
    assert ticks == [0, 1], "no step runs after the cancel"
    # the engine is still usable afterwards, with the same pipeline
    pipe = engine.pipeline()
    engine.animate([MotionRequest(layer=layer, box=box, prompt=PROMPT, frames=5, params={**TINY, "steps": 1})])
    assert engine.pipeline() is pipe


def test_the_model_sees_the_box_scaled_into_its_canvas_over_gray(tiny_folders, engine, butterfly, monkeypatch):
    family = "LTXImageToVideoPipeline"
    use(monkeypatch, tiny_folders[family])
    layer, box = butterfly
    pipe = engine.pipeline()
    calls: list[dict] = []
    original = type(pipe).__call__

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    request = MotionRequest(layer=layer, box=box, prompt=PROMPT, frames=20, fps=24,
                            params={**TINY, "resolution": 64, "negative_prompt": "jitter"})
    engine.animate([request])
    [kw] = calls
    assert (kw["width"], kw["height"]) == choose_canvas(FAMILIES[family], box.w, box.h, 64)
    assert kw["width"] % 32 == 0 and kw["height"] % 32 == 0 and max(kw["width"], kw["height"]) == 64
    assert (kw["num_frames"] - 1) % 8 == 0 and kw["num_frames"] >= 20, "LTX counts frames as 8k+1"
    assert kw["frame_rate"] == 24 and kw["negative_prompt"] == "jitter" and kw["prompt"] == PROMPT
    image = np.asarray(kw["image"])
    assert image.shape == (kw["height"], kw["width"], 3)
    assert (image[:, 0] == 128).all() or (image[0] == 128).all(), "the padding is 50 % gray"


def test_offloading_runs_the_same_pipeline_with_hooks(tiny_folders, butterfly, monkeypatch):
    use(monkeypatch, tiny_folders["LTXImageToVideoPipeline"])
    monkeypatch.setenv("I2V_OFFLOAD", "model")
    engine = I2VAnimator(device="cpu")
    layer, box = butterfly
    assert engine.resolve_params({})[0]["offload"] == "model"
    [clip] = engine.animate([MotionRequest(layer=layer, box=box, prompt=PROMPT, frames=9, params=dict(TINY))])
    assert clip.frames.shape == (9, box.h, box.w, 4)
    assert hasattr(engine.pipeline("model").transformer, "_hf_hook"), "accelerate's offload hooks are on"
    engine.release()
    assert not engine.loaded


def test_the_pipeline_loads_once_for_many_requests_and_threads(tiny_folders, butterfly, monkeypatch):
    use(monkeypatch, tiny_folders["WanImageToVideoPipeline"])
    engine = I2VAnimator(device="cpu")
    loads = []
    original = engine._load
    monkeypatch.setattr(engine, "_load", lambda *a: loads.append(a) or original(*a))
    pipes = []
    threads = [threading.Thread(target=lambda: pipes.append(engine.pipeline())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    layer, box = butterfly
    engine.animate([MotionRequest(layer=layer, box=box, prompt=PROMPT, frames=5, params={**TINY, "steps": 1})] * 2)
    assert len(loads) == 1 and all(p is pipes[0] for p in pipes)


def test_group_prompt_and_loops(tiny_folders, engine, butterfly, monkeypatch):
    use(monkeypatch, tiny_folders["CogVideoXImageToVideoPipeline"])
    layer, box = butterfly
    base = dict(layer=layer, box=box, prompt="", frames=8, params={**TINY, "steps": 1})
    once, fade, pong = engine.animate(
        [MotionRequest(**{**base, "params": {**TINY, "steps": 1, "loop": loop}}) for loop in ("none", "crossfade",
                                                                                            "pingpong")],
        group_prompt=PROMPT,
    )
    assert getattr(once, "loop_mode", "hold") == "hold"
    assert "draws only at 16×16" in once.messages[0], "CogVideoX 1.0's canvas is fixed by its weights"
    p = pong.frames
    assert all(np.array_equal(p[k], p[8 - k]) for k in range(1, 8)), "ping-pong plays back to frame 1"
    assert np.array_equal(fade.frames[0], once.frames[0])
    tail = np.abs(fade.frames[-1].astype(int) - fade.frames[0].astype(int)).mean()
    assert tail < np.abs(once.frames[-1].astype(int) - once.frames[0].astype(int)).mean() or tail == 0


# --- availability, parameters, registry, CLI ---------------------------------------------


def test_availability_says_why_not(tmp_path, tiny_folders, monkeypatch):
    engine = I2VAnimator(device="cpu")
    monkeypatch.delenv("I2V_MODEL", raising=False)
    ok, reason = engine.available()
    assert not ok and reason.startswith("The image-to-video engine needs a model: set I2V_MODEL")
    monkeypatch.setenv("I2V_MODEL", str(tmp_path / "nowhere"))
    assert "not a folder" in engine.available()[1]
    monkeypatch.setenv("I2V_MODEL", str(tmp_path))
    assert "not a diffusers model folder" in engine.available()[1]
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    ok, reason = engine.available()
    assert not ok and "StableDiffusionPipeline" in reason and "WanImageToVideoPipeline" in reason
    use(monkeypatch, tiny_folders["WanImageToVideoPipeline"])
    ok, reason = engine.available()
    assert ok and "Wan 2.x I2V" in reason and "on the CPU" in reason
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "sees no GPU" in I2VAnimator(device="cuda").available()[1]
    monkeypatch.setenv("I2V_OFFLOAD", "sometimes")
    assert engine.available() == (False, "I2V_OFFLOAD must be one of none, model, sequential; got 'sometimes'.")


def test_animating_without_a_model_or_prompt_says_why(butterfly, tiny_folders, monkeypatch):
    layer, box = butterfly
    monkeypatch.delenv("I2V_MODEL", raising=False)
    with pytest.raises(PosterError, match="set I2V_MODEL"):
        I2VAnimator().animate([MotionRequest(layer=layer, box=box, prompt=PROMPT)])
    use(monkeypatch, tiny_folders["WanImageToVideoPipeline"])
    with pytest.raises(PosterError, match="needs a motion prompt"):
        I2VAnimator().animate([MotionRequest(layer=layer, box=box, prompt="  ")])


def test_parameters_come_from_the_family_table(tiny_folders, monkeypatch):
    engine = I2VAnimator(device="cpu")
    use(monkeypatch, tiny_folders["WanImageToVideoPipeline"])
    specs = {spec.name: spec for spec in engine.param_specs()}
    wan = FAMILIES["WanImageToVideoPipeline"]
    assert specs["steps"].default == wan.steps and specs["guidance"].default == wan.guidance
    assert specs["resolution"].default == 832 and specs["negative_prompt"].default == wan.negative_prompt
    assert set(specs["loop"].choices) == {"none", "crossfade", "pingpong"} and specs["loop"].default == "none"
    assert specs["matting"].choices == ("palette", "color_to_alpha")
    use(monkeypatch, tiny_folders["HunyuanVideoImageToVideoPipeline"])
    names = [spec.name for spec in engine.param_specs()]
    assert "negative_prompt" not in names, "HunyuanVideo-I2V's guidance is distilled: no negative prompt"
    with pytest.raises(PosterError, match="has no parameter 'preset'"):
        engine.resolve_params({"preset": "float"})
    with pytest.raises(PosterError, match="'steps'"):
        engine.resolve_params({"steps": 0})


def test_the_registry_lists_i2v_with_its_reason(monkeypatch):
    monkeypatch.delenv("I2V_MODEL", raising=False)
    assert isinstance(get_engine("i2v"), I2VAnimator)
    ok, reason = available_engines()["i2v"]
    assert not ok and "set I2V_MODEL" in reason


def test_cli_animates_with_the_i2v_engine(tiny_folders, tmp_path, monkeypatch, capsys):
    use(monkeypatch, tiny_folders["LTXConditionPipeline"])
    out = tmp_path / "frames"
    try:
        code = cli_main(["animate", str(FLOWER), "--layer", "Butterfly", "--prompt", PROMPT, "--engine", "i2v",
                         "--box", "740,430,150,120",
                         "--param", "resolution=32", "--param", "steps=1", "--param", "loop=pingpong",
                         "--frames", "6", "--fps", "12", "--out", str(out), "--quiet"])
    finally:
        release("i2v")
    assert code == 0, capsys.readouterr().err
    assert len(sorted(out.glob("*.png"))) == 6


def test_cli_refuses_i2v_without_a_model(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("I2V_MODEL", raising=False)
    code = cli_main(["animate", str(FLOWER), "--layer", "Butterfly", "--prompt", PROMPT, "--engine", "i2v",
                     "--out", str(tmp_path / "x.webm")])
    assert code == 3 and "set I2V_MODEL" in capsys.readouterr().err


# --- the editor's path (handlers as the page calls them) -------------------------------------


@pytest.fixture
def editor_session(tmp_path, tiny_poster):
    from app.persist import restore
    from app.session import SessionStore
    from app.state import EditorState
    from engine.core.project import Project, Timeline

    session, _ = SessionStore(tmp_path / "data", restore=restore).open(None)
    session.state = EditorState(project=Project(poster=tiny_poster, timeline=Timeline(fps=6, frames=6), source=""))
    return session


def test_the_editor_lists_i2v_and_says_why_not(tiny_folders, monkeypatch):
    from app.ui import Outputs, assign_slots
    from app.views import engines_view

    shown: dict = {}
    monkeypatch.delenv("I2V_MODEL", raising=False)
    Outputs._engines(None, engines_view(), shown.__setitem__)
    assert "**Image-to-video model (GPU)** (unavailable) — The image-to-video engine needs a model: set I2V_MODEL" \
        in shown["engine_note"]
    assert "i2v" not in [value for _, value in shown["engine"]["choices"]]
    use(monkeypatch, tiny_folders["WanImageToVideoPipeline"])
    Outputs._engines(None, engines_view(), shown.__setitem__)
    assert "i2v" in [value for _, value in shown["engine"]["choices"]] and "Image-to-video" not in shown["engine_note"]
    slots = assign_slots(get_engine("i2v").param_specs())
    assert slots["param_text_0"].name == "negative_prompt" and slots["param_choice_1"].name == "loop"


def test_the_editor_animates_with_i2v_reports_steps_and_cancels(editor_session, tiny_folders, monkeypatch):
    from app import animating, handlers
    from app.motion_panel import MotionFields

    use(monkeypatch, tiny_folders["LTXImageToVideoPipeline"])
    release("i2v")
    session = editor_session
    try:
        handlers.set_selection(session, [2])
        view = handlers.edit_motion(session, 2, MotionFields(engine="i2v"), only=("engine",))
        assert not view.get("error"), view.get("status")
        assert [spec.name for spec in view["specs"]][:3] == ["steps", "guidance", "negative_prompt"]
        handlers.edit_motion(session, 2, MotionFields(engine="i2v", prompt="the sun rises",
                                                      params={"resolution": 32, "steps": 3}),
                             only=("prompt", "resolution", "steps"))
        handlers.edit_box(session, 2, 4, 4, 30, 30)
        steps: list[str] = []
        view = animating.animate(session, "selected", lambda fraction, desc="": steps.append(desc))
        assert not view.get("error"), view["status"]
        clip = session.state.clips[2]
        assert clip.engine == "i2v" and clip.box == Box(4, 4, 30, 30) and clip.frame_count == 6
        assert [d for d in steps if "denoising step" in d] == [f"denoising step {k} of 3" for k in (1, 2, 3)]
        steps.clear()
        view = animating.animate(session, "selected", lambda fraction, desc="": steps.append(desc))
        assert "Reused" in view["status"] and not [d for d in steps if "denoising step" in d], \
            "the same inputs again come from the result cache"
        handlers.edit_motion(session, 2, MotionFields(engine="i2v", prompt="the sun rises",
                                                      params={"resolution": 32, "steps": 4}), only=("steps",))
        clip = session.state.clips[2]

        def press_cancel(fraction, desc=""):
            if "denoising step 1" in desc:
                animating.cancel(session)

        view = animating.animate(session, "selected", press_cancel)
        assert not view.get("error") and "cancelled" in view["status"]
        assert session.state.clips[2] is clip, "a cancelled Animate keeps the previous clip"
    finally:
        release("i2v")


# --- the pixel and timing helpers ------------------------------------------------------------


def test_canvas_follows_the_box_aspect_and_the_family_grid():
    hunyuan, ltx = FAMILIES["HunyuanVideoImageToVideoPipeline"], FAMILIES["LTXImageToVideoPipeline"]
    assert choose_canvas(hunyuan, 400, 200, 1280) == (1280, 720)
    assert choose_canvas(hunyuan, 100, 300, 1280) == (720, 1280)
    assert choose_canvas(hunyuan, 300, 310, 640) == (640, 640)
    assert choose_canvas(ltx, 500, 300, 100) == (96, 64), "every side a multiple of 32"
    assert choose_canvas(ltx, 500, 300, 768, fixed=(720, 480)) == (720, 480)


def test_frame_rules_and_retiming():
    assert FAMILIES["WanImageToVideoPipeline"].frames_for(20) == 21
    assert FAMILIES["LTXImageToVideoPipeline"].frames_for(20) == 25
    assert FAMILIES["HunyuanVideoImageToVideoPipeline"].frames_for(1) == 5
    assert frames_to_generate(49, 24, 16) == 33, "2 s of motion at Wan's 16 fps"
    assert retime(33, 49, 24, 16)[:4] == [0, 1, 1, 2] and retime(33, 49, 24, 16)[-1] == 32
    assert retime(5, 8, 24, 24) == [0, 1, 2, 3, 4, 4, 4, 4], "a short video holds its last frame"
    assert FAMILIES["HunyuanVideoFramepackPipeline"].denoising_passes(37) == 2


def test_canvas_round_trip_keeps_the_box_and_crops_the_padding():
    static = np.zeros((30, 60, 4), np.uint8)
    static[5:25, 10:50] = (200, 30, 40, 255)
    fit = Fit.of(60, 30, 64, 64)
    assert (fit.w, fit.h, fit.x, fit.y) == (64, 32, 0, 16)
    image = np.asarray(to_canvas(static, fit))
    assert (image[:16] == 128).all() and (image[48:] == 128).all()
    frame = image.astype(np.float32) / 255.0
    frame[:16] = 1.0  # whatever the model draws in the padding never reaches the box
    back = from_canvas(frame, fit, 60, 30)
    assert back.shape == (30, 60, 3)
    assert np.abs(back[12, 30].astype(int) - [200, 30, 40]).max() <= 2 and (back[0, 0] == 128).all()


def test_loop_helpers():
    frames = [np.full((2, 2, 4), v, np.uint8) for v in (0, 40, 80, 120, 160)]
    assert [f[0, 0, 0] for f in pingpong(frames, 8)] == [0, 40, 80, 120, 160, 120, 80, 40]
    faded = crossfade([np.full((2, 2, 4), (v, v, v, 255), np.uint8) for v in range(0, 240, 20)])
    assert faded[0][0, 0, 0] == 0 and faded[-1][0, 0, 0] < 220 / 2
