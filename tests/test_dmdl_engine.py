"""The `dmdl` Animator: honest availability, and the poster <-> latent plumbing around the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.helpers.layers import solid_layer
from tests.helpers.dmdl_tiny import dmdl_tiny, hunyuan_i2v_checkpoint, one_thread, tiny_dmdl_folder, tiny_text_encoders  # noqa: F401

from engine.motion.base import Animator, MotionRequest
from engine.motion.dmdl_engine import DMDLAnimator, frames_to_generate
from engine.core.poster import Box, PosterError


def test_unavailable_without_a_checkpoint(monkeypatch):
    monkeypatch.delenv("DMDL_CHECKPOINT", raising=False)
    ok, reason = DMDLAnimator().available()
    assert not ok
    assert reason == "The generative engine needs a GPU and a checkpoint: set DMDL_CHECKPOINT to a local folder."


def test_unavailable_with_a_folder_that_is_not_a_checkpoint(monkeypatch, tmp_path):
    monkeypatch.setenv("DMDL_CHECKPOINT", str(tmp_path))
    ok, reason = DMDLAnimator().available()
    assert not ok and "not a model folder" in reason and str(tmp_path) in reason


def test_availability_follows_the_gpu(monkeypatch, tmp_path):
    (tmp_path / "model_index.json").write_text("{}")
    monkeypatch.setenv("DMDL_CHECKPOINT", str(tmp_path))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    ok, reason = DMDLAnimator().available()
    assert not ok and "needs a GPU" in reason
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert DMDLAnimator().available() == (True, "The generative engine is ready.")


def test_animating_while_unavailable_says_why(monkeypatch):
    monkeypatch.delenv("DMDL_CHECKPOINT", raising=False)
    layer = solid_layer(1, "Sun", Box(8, 8, 16, 16), (250, 200, 40, 255))
    with pytest.raises(PosterError, match="set DMDL_CHECKPOINT"):
        DMDLAnimator().animate([MotionRequest(layer=layer, box=Box(0, 0, 40, 40), prompt="the sun rises")])[0]


def test_a_checkpoint_without_the_rgba_decoder_is_refused_when_loaded(monkeypatch, tmp_path):
    folder = hunyuan_i2v_checkpoint(tmp_path / "hunyuan-i2v")
    monkeypatch.setenv("DMDL_CHECKPOINT", str(folder))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    animator = DMDLAnimator(device="cpu")
    assert animator.available()[0]
    with pytest.raises(PosterError, match="no layer_decoder folder"):
        animator.pipeline()


def test_helpers_follow_the_model_conventions():
    assert [frames_to_generate(n) for n in (1, 2, 5, 24, 49)] == [1, 5, 5, 25, 49]


@pytest.fixture
def tiny_animator(tmp_path):
    """Real components at toy size: the other half's tiny VAE and RGBA ViT decoder, random weights."""
    return DMDLAnimator(device="cpu", num_inference_steps=2), tiny_dmdl_folder(tmp_path)


def test_animate_group_returns_clips_in_the_requested_boxes(tiny_animator, monkeypatch):
    """The whole real path: DMDL_CHECKPOINT -> lazy from_pretrained -> encode, sample, decode, cut."""
    tiny_animator, folder = tiny_animator
    monkeypatch.setenv("DMDL_CHECKPOINT", str(folder))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert isinstance(tiny_animator, Animator)
    sun = solid_layer(2, "Sun", Box(20, 10, 12, 12), (250, 200, 40, 200))
    bar = solid_layer(3, "Title", Box(40, 30, 20, 6), (255, 255, 255, 255))
    requests = [
        MotionRequest(layer=sun, box=Box(18, 6, 20, 20), prompt="", frames=7, seed=1),
        MotionRequest(layer=bar, box=Box(36, 28, 26, 10), prompt="", frames=7, seed=1, start=2),
    ]
    clips = tiny_animator.animate(requests, group_prompt="the sun rises")
    for clip, request in zip(clips, requests):
        assert clip.engine == "dmdl" and clip.layer_id == request.layer.id and clip.box == request.box
        assert clip.frames.shape == (7, request.box.h, request.box.w, 4)
        sun_static = np.zeros((request.box.h, request.box.w, 4), np.uint8)
        dx, dy = request.layer.box.x - request.box.x, request.layer.box.y - request.box.y
        sun_static[dy : dy + request.layer.box.h, dx : dx + request.layer.box.w] = request.layer.pixels
        assert np.array_equal(clip.frames[0], sun_static)
    assert np.array_equal(clips[1].frames[1], clips[1].frames[0])  # held through the start offset
    assert not np.array_equal(clips[0].frames[3], clips[0].frames[0])  # generated motion frames


def test_a_layer_needs_a_prompt(tiny_animator):
    tiny_animator, _ = tiny_animator
    layer = solid_layer(2, "Sun", Box(20, 10, 12, 12), (250, 200, 40, 200))
    with pytest.raises(PosterError, match="motion prompt"):
        tiny_animator.animate([MotionRequest(layer=layer, box=Box(16, 0, 32, 32), prompt="  ")])[0]


def test_the_models_own_errors_reach_the_designer_as_poster_errors():
    """engine.dmdl raises DMDLError (it imports nothing of engine.core); the adapter says the same sentence as a PosterError."""
    from engine.dmdl.errors import DMDLError

    class RefusingPipeline:
        def encode_static(self, static):
            raise DMDLError("A clip for the DMDL model needs 4k+1 frames (1, 5, 9, …, 49); this one has 6.")

    layer = solid_layer(2, "Sun", Box(20, 10, 12, 12), (250, 200, 40, 200))
    with pytest.raises(PosterError, match="needs 4k\\+1 frames") as caught:
        DMDLAnimator(pipeline=RefusingPipeline()).animate([MotionRequest(layer=layer, box=Box(16, 0, 32, 32), prompt="rises")])
    assert isinstance(caught.value.__cause__, DMDLError)
