"""Sampling: integrate the learned flow from noise to the layers' latents.

Plain Euler steps on diffusers' FlowMatchEulerDiscreteScheduler, in packed token space:
the flow step is element-wise, so packing never has to be undone inside the loop. After
every step the frame-0 tokens are put back to the clean static latents (token replace, as
the HunyuanVideo-I2V pipeline does), so each layer's first frame IS its static layer.

The loop is diffusers' `HunyuanVideoImageToVideoPipeline` loop, step for step (a test runs
both): noise drawn per layer in its video layout (C, T', h, w), in layer order, from the
caller's generator; the start 0.999·noise + 0.001·static latent (repeated over the
frames); sigmas linear from 1 (shifted by the scheduler); the timestep the scheduler's, in
fp32, on the 0-1000 scale; embedded guidance ×1000; true classifier-free guidance
uncond + s·(cond − uncond).
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from engine.dmdl.packing import PackedLayers
from engine.dmdl.text import PromptEmbeddings

#: HunyuanVideo-I2V's pipeline starts from START_NOISE·noise + (1 − START_NOISE)·static latent.
START_NOISE = 0.999


def predict_flow(
    transformer,
    packed: PackedLayers,
    sigma: torch.Tensor,
    prompt: PromptEmbeddings,
    guidance: torch.Tensor | None = None,
) -> torch.Tensor:
    """The transformer's velocity (noise - data) for noisy tokens at noise level sigma (B,)."""
    dtype = transformer.dtype
    return transformer(
        packed.with_tokens(packed.tokens.to(dtype)),
        timestep=(sigma * 1000.0).float(),  # fp32 as diffusers keeps it: in bf16, timesteps near 1000 collide
        encoder_hidden_states=prompt.embeds.to(dtype),
        encoder_attention_mask=prompt.mask,
        pooled_projections=prompt.pooled.to(dtype),
        guidance=guidance,
        text_owner=prompt.owner,
    ).sample.float()


@torch.no_grad()
def sample_layers(
    transformer,
    condition: PackedLayers,
    prompt: PromptEmbeddings,
    scheduler: FlowMatchEulerDiscreteScheduler,
    num_inference_steps: int = 50,
    generator: torch.Generator | None = None,
    negative_prompt: PromptEmbeddings | None = None,
    true_cfg_scale: float = 1.0,
    guidance_scale: float = 6.0,
    step_callback=None,
) -> PackedLayers:
    """Denoise every layer of `condition` jointly; only its frame-0 tokens are read.

    `condition.tokens` holds clean static latents in the frame-0 section (anything in the
    later-frame section is ignored). Returns the same layout with the generated latents.
    """
    clean = condition.tokens.float()
    keep = condition.first_frame[..., None]
    noise = condition.pack(
        [[torch.randn(shape, generator=generator, dtype=torch.float32, device="cpu") for shape in layers]
         for layers in condition.layer_shapes()]
    ).to(clean.device)
    static = condition.pack([[x[:, :1].expand_as(x) for x in layers] for layers in condition.unpack(clean)])
    latents = torch.where(keep, clean, noise * START_NOISE + static * (1.0 - START_NOISE))

    sigmas = np.linspace(1.0, 0.0, num_inference_steps + 1)[:-1]
    scheduler.set_timesteps(sigmas=sigmas, device=clean.device)
    batch = clean.shape[0]
    guidance = None
    if transformer.config.guidance_embeds:
        guidance = torch.full((batch,), guidance_scale * 1000.0, device=clean.device, dtype=transformer.dtype)

    for i, t in enumerate(scheduler.timesteps):
        sigma = scheduler.sigmas[i].expand(batch).to(clean.device)  # sigma·1000 is t, bit for bit (fp32)
        noisy = condition.with_tokens(latents)
        velocity = predict_flow(transformer, noisy, sigma, prompt, guidance)
        if negative_prompt is not None and true_cfg_scale > 1.0:
            unconditional = predict_flow(transformer, noisy, sigma, negative_prompt, guidance)
            velocity = unconditional + true_cfg_scale * (velocity - unconditional)
        latents = scheduler.step(velocity, t, latents, return_dict=False)[0]
        latents = torch.where(keep, clean, latents)
        if step_callback is not None:
            step_callback(i, t)
    return condition.with_tokens(latents * condition.valid[..., None])
