"""Per-layer AdaLN modulation: each layer's tokens modulated by temb(t) + its own prompt's pooled vector."""

from __future__ import annotations

import pytest
import torch
from diffusers import HunyuanVideoTransformer3DModel
from tests.helpers.dmdl_tiny import (  # noqa: F401 (one_thread: autouse fixture)
    HUNYUAN_I2V_TINY,
    dmdl_tiny,
    latent,
    layer_image,
    one_thread,
    perturb,
    place,
    random_prompt,
    run,
    tiny_text_encoders,
)

from engine.dmdl import DMDLTransformer
from engine.dmdl.modulation import LayerModulation
from engine.dmdl.packing import pack_layers
from engine.dmdl.text import PromptEncoder


def test_with_isolation_a_layers_prompt_changes_only_its_own_output(tmp_path):
    """Eq. 9 holds for the whole prompt: layer 1's words reach layer 0 neither through
    attention nor through CLIP's pooled vector in the blocks' modulation."""
    encoder = PromptEncoder(**tiny_text_encoders(tmp_path / "encoders"))
    statics = [latent(2, 2, 4, 1), latent(2, 4, 2, 2)]
    packed = pack_layers([statics], [[place(0, 0, 0), place(1, 1, 1)]])
    images = [layer_image(16, 32, 1), layer_image(32, 16, 2)]
    before = encoder.encode(["the flag waves", "the sun rises"], 2, images=images)
    after = encoder.encode(["the flag waves", "the title floats gently"], 2, images=images)
    assert not torch.allclose(before.pooled[:, -1], after.pooled[:, -1])  # CLIP read layer 1's new prompt
    isolated = dmdl_tiny(layer_isolation=True)
    (a0, a1), (b0, b1) = packed.unpack(run(isolated, packed, before))[0], packed.unpack(run(isolated, packed, after))[0]
    assert (a0 - b0).abs().max().item() <= 1e-5
    assert (a1 - b1).abs().max().item() > 1e-3


def test_one_layer_given_per_layer_is_still_hunyuan_video_i2v():
    torch.manual_seed(0)
    reference = perturb(HunyuanVideoTransformer3DModel(**HUNYUAN_I2V_TINY))
    model = DMDLTransformer(**HUNYUAN_I2V_TINY)
    model.load_state_dict(reference.state_dict())
    model.eval()
    video = latent(frames=3, rows=4, cols=6, seed=1)
    prompt = random_prompt(length=6, owner=torch.zeros(1, 6, dtype=torch.long))
    with torch.no_grad():
        want = reference(video[None], torch.tensor([600.0]), prompt.embeds, prompt.mask, prompt.pooled,
                         torch.tensor([6000.0])).sample[0]
    prompt.pooled = prompt.pooled[:, None]  # (B, S=1, P): one vector per layer slot
    packed = pack_layers([[video]], [[place(0, 0, 0)]])
    got = packed.unpack(run(model, packed, prompt))[0][0]
    assert (got - want).abs().max().item() <= 1e-5 and want.abs().max().item() > 0.1


def test_the_per_layer_path_is_the_stock_arithmetic_token_by_token():
    """A batch (2 layers + 1 layer, padded) whose per-layer vectors differ by 1e-6 takes the
    per-layer path; it answers as the shared-vector (diffusers') path does, every token."""
    model = dmdl_tiny()
    seen: list[type] = []
    model.transformer_blocks[0].register_forward_pre_hook(lambda _m, args: seen.append(type(args[2])))
    model.single_transformer_blocks[0].register_forward_pre_hook(lambda _m, args: seen.append(type(args[2])))
    packed = pack_layers([[latent(3, 4, 4, 1), latent(3, 2, 6, 2)], [latent(3, 6, 2, 3)]],
                         [[place(0, 0, 0), place(1, 2, 1)], [place(0, 1, 1)]])
    owner = torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 0, 0, -1, -1]])
    prompt = random_prompt(batch=2, length=6, owner=owner)
    prompt.mask[1, 4:] = 0
    shared = run(model, packed, prompt)
    assert seen == [torch.Tensor, torch.Tensor]
    nudged = prompt.pooled[:, None].repeat(1, 2, 1)
    nudged[0, 1] += 1e-6
    prompt.pooled = nudged
    per_layer = run(model, packed, prompt)
    assert seen[2:] == [LayerModulation, LayerModulation]
    assert (per_layer - shared).abs().max().item() <= 1e-5 and shared.abs().max().item() > 0.1


def test_per_layer_vectors_must_cover_every_layer_and_say_whose_text_is_whose():
    model = dmdl_tiny()
    layers = [latent(2, 2, 2, seed) for seed in (1, 2, 3)]
    packed = pack_layers([layers], [[place(0, 0, 0), place(1, 1, 1), place(2, 0, 1)]])
    prompt = random_prompt(length=6, owner=torch.tensor([[0, 0, 1, 1, 2, 2]]))
    prompt.pooled = torch.randn(1, 2, prompt.pooled.shape[-1], generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="one pooled prompt vector per layer"):
        run(model, packed, prompt)
    prompt.pooled = torch.cat([prompt.pooled, prompt.pooled[:, :1]], dim=1)
    prompt.owner = None
    with pytest.raises(ValueError, match="text_owner"):
        run(model, packed, prompt)


def test_a_batch_pads_each_samples_per_layer_vectors_with_its_first():
    from engine.dmdl.text import PromptEmbeddings

    two, one = random_prompt(length=4, seed=1), random_prompt(length=3, seed=2)
    two.pooled = torch.stack([two.pooled, -two.pooled], dim=1)  # (1, 2, P): two layers
    batch = PromptEmbeddings.stack([two, one])  # `one` keeps the old (1, P): one vector for its sample
    assert batch.pooled.shape == (2, 2, two.pooled.shape[-1])
    assert torch.equal(batch.pooled[0], two.pooled[0])
    assert torch.equal(batch.pooled[1, 0], one.pooled[0]) and torch.equal(batch.pooled[1, 1], one.pooled[0])
