"""DMDLTransformer against diffusers' HunyuanVideo-I2V: same weights, same answer, loadable."""

from __future__ import annotations

import json

import pytest
import torch
from tests.helpers.dmdl_tiny import (  # noqa: F401 (one_thread: autouse fixture)
    CHANNELS,
    HUNYUAN_I2V_TINY,
    dmdl_tiny,
    hunyuan_i2v_tiny,
    latent,
    one_thread,
    place,
    random_prompt,
    run,
)
from safetensors.torch import load_file

from engine.dmdl import DMDLTransformer
from engine.dmdl.packing import pack_layers


@pytest.fixture
def i2v_dir(tmp_path):
    """A HunyuanVideo-I2V-shaped (token replace) transformer directory as diffusers saves it."""
    reference = hunyuan_i2v_tiny()
    reference.save_pretrained(tmp_path / "transformer")
    return tmp_path / "transformer", reference


def test_single_full_canvas_layer_equals_hunyuan_video_i2v(i2v_dir):
    directory, reference = i2v_dir
    model = DMDLTransformer.from_pretrained(directory).eval()
    assert tuple(model.config.rope_axes_dim) == (4, 6, 6)  # the checkpoint's bands, kept
    assert model.config.rope_layer_spacing > 0  # 4D-RoPE on the shared frame band: layer 0 is the checkpoint
    video = latent(frames=3, rows=8, cols=6, seed=1)
    prompt = random_prompt(length=7)
    prompt.mask[:, 5:] = 0  # padded text, as the real pipeline produces
    timestep, guidance = torch.tensor([600.0]), torch.tensor([6000.0])
    with torch.no_grad():
        expected = reference(video[None], timestep, prompt.embeds, prompt.mask, prompt.pooled, guidance).sample[0]
    packed = pack_layers([[video]], [[place(0, 0, 0)]])
    ours = packed.unpack(run(model, packed, prompt, sigma=0.6))[0][0]
    assert ours.shape == expected.shape
    assert (ours - expected).abs().max().item() <= 1e-5
    assert expected.abs().max().item() > 0.1  # a real signal, not two zeros


def test_loading_i2v_checkpoint_keeps_every_weight(i2v_dir):
    directory, reference = i2v_dir
    saved = load_file(directory / "diffusion_pytorch_model.safetensors")
    model, info = DMDLTransformer.from_pretrained(directory, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    ours = model.state_dict()
    assert set(ours) == set(saved)
    for name, tensor in saved.items():
        assert torch.equal(ours[name], tensor), name


def test_a_separate_layer_band_can_still_be_asked_for(i2v_dir):
    directory, _ = i2v_dir
    model = DMDLTransformer.from_pretrained(directory, rope_axes_dim=(4, 4, 4, 4), rope_layer_spacing=0)
    assert tuple(model.config.rope_axes_dim) == (4, 4, 4, 4)
    assert model.rope.axes_dim == (4, 4, 4, 4) and model.rope.layer_spacing == 0


def test_a_loaded_checkpoint_tells_two_stacked_layers_apart(i2v_dir):
    """The 4D model loaded from HunyuanVideo-I2V (no config change) tells identical layers
    stacked on one box apart; with one layer it is the checkpoint (the test above)."""
    directory, reference = i2v_dir
    model = DMDLTransformer.from_pretrained(directory).eval()
    twin = latent(frames=2, rows=4, cols=4, seed=3)
    packed = pack_layers([[twin, twin.clone()]], [[place(0, 1, 1), place(1, 1, 1)]])
    a, b = packed.unpack(run(model, packed, random_prompt()))[0]
    assert (a - b).abs().max().item() > 1e-3


def test_save_and_reload_round_trip(tmp_path):
    model = dmdl_tiny(layer_isolation=True, rope_layer_theta=10000.0)
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["_class_name"] == "DMDLTransformer" and config["layer_isolation"] is True
    loaded = DMDLTransformer.from_pretrained(tmp_path).eval()
    packed = pack_layers([[latent(2, 4, 4, 1), latent(2, 2, 4, 2)]], [[place(0, 0, 0), place(1, 1, 0)]])
    owner = torch.tensor([[0, 0, 1, 1]])
    prompt = random_prompt(length=4, owner=owner)
    assert torch.equal(model.state_dict()["proj_out.weight"], loaded.state_dict()["proj_out.weight"])
    # same weights; the loaded tensors' memory layout may pick another kernel, hence not bit-equal
    assert (run(model, packed, prompt) - run(loaded, packed, prompt)).abs().max().item() <= 1e-6


def test_rejects_configurations_it_cannot_honour():
    with pytest.raises(ValueError, match="token-replace"):
        DMDLTransformer(**{**HUNYUAN_I2V_TINY, "image_condition_type": "latent_concat"})
    with pytest.raises(ValueError, match="add up to the head dimension"):
        DMDLTransformer(**{**HUNYUAN_I2V_TINY, "rope_axes_dim": (4, 4, 4, 2)})


def test_batch_of_different_sizes_matches_each_sample_alone():
    """Padding never leaks: each sample of a mixed batch gets what it gets on its own."""
    model = dmdl_tiny()
    first = [latent(3, 4, 4, 1), latent(3, 2, 6, 2)]
    second = [latent(3, 6, 2, 3)]
    places_first, places_second = [place(0, 0, 0), place(1, 2, 1)], [place(0, 1, 1)]
    prompt = random_prompt(batch=2, length=6)
    prompt.mask[1, 4:] = 0
    batch = pack_layers([first, second], [places_first, places_second])
    together = batch.unpack(run(model, batch, prompt))
    for layers, places, b in ((first, places_first, 0), (second, places_second, 1)):
        alone_prompt = random_prompt(batch=2, length=6)
        length = int(prompt.mask[b].sum())
        alone_prompt.embeds, alone_prompt.mask = prompt.embeds[b : b + 1, :length], prompt.mask[b : b + 1, :length]
        alone_prompt.owner, alone_prompt.pooled = prompt.owner[b : b + 1, :length], prompt.pooled[b : b + 1]
        single = pack_layers([layers], [places])
        alone = single.unpack(run(model, single, alone_prompt))[0]
        for got, want in zip(together[b], alone):
            assert got.shape == want.shape == (CHANNELS, 3, *want.shape[2:])
            assert (got - want).abs().max().item() <= 1e-5


def test_the_timestep_reaches_the_model_in_fp32_whatever_the_weights():
    """As diffusers' HunyuanVideo-I2V loop does: in bf16, timesteps near 1000 collide (two
    of the 50 at shift 7), so the same noise level would be told to the model twice."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    from engine.dmdl.sampling import predict_flow

    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)
    scheduler.set_timesteps(50)
    assert len(set(scheduler.timesteps.to(torch.bfloat16).tolist())) < 50 == len(set(scheduler.timesteps.tolist()))
    model = dmdl_tiny().to(torch.bfloat16)
    seen: list[torch.dtype] = []
    model.register_forward_pre_hook(lambda _m, _args, kwargs: seen.append(kwargs["timestep"].dtype), with_kwargs=True)
    packed = pack_layers([[latent(2, 4, 4, 1)]], [[place(0, 0, 0)]])
    predict_flow(model, packed, torch.tensor([0.987654]), random_prompt(), guidance=torch.tensor([6000.0]))
    assert seen == [torch.float32]
