"""Prompts through real (tiny) Llama + CLIP encoders, and the DMDLPipeline end to end on latents."""

from __future__ import annotations

import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from tests.helpers.dmdl_tiny import (  # noqa: F401 (one_thread: autouse fixture)
    CHANNELS,
    TEXT_DIM,
    dmdl_tiny,
    hunyuan_i2v_checkpoint,
    images_for,
    latent,
    layer_image,
    one_thread,
    place,
    tiny_text_encoders,
)
from safetensors.torch import load_file

from engine.dmdl import DMDLPipeline
from engine.dmdl.text import PromptEncoder


@pytest.fixture
def encoders(tmp_path):
    return tiny_text_encoders(tmp_path / "encoders")


def test_joint_mode_concatenates_owned_prompts(encoders):
    encoder = PromptEncoder(**encoders)
    flag, sun = layer_image(32, 48, 1), layer_image(16, 32, 2)
    joint = encoder.encode(["the flag waves", "the sun rises gently"], num_layers=2, images=[flag, sun])
    first = encoder.encode(["the flag waves"], num_layers=1, images=[flag])
    second = encoder.encode(["the sun rises gently"], num_layers=1, images=[sun])
    assert joint.embeds.shape == (1, first.embeds.shape[1] + second.embeds.shape[1], TEXT_DIM)
    assert torch.equal(joint.embeds, torch.cat([first.embeds, second.embeds], dim=1))
    assert joint.owner[0].tolist() == [0] * first.embeds.shape[1] + [1] * second.embeds.shape[1]
    assert torch.equal(joint.pooled, torch.cat([first.pooled, second.pooled], dim=1))  # each layer its own
    assert not torch.allclose(first.pooled, second.pooled)  # CLIP really read the prompts


def test_group_mode_shares_one_prompt_or_copies_it_per_layer(encoders):
    """Shared: LLaVA reads the layers merged in place (the paper's group data); copies (isolation):
    each layer's own picture with the group prompt, owned by it."""
    encoder = PromptEncoder(**encoders)
    images = [layer_image(32, 32, seed) for seed in (1, 2, 3)]
    places = [place(0, 0, 0), place(1, 1, 1), place(2, 0, 2)]
    shared = encoder.encode(None, num_layers=3, group_prompt="the title floats", images=images, placements=places)
    copies = encoder.encode(None, num_layers=3, group_prompt="the title floats", copy_per_layer=True, images=images)
    assert set(shared.owner[0].tolist()) == {-1}
    n = shared.embeds.shape[1]
    assert copies.owner[0].tolist() == [0] * n + [1] * n + [2] * n
    second = encoder.encode(None, num_layers=1, group_prompt="the title floats", images=images[1:2],
                            placements=[place(0, 0, 0)])
    assert torch.equal(copies.embeds[:, n : 2 * n], second.embeds)
    assert not torch.allclose(shared.embeds, second.embeds)  # the merged picture is another picture
    with pytest.raises(ValueError, match="one motion prompt per layer"):
        encoder.encode(["only one"], num_layers=2, images=images[:2])
    with pytest.raises(ValueError, match="one image per layer"):
        encoder.encode(["the flag waves"], num_layers=1)


def make_pipeline(encoders, **model_overrides) -> DMDLPipeline:
    transformer = dmdl_tiny(guidance_embeds=True, **model_overrides)
    return DMDLPipeline(transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), **encoders)


def test_pipeline_generates_every_layer_from_its_static_frame(encoders):
    pipe = make_pipeline(encoders)
    statics = [latent(1, 4, 6, 1), latent(1, 2, 4, 2)]
    places = [place(0, 0, 0), place(1, 2, 1)]
    images = images_for(statics)
    out = pipe(statics, places, prompts=["the flag waves", "the sun rises"], images=images, num_frames=9,
               num_inference_steps=3, generator=torch.Generator().manual_seed(0)).layers
    assert [o.shape for o in out] == [(CHANNELS, 3, 4, 6), (CHANNELS, 3, 2, 4)]
    for made, static in zip(out, statics):
        assert torch.equal(made[:, :1], static)
        assert made[:, 1:].abs().mean() > 0.05  # the later frames were generated
    again = pipe(statics, places, prompts=["the flag waves", "the sun rises"], images=images, num_frames=9,
                 num_inference_steps=3, generator=torch.Generator().manual_seed(0)).layers
    assert all(torch.equal(a, b) for a, b in zip(out, again))
    grouped = pipe(statics, places, group_prompt="the title floats", images=images, num_frames=9,
                   num_inference_steps=3, generator=torch.Generator().manual_seed(0)).layers
    assert not torch.allclose(grouped[0], out[0])  # the prompt mode matters


def test_pipeline_with_isolation_and_true_cfg(encoders):
    pipe = make_pipeline(encoders, layer_isolation=True)
    statics = [latent(1, 2, 2, 1), latent(1, 2, 2, 2)]
    out = pipe(statics, [place(0, 0, 0), place(1, 0, 0)], images=images_for(statics),
               group_prompt="the flag waves", num_frames=5, num_inference_steps=2, true_cfg_scale=3.0,
               negative_prompt="a", generator=torch.Generator().manual_seed(0)).layers
    assert [o.shape for o in out] == [(CHANNELS, 2, 2, 2)] * 2


def test_pipeline_saves_and_loads_from_a_local_directory(encoders, tmp_path):
    pipe = make_pipeline(encoders)
    pipe.save_pretrained(tmp_path / "dmdl")
    loaded = DMDLPipeline.from_checkpoint(tmp_path / "dmdl")
    assert loaded.vae is None and loaded.layer_decoder is None
    args = ([latent(1, 2, 4, 1)], [place(0, 0, 0)])
    kwargs = dict(prompts=["the sun rises"], images=[layer_image(16, 32, 1)], num_frames=5, num_inference_steps=2)
    want = pipe(*args, generator=torch.Generator().manual_seed(0), **kwargs).layers[0]
    got = loaded(*args, generator=torch.Generator().manual_seed(0), **kwargs).layers[0]
    assert (got - want).abs().max().item() <= 1e-5


def test_a_hunyuan_video_i2v_folder_loads_as_a_dmdl_pipeline(tmp_path):
    folder = hunyuan_i2v_checkpoint(tmp_path / "hunyuan-i2v")
    pipe = DMDLPipeline.from_checkpoint(folder)
    assert type(pipe.transformer).__name__ == "DMDLTransformer"
    assert type(pipe.vae).__name__ == "AutoencoderKLHunyuanVideo" and pipe.layer_decoder is None
    saved = load_file(folder / "transformer" / "diffusion_pytorch_model.safetensors")
    ours = pipe.transformer.state_dict()
    assert set(ours) == set(saved) and all(torch.equal(ours[k], v) for k, v in saved.items())
    static = pipe.encode_static(torch.full((32, 48, 4), 200, dtype=torch.uint8))
    assert static.shape == (16, 1, 4, 6)


def test_pipeline_explains_bad_requests(encoders):
    pipe = make_pipeline(encoders)
    with pytest.raises(ValueError, match="4k\\+1 frames"):
        pipe([latent(1, 2, 2, 1)], [place(0, 0, 0)], prompts=["a"], num_frames=10)
    with pytest.raises(ValueError, match="no transparent-layer decoder"):
        pipe([latent(1, 2, 2, 1)], [place(0, 0, 0)], prompts=["a"], images=[layer_image(16, 16, 1)], num_frames=5,
             num_inference_steps=1, output_type="rgba")
