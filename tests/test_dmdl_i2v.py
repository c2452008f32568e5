"""DMDL conditioned and sampled as HunyuanVideo-I2V: against diffusers' own pipeline, tiny random weights."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler, HunyuanVideoImageToVideoPipeline, HunyuanVideoTransformer3DModel
from tests.helpers.dmdl_tiny import (  # noqa: F401 (one_thread: autouse fixture)
    HUNYUAN_I2V_TINY,
    PICTURE_PIXELS,
    PICTURE_PATCH,
    dmdl_tiny,
    latent,
    layer_image,
    one_thread,
    perturb,
    place,
    random_prompt,
    tiny_text_encoders,
)

from engine.dmdl import DMDLPipeline, DMDLTransformer
from engine.dmdl.autoencoder import tiny_vae
from engine.dmdl.packing import pack_layers
from engine.dmdl.reference import group_picture
from engine.dmdl.sampling import sample_layers
from engine.dmdl.text import IMAGE_EMBED_INTERLEAVE, PromptEncoder, i2v_template

LATENT16 = {**HUNYUAN_I2V_TINY, "in_channels": 16, "out_channels": 16}  # what the VAE makes


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    return tiny_text_encoders(tmp_path_factory.mktemp("i2v-encoders"))


def test_the_i2v_template_is_counted_on_the_tokenizer_and_image_tokens_come_first(encoders):
    template = i2v_template(encoders["tokenizer"], encoders["text_encoder"])
    features = (PICTURE_PIXELS // PICTURE_PATCH) ** 2
    assert "<image>" in template["template"] and "according to the reference image" in template["template"]
    # <|begin_of_text|> <|start_header_id|> system <|end_header_id|> <image>: the \n\n is no token here
    assert template["image_emb_start"] == 4 and template["image_emb_len"] == features
    encoder = PromptEncoder(**encoders)
    sun = layer_image(32, 48, seed=1)
    tokens = encoder.encode(["the sun rises"], 1, images=[sun]).embeds[0]
    images = features // IMAGE_EMBED_INTERLEAVE
    assert tokens.shape[0] == images + 3  # every 4th image feature, then "the sun rises"
    other = encoder.encode(["the sun rises"], 1, images=[layer_image(32, 48, seed=2)]).embeds[0]
    assert (tokens[:images] - other[:images]).abs().max() > 1e-3  # the picture reaches the image tokens
    clear = sun.clone()
    clear[..., 3] = 0  # a fully transparent layer is plain gray to LLaVA, whatever its colours
    gray = torch.full((32, 48, 4), 128, dtype=torch.uint8)
    gray[..., 3] = 255
    assert torch.equal(encoder.encode(["a"], 1, images=[clear]).embeds, encoder.encode(["a"], 1, images=[gray]).embeds)


def test_a_group_prompt_reads_the_layers_merged_in_place_over_gray():
    red, half_blue = torch.zeros(16, 32, 4, dtype=torch.uint8), torch.zeros(32, 16, 4, dtype=torch.uint8)
    red[..., 0], red[..., 3] = 255, 255
    half_blue[..., 2], half_blue[..., 3] = 255, 128
    picture = np.asarray(group_picture([red, half_blue], [place(0, 1, 1), place(1, 1, 2)]))
    assert picture.shape == (32, 32, 3)  # the union of the two boxes, from token cell (1, 1)
    assert picture[0, 0].tolist() == [255, 0, 0] and picture[20, 8].tolist() == [128, 128, 128]  # gray around
    a = 128 / 255
    expected = {(20, 24): [127.5 * (1 - a)] * 2 + [255 * a + 127.5 * (1 - a)],  # half-transparent blue over gray
                (8, 24): [255 * (1 - a), 0, 255 * a]}  # painted after the red: over it
    for (y, x), want in expected.items():
        assert np.abs(picture[y, x] - np.array(want)).max() <= 1.0


def test_a_layers_image_tokens_change_only_its_own_output_under_isolation(encoders):
    """Eq. 9: with the isolation mask, layer 1's picture (through LLaVA) reaches layer 0 nowhere;
    without it, the layers interact."""
    encoder = PromptEncoder(**encoders)
    statics = [latent(2, 2, 4, 1), latent(2, 4, 2, 2)]
    packed = pack_layers([statics], [[place(0, 0, 0), place(1, 1, 1)]])
    prompts = ["the flag waves", "the sun rises"]
    before = encoder.encode(prompts, 2, images=[layer_image(16, 32, 1), layer_image(32, 16, 2)])
    after = encoder.encode(prompts, 2, images=[layer_image(16, 32, 1), layer_image(32, 16, 3)])
    assert torch.equal(before.owner, after.owner) and torch.equal(before.pooled, after.pooled)

    def outputs(model, prompt):
        with torch.no_grad():
            flow = model(packed, timestep=torch.tensor([600.0]), encoder_hidden_states=prompt.embeds,
                         encoder_attention_mask=prompt.mask, pooled_projections=prompt.pooled,
                         guidance=torch.tensor([6000.0]), text_owner=prompt.owner).sample
        return packed.unpack(flow)[0]

    isolated = dmdl_tiny(layer_isolation=True)
    (a0, a1), (b0, b1) = outputs(isolated, before), outputs(isolated, after)
    assert (a0 - b0).abs().max().item() <= 1e-6
    assert (a1 - b1).abs().max().item() > 1e-3
    joint = dmdl_tiny(layer_isolation=False)
    assert (outputs(joint, before)[0] - outputs(joint, after)[0]).abs().max().item() > 1e-4


def test_dmdl_samples_one_layer_as_diffusers_hunyuan_video_i2v_does(encoders):
    """Same tiny weights, picture, prompt, seed; 3 steps with embedded guidance and true CFG.

    diffusers encodes the negative prompt's black picture with image_embed_interleave 2
    (its call does not pass the positive one's 4 on); DMDL keeps the checkpoint's 4 for
    both, so the reference gets that negative conditioning precomputed by diffusers itself.
    """
    torch.manual_seed(0)
    reference = perturb(HunyuanVideoTransformer3DModel(**LATENT16))
    ours = DMDLTransformer(**LATENT16)
    ours.load_state_dict(reference.state_dict())
    vae = tiny_vae().eval()
    diffusers_pipe = HunyuanVideoImageToVideoPipeline(
        transformer=reference.eval(), vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), **encoders
    )
    diffusers_pipe.set_progress_bar_config(disable=True)
    dmdl = DMDLPipeline(
        transformer=ours.eval(), vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), **encoders
    )

    rgba = layer_image(32, 48, seed=5, opaque=True)
    picture = PIL.Image.fromarray(rgba[..., :3].numpy(), "RGB")
    template = i2v_template(encoders["tokenizer"], encoders["text_encoder"])
    negative = diffusers_pipe.encode_prompt(
        image=PIL.Image.new("RGB", picture.size, 0), prompt="a", prompt_template=template, device="cpu",
        image_embed_interleave=IMAGE_EMBED_INTERLEAVE,
    )
    settings = dict(num_frames=9, num_inference_steps=3, guidance_scale=6.0, true_cfg_scale=3.0)
    want = diffusers_pipe(
        image=picture, prompt="the flag waves", height=32, width=48, prompt_template=template,
        negative_prompt_embeds=negative[0], negative_pooled_prompt_embeds=negative[1],
        negative_prompt_attention_mask=negative[2], generator=torch.Generator().manual_seed(7), output_type="latent",
        **settings,
    ).frames[0]
    static = dmdl.encode_static(rgba)
    got = dmdl([static], [place(0, 0, 0)], prompts=["the flag waves"], images=[rgba], negative_prompt="a",
               generator=torch.Generator().manual_seed(7), **settings).layers[0]
    assert got.shape == want.shape == (16, 3, 4, 6)
    assert want[:, 1:].abs().mean().item() > 0.1  # generated frames, not two zeros
    assert (got - want).abs().max().item() <= 1e-4


def test_fifty_steps_at_shift_seven_reach_the_model_as_fifty_fp32_timesteps():
    """In bf16 two of them would collide; the sampler hands the scheduler's fp32 values on."""
    model = dmdl_tiny().to(torch.bfloat16)
    seen: list[torch.Tensor] = []
    model.register_forward_pre_hook(lambda _m, _args, kwargs: seen.append(kwargs["timestep"]), with_kwargs=True)
    packed = pack_layers([[latent(2, 2, 2, 1)]], [[place(0, 0, 0)]])
    sample_layers(model, packed, random_prompt(), FlowMatchEulerDiscreteScheduler(shift=7.0), num_inference_steps=50,
                  generator=torch.Generator().manual_seed(0))
    assert all(t.dtype == torch.float32 for t in seen)
    values = torch.cat(seen)
    assert len(set(values.tolist())) == 50 and len(set(values.to(torch.bfloat16).tolist())) < 50
    assert np.isclose(values[0].item(), 1000.0)

