"""Rectified-flow training (eq. 10), readable in one sitting.

A sample's layers are noised together at one noise level sigma: x = (1 - sigma) z + sigma e.
The model predicts the velocity e - z (diffusers' flow-matching sign; eq. 10 writes the same
loss with t = 1 - sigma). Frame-0 tokens stay clean (they are the static layers) and are
left out of the loss, as is batch padding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Iterator

import torch

from engine.dmdl.packing import PackedLayers
from engine.dmdl.sampling import predict_flow
from engine.dmdl.text import PromptEmbeddings


@dataclass
class TrainConfig:
    steps: int = 1000
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    grad_clip: float = 1.0
    logit_normal_std: float = 1.0  # sigma ~ sigmoid(N(0, std)), as in SD3 / HunyuanVideo
    guidance_scale: float = 1.0
    log_every: int = 50


def sample_sigmas(batch: int, std: float, generator: torch.Generator | None, device) -> torch.Tensor:
    """Noise levels in (0, 1), logit-normal: most training where the flow is hardest to tell."""
    return torch.sigmoid(torch.randn(batch, generator=generator) * std).to(device)


def flow_matching_loss(
    transformer,
    clean: PackedLayers,
    prompt: PromptEmbeddings,
    sigma: torch.Tensor,
    noise: torch.Tensor,
    guidance_scale: float = 1.0,
    per_sample: bool = False,
) -> torch.Tensor:
    """Mean squared error between predicted and true velocity over the generated tokens.

    `per_sample`: each sample's mean, then their mean: a batch split over N processes (whose
    gradients are averaged) then trains exactly as one process holding the whole batch.
    """
    z = clean.tokens.float()
    keep = clean.first_frame[..., None]
    s = sigma[:, None, None]
    noisy = torch.where(keep, z, (1.0 - s) * z + s * noise)
    guidance = None
    if transformer.config.guidance_embeds:
        guidance = torch.full_like(sigma, guidance_scale * 1000.0).to(transformer.dtype)
    velocity = predict_flow(transformer, clean.with_tokens(noisy), sigma, prompt, guidance)
    weight = (clean.valid & ~clean.first_frame)[..., None].float()
    squared = (velocity - (noise - z)) ** 2 * weight
    if per_sample:
        return (squared.sum(dim=(1, 2)) / (weight.sum(dim=(1, 2)) * z.shape[-1]).clamp(min=1.0)).mean()
    return squared.sum() / (weight.sum() * z.shape[-1]).clamp(min=1.0)


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up then cosine decay to a tenth."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.learning_rate * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def train(
    transformer,
    batches: Iterable[tuple[PackedLayers, PromptEmbeddings]],
    config: TrainConfig,
    generator: torch.Generator | None = None,
    log=print,
) -> list[float]:
    """Optimise the transformer on (packed clean latents, prompt) batches; returns the losses."""
    params = [p for p in transformer.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    transformer.train()
    losses: list[float] = []
    stream: Iterator = iter(batches)
    for step in range(config.steps):
        clean, prompt = next(stream)
        device = clean.tokens.device
        sigma = sample_sigmas(clean.tokens.shape[0], config.logit_normal_std, generator, device)
        noise = torch.randn(clean.tokens.shape, generator=generator).to(device)

        loss = flow_matching_loss(transformer, clean, prompt, sigma, noise, config.guidance_scale)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()

        losses.append(loss.item())
        if config.log_every and step % config.log_every == 0:
            log(f"step {step:5d}  loss {loss.item():.4f}  lr {learning_rate(step, config):.2e}")
    transformer.eval()
    return losses
