"""The `dmdl` Animator: honest availability, and the poster <-> latent plumbing around the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import solid_layer
from diffusers import AutoencoderKLHunyuanVideo, FlowMatchEulerDiscreteScheduler
from dmdl_tiny import CHANNELS, dmdl_tiny, one_thread, tiny_text_encoders  # noqa: F401 (autouse fixture)

from engine.dmdl import DMDLPipeline
from engine.motion.base import Animator, MotionRequest
from engine.motion.dmdl_engine import DMDLAnimator, frames_to_generate, over_gray
from engine.poster import Box, PosterError


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
        DMDLAnimator().animate(MotionRequest(layer=layer, box=Box(0, 0, 40, 40), prompt="the sun rises"))


def test_helpers_follow_the_model_conventions():
    assert [frames_to_generate(n) for n in (1, 2, 5, 24, 49)] == [1, 5, 5, 25, 49]
    rgba = np.array([[[255, 0, 0, 255], [0, 0, 0, 0]]], dtype=np.uint8)
    assert np.allclose(over_gray(rgba), [[[1, -1, -1], [0, 0, 0]]])


class UpsamplingRGBADecoder(torch.nn.Module):
    """A small random RGBA decoder with the layer decoder's contract: (1, C, T', h, w) -> (1, 4, 4T'-3, 8h, 8w)."""

    def __init__(self) -> None:
        super().__init__()
        self.to_rgba = torch.nn.Conv3d(CHANNELS, 4, kernel_size=1)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        frames = (latent.shape[2] - 1) * 4 + 1
        up = F.interpolate(latent, size=(frames, latent.shape[3] * 8, latent.shape[4] * 8), mode="nearest")
        return torch.sigmoid(self.to_rgba(up))


@pytest.fixture
def tiny_animator(tmp_path):
    torch.manual_seed(0)
    vae = AutoencoderKLHunyuanVideo(
        latent_channels=CHANNELS, block_out_channels=(8, 8, 8, 8), layers_per_block=1, norm_num_groups=4,
        mid_block_add_attention=False,
    ).eval()
    pipe = DMDLPipeline(
        transformer=dmdl_tiny(), scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), vae=vae,
        layer_decoder=UpsamplingRGBADecoder().eval(), **tiny_text_encoders(tmp_path),
    )
    return DMDLAnimator(pipeline=pipe, device="cpu", num_inference_steps=2)


def test_animate_group_returns_clips_in_the_requested_boxes(tiny_animator):
    assert isinstance(tiny_animator, Animator)
    sun = solid_layer(2, "Sun", Box(20, 10, 12, 12), (250, 200, 40, 200))
    bar = solid_layer(3, "Title", Box(40, 30, 20, 6), (255, 255, 255, 255))
    requests = [
        MotionRequest(layer=sun, box=Box(18, 6, 20, 20), prompt="", frames=7, seed=1),
        MotionRequest(layer=bar, box=Box(36, 28, 26, 10), prompt="", frames=7, seed=1, start_offset=2),
    ]
    clips = tiny_animator.animate_group(requests, "the sun rises")
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
    layer = solid_layer(2, "Sun", Box(20, 10, 12, 12), (250, 200, 40, 200))
    with pytest.raises(PosterError, match="motion prompt"):
        tiny_animator.animate(MotionRequest(layer=layer, box=Box(16, 0, 32, 32), prompt="  "))
