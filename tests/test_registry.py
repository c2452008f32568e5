"""The engine registry: one long-lived engine per process, parameters, progress and cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from tests.helpers.dmdl_tiny import dmdl_tiny, one_thread, tiny_dmdl_folder, tiny_text_encoders  # noqa: F401
from tests.helpers.layers import solid_layer

from engine.core.poster import Box, LayerKind, PosterError
from engine.dmdl import DMDLPipeline
from engine.motion import Animator, Cancelled, MotionRequest, ParamSpec, registry
from engine.dmdl.scale import scale_boxes
from engine.motion.dmdl_engine import DMDLAnimator


@pytest.fixture
def fresh_registry():
    """Every test starts and ends with no engine instance in this process."""
    registry.release()
    yield registry
    registry.release()


@pytest.fixture
def tiny_checkpoint(tmp_path, monkeypatch):
    """A tiny DMDL checkpoint on disk, DMDL_CHECKPOINT pointing at it, the engine on the CPU."""
    folder = tiny_dmdl_folder(tmp_path)
    monkeypatch.setenv("DMDL_CHECKPOINT", str(folder))
    monkeypatch.setenv("DMDL_DEVICE", "cpu")
    return folder


@pytest.fixture
def count_loads(monkeypatch):
    """How many times a DMDL checkpoint was read from disk."""
    loads = []
    original = DMDLPipeline.from_checkpoint.__func__

    def counted(cls, directory, *args, **kwargs):
        loads.append(str(directory))
        return original(cls, directory, *args, **kwargs)

    monkeypatch.setattr(DMDLPipeline, "from_checkpoint", classmethod(counted))
    return loads


def sun_request(**kw) -> MotionRequest:
    sun = solid_layer(2, "Sun", Box(20, 10, 12, 12), (250, 200, 40, 200))
    kw.setdefault("params", {"steps": 3})
    return MotionRequest(layer=sun, box=Box(16, 0, 32, 32), prompt=kw.pop("prompt", "the sun rises"), frames=5, **kw)


def test_two_sessions_share_one_engine_and_the_model_loads_once(fresh_registry, tiny_checkpoint, count_loads):
    """Two browser sessions animating at the same moment get the same instance; the weights load once."""
    engines, clips, errors = [], [], []

    def session() -> None:
        try:
            engine = registry.get_engine("dmdl")
            engines.append(engine)
            clips.extend(engine.animate([sun_request()]))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=session) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert engines[0] is engines[1] is registry.get_engine("dmdl")
    assert len(clips) == 2 and len(count_loads) == 1
    registry.get_engine("dmdl").animate([sun_request()])  # a third call: still loaded
    assert len(count_loads) == 1

    registry.release("dmdl")  # on demand: the weights go, a fresh instance loads them again
    assert not registry.is_loaded("dmdl")
    again = registry.get_engine("dmdl")
    assert again is not engines[0] and not again.loaded
    again.animate([sun_request()])
    assert len(count_loads) == 2


def test_the_dmdl_engine_reports_every_denoising_step(tiny_checkpoint):
    steps = []
    DMDLAnimator().animate([sun_request(params={"steps": 4})],
                           progress=lambda done, total, message: steps.append((done, total)))
    assert steps == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_cancel_stops_the_dmdl_sampling_between_steps(tiny_checkpoint):
    cancel, seen = threading.Event(), []

    def progress(done: int, total: int, message: str) -> None:
        seen.append(done)
        if done == 2:
            cancel.set()  # the designer presses Cancel during step 3

    engine = DMDLAnimator()
    with pytest.raises(Cancelled, match="cancelled"):
        engine.animate([sun_request(params={"steps": 6})], progress=progress, cancel=cancel)
    assert seen == [0, 1, 2]  # no step ran after the one during which Cancel was pressed
    assert isinstance(Cancelled(), PosterError)


def test_dmdl_joint_mode_hands_each_layer_its_own_prompt(tiny_checkpoint, monkeypatch):
    seen = {}
    call = DMDLPipeline.__call__

    def spy(self, *args, **kwargs):
        seen.update(prompts=kwargs.get("prompts"), group_prompt=kwargs.get("group_prompt"))
        return call(self, *args, **kwargs)

    monkeypatch.setattr(DMDLPipeline, "__call__", spy)
    bar = solid_layer(3, "Title", Box(40, 30, 20, 6), (255, 255, 255, 255))
    requests = [sun_request(), MotionRequest(layer=bar, box=Box(36, 28, 26, 10), prompt="the title waves",
                                             frames=5, params={"steps": 2})]
    clips = DMDLAnimator().animate(requests)
    assert seen == {"prompts": ["the sun rises", "the title waves"], "group_prompt": None}
    assert [clip.layer_id for clip in clips] == [2, 3]
    assert all("those of 'Sun'" in clip.messages[0] and "'Title'" in clip.messages[0] for clip in clips)
    DMDLAnimator().animate(requests, group_prompt="everything drifts")
    assert seen == {"prompts": None, "group_prompt": "everything drifts"}


def test_dmdl_parameters_are_checked_and_big_boxes_generate_at_the_resolution(tiny_checkpoint):
    engine = DMDLAnimator()
    assert [spec.name for spec in engine.param_specs()] == ["steps", "guidance", "resolution", "offload"]
    with pytest.raises(PosterError, match="Parameter 'steps' of the dmdl engine must be a whole number from 1"):
        engine.animate([sun_request(params={"steps": 0})])
    with pytest.raises(PosterError, match="has no parameter 'amplitude'"):
        engine.animate([sun_request(params={"amplitude": 0.5})])
    scaled = scale_boxes([Box(0, 0, 1024, 512), Box(512, 512, 256, 256)], 512)
    assert [s.scale for s in scaled] == [0.5, 0.5]
    assert [Box(*s.generated) for s in scaled] == [Box(0, 0, 512, 256), Box(256, 256, 128, 128)]
    [alone] = scale_boxes([Box(16, 16, 64, 32)], 512)
    assert (alone.scale, Box(*alone.generated)) == (1.0, Box(16, 16, 64, 32))
    big = sun_request(params={"steps": 1, "resolution": 64})
    big.box = Box(0, 0, 128, 64)  # generated at 64 x 32, then scaled back up
    clip = engine.animate([big])[0]
    assert clip.frames.shape == (5, 64, 128, 4) and clip.params["resolution"] == 64
    assert np.array_equal(clip.frames[0][10:22, 20:32], big.layer.pixels)  # frame 0 stays the layer, exactly


def test_presets_report_every_layer_and_cancel_between_layers(fresh_registry):
    engine = registry.get_engine("presets")
    layers = [solid_layer(i, f"L{i}", Box(10, 10, 8, 8), (200, 40, 40, 255)) for i in range(1, 4)]
    requests = [MotionRequest(layer=layer, box=Box(0, 0, 32, 32), prompt="bobs", frames=4) for layer in layers]
    steps = []
    clips = engine.animate(requests, progress=lambda done, total, message: steps.append((done, total, message)))
    assert [s[:2] for s in steps] == [(1, 3), (2, 3), (3, 3)] and "L1" in steps[0][2]
    assert [clip.layer_id for clip in clips] == [1, 2, 3]

    cancel = threading.Event()
    done_layers = []

    def progress(done: int, total: int, message: str) -> None:
        done_layers.append(done)
        cancel.set()

    with pytest.raises(Cancelled):
        engine.animate(requests, progress=progress, cancel=cancel)
    assert done_layers == [1]
    cancel.set()
    with pytest.raises(Cancelled):  # already cancelled: nothing runs at all
        engine.animate(requests, cancel=cancel)


def test_presets_joint_mode_follows_each_layer_s_prompt(fresh_registry):
    engine = registry.get_engine("presets")
    sun = solid_layer(1, "Sun", Box(10, 10, 8, 8), (200, 40, 40, 255))
    moon = solid_layer(2, "Moon", Box(30, 10, 8, 8), (200, 200, 200, 255))
    clips = engine.animate([
        MotionRequest(layer=sun, box=Box(0, 0, 48, 32), prompt="spins", frames=4),
        MotionRequest(layer=moon, box=Box(0, 0, 48, 32), prompt="bobs", frames=4),
    ])
    assert [clip.preset for clip in clips] == ["spin", "bob"]


def test_engines_declare_their_parameters_as_specs(fresh_registry):
    presets = registry.get_engine("presets")
    assert isinstance(presets, Animator) and isinstance(registry.get_engine("dmdl"), Animator)
    specs = presets.param_specs({"preset": "sway"})
    assert specs[0].name == "preset" and specs[0].choices[0] == "auto" and "sway" in specs[0].choices
    assert [s.name for s in specs[1:]] == list(presets.choose({"preset": "sway"})[0].params)
    assert all(isinstance(s, ParamSpec) and s.label for s in specs)
    assert {s.name for s in presets.param_specs({}, prompt="the flag flutters")} >= {"preset", "waves", "shading"}
    values, notes = presets.resolve_params({"preset": "auto"}, prompt="bounces wildly", layer_kind=LayerKind.PIXEL)
    assert values["preset"] == "auto" and values["amplitude"] > 0.5 and "squash" in values
    with pytest.raises(PosterError, match="no motion preset called 'swey'. Did you mean 'sway'"):
        presets.param_specs({"preset": "swey"})
    assert registry.engine_label("dmdl") == "DMDL generative (GPU)"
    with pytest.raises(PosterError, match="no motion engine called 'warp9'"):
        registry.release("warp9")


def test_param_spec_checks_every_kind():
    amount = ParamSpec("float", 0.5, 0.0, 1.0, name="amount")
    assert amount.check("0.25") == 0.25
    with pytest.raises(PosterError, match="Parameter 'amount' of the x engine must be a number from 0 to 1"):
        amount.check(2, "the x engine")
    assert ParamSpec("int", 1, 1, 8, name="n").check(3.0) == 3
    assert ParamSpec("bool", True, name="b").check("off") is False
    assert ParamSpec("choice", "a", choices=("a", "b_c"), name="c").check("B-C") == "b_c"
    text = ParamSpec("text", "", max=5, name="t")
    assert text.check("hello") == "hello"
    with pytest.raises(PosterError, match="at most 5 characters"):
        text.check("hello!")
    with pytest.raises(ValueError):
        ParamSpec("colour", None)
