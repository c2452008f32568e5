"""The tiny model learns: rectified-flow training fits fixed latents, and sampling recovers them."""

from __future__ import annotations

import itertools

import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from tests.helpers.dmdl_tiny import CHANNELS, dmdl_tiny, one_thread, place, random_prompt  # noqa: F401 (autouse fixture)

from engine.dmdl.packing import pack_layers
from engine.dmdl.sampling import sample_layers
from engine.dmdl.training import TrainConfig, flow_matching_loss, train


def fading_clip(rows: int, cols: int, generator: torch.Generator) -> torch.Tensor:
    """A latent video whose later frames follow its first (static) frame, like an animated layer."""
    first = torch.randn(CHANNELS, 1, rows, cols, generator=generator)
    return torch.cat([first * (1.0 - 0.25 * t) for t in range(3)], dim=1)


def held_out_loss(model, packed, prompt, sigmas, noises) -> float:
    with torch.no_grad():
        return sum(flow_matching_loss(model, packed, prompt, s, n).item() for s, n in zip(sigmas, noises)) / len(sigmas)


@pytest.mark.slow
def test_training_fits_and_sampling_reproduces_the_training_latents():
    generator = torch.Generator().manual_seed(1)
    samples = [[fading_clip(4, 4, generator), fading_clip(4, 6, generator)], [fading_clip(6, 4, generator)]]
    packed = pack_layers(samples, [[place(0, 0, 0), place(1, 1, 1)], [place(0, 0, 1)]])
    prompt = random_prompt(batch=2, length=5, seed=1)
    prompt.mask[1, 3:] = 0
    model = dmdl_tiny(num_attention_heads=4, guidance_embeds=False)

    probe = torch.Generator().manual_seed(5)
    sigmas = torch.sigmoid(torch.randn(8, 2, generator=probe))
    noises = torch.randn(8, *packed.tokens.shape, generator=probe)
    before = held_out_loss(model, packed, prompt, sigmas, noises)
    config = TrainConfig(steps=1000, learning_rate=3e-3, warmup_steps=10, log_every=0)
    losses = train(model, itertools.repeat((packed, prompt)), config, generator=torch.Generator().manual_seed(2))
    after = held_out_loss(model, packed, prompt, sigmas, noises)
    assert len(losses) == 1000
    assert after * 10 <= before, (before, after)

    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0)
    result = sample_layers(model, packed, prompt, scheduler, num_inference_steps=30,
                           generator=torch.Generator().manual_seed(3))
    for made_sample, true_sample in zip(result.unpack(), samples):
        for made, true in zip(made_sample, true_sample):
            assert torch.equal(made[:, 0], true[:, 0])  # token replace: frame 0 is the static layer
            error = (made[:, 1:] - true[:, 1:]).norm() / true[:, 1:].norm()
            assert error <= 0.1, error.item()
