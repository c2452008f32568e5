"""Layout-conditional 4D-RoPE and the layer-isolation mask (paper eqs. 6-9, Table 4 ablation)."""

from __future__ import annotations

import pytest
import torch
from diffusers.models.transformers.transformer_hunyuan_video import HunyuanVideoRotaryPosEmbed
from tests.helpers.dmdl_tiny import dmdl_tiny, latent, one_thread, place, random_prompt, run  # noqa: F401 (autouse fixture)

from engine.dmdl.packing import pack_layers
from engine.dmdl.rope import LayoutRotaryEmbedding, apply_rotary


def logit(rope: LayoutRotaryEmbedding, q: torch.Tensor, k: torch.Tensor, pu, pv) -> float:
    cos, sin = rope(torch.tensor([[pu, pv]], dtype=torch.float32))
    rq = apply_rotary(q[None, None, None], cos[:, :1], sin[:, :1])
    rk = apply_rotary(k[None, None, None], cos[:, 1:], sin[:, 1:])
    return float((rq * rk).sum())


def test_logits_depend_only_on_position_differences():
    rope = LayoutRotaryEmbedding((8, 8, 8, 8), (10000.0, 256.0, 256.0, 256.0))
    generator = torch.Generator().manual_seed(0)
    q, k = torch.randn(32, generator=generator), torch.randn(32, generator=generator)
    base = logit(rope, q, k, (1, 2, 3, 4), (0, 5, 1, 7))
    for shift in [(3, 0, 0, 0), (0, 7, 0, 0), (0, 0, 11, -2), (2, 1, 40, 33)]:
        pu = tuple(a + s for a, s in zip((1, 2, 3, 4), shift))
        pv = tuple(a + s for a, s in zip((0, 5, 1, 7), shift))
        assert abs(logit(rope, q, k, pu, pv) - base) < 1e-4
    for other in [(2, 2, 3, 4), (1, 3, 3, 4), (1, 2, 4, 4), (1, 2, 3, 5)]:  # every axis counts
        assert abs(logit(rope, q, k, other, (0, 5, 1, 7)) - base) > 1e-3


def test_three_axis_bands_equal_hunyuan_video_rope():
    ours = LayoutRotaryEmbedding((4, 6, 6), (256.0,) * 4)
    frames, rows, cols = 3, 4, 5
    f, y, x = torch.meshgrid(torch.arange(frames), torch.arange(rows), torch.arange(cols), indexing="ij")
    positions = torch.stack([torch.zeros_like(f), f, y, x], dim=-1).reshape(1, -1, 4)
    cos, sin = ours(positions)
    ref_cos, ref_sin = HunyuanVideoRotaryPosEmbed(2, 1, [4, 6, 6], 256.0)(torch.zeros(1, 4, frames, rows * 2, cols * 2))
    assert torch.equal(cos[0], ref_cos) and torch.equal(sin[0], ref_sin)


def overlapping_twins(model):
    """Two layers with identical content stacked on the same box."""
    twin = latent(2, 4, 4, seed=3)
    packed = pack_layers([[twin, twin.clone()]], [[place(0, 1, 1), place(1, 1, 1)]])
    a, b = packed.unpack(run(model, packed, random_prompt()))[0]
    return (a - b).abs().max().item()


def test_4d_rope_tells_overlapping_identical_layers_apart():
    assert overlapping_twins(dmdl_tiny()) > 1e-3  # the shared frame band (the default)
    assert overlapping_twins(dmdl_tiny(rope_axes_dim=(4, 4, 4, 4), rope_layer_spacing=0)) > 1e-3  # a separate band


def test_3d_rope_baseline_confuses_them():
    """The ablation's failure mode: without a layer axis the twins are indistinguishable."""
    assert overlapping_twins(dmdl_tiny(rope_layer_spacing=0)) < 1e-5


def test_layer_zero_rotates_exactly_as_hunyuan_video_and_frame_frequencies_stay():
    """Frequency preserving: layer 0 is HunyuanVideo's 3D-RoPE bit for bit, and another layer
    differs from it only on the frame band, by its spacing times the frame frequencies."""
    from engine.dmdl.rope import LayoutRotaryEmbedding

    rope = LayoutRotaryEmbedding((16, 56, 56), (256.0,) * 4, layer_spacing=64)
    plain = LayoutRotaryEmbedding((16, 56, 56), (256.0,) * 4)
    grid = torch.stack(torch.meshgrid(torch.zeros(1), torch.arange(3.0), torch.arange(2.0), torch.arange(2.0),
                                      indexing="ij"), dim=-1).reshape(1, -1, 4)
    assert all(torch.equal(a, b) for a, b in zip(rope(grid), plain(grid)))
    shifted = grid.clone()
    shifted[..., 0] = 2  # layer 2
    cos, _ = rope(shifted)
    cos0, _ = plain(grid)
    assert torch.equal(cos[..., 16:], cos0[..., 16:]), "y and x bands untouched"
    frequencies = 1.0 / 256.0 ** (torch.arange(0, 16, 2).double() / 16)
    expected = torch.cos((grid[..., 1:2].double() + 128) * frequencies).repeat_interleave(2, dim=-1)
    assert torch.allclose(cos[..., :16].double(), expected, atol=1e-5)


def layer_a_output(model, layer_b_seed: int, owner) -> torch.Tensor:
    layers = [latent(3, 4, 4, seed=1), latent(3, 4, 6, seed=layer_b_seed)]
    packed = pack_layers([layers], [[place(0, 0, 0), place(1, 1, 0)]])
    prompt = random_prompt(length=6, owner=owner)
    return packed.unpack(run(model, packed, prompt))[0][0]


def test_isolation_mask_keeps_layer_b_out_of_layer_a():
    owner = torch.tensor([[0, 0, 0, 1, 1, 1]])  # each layer its own copy of the prompt
    isolated = dmdl_tiny(rope_layer_spacing=0, layer_isolation=True)
    change = (layer_a_output(isolated, 2, owner) - layer_a_output(isolated, 9, owner)).abs().max().item()
    assert change <= 1e-6
    joint = dmdl_tiny(rope_layer_spacing=0, layer_isolation=False)
    assert (layer_a_output(joint, 2, owner) - layer_a_output(joint, 9, owner)).abs().max().item() > 1e-4


def test_isolation_refuses_shared_text():
    isolated = dmdl_tiny(layer_isolation=True)
    with pytest.raises(ValueError, match="own copy of its prompt"):
        layer_a_output(isolated, 2, torch.full((1, 6), -1))
