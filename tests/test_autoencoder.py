"""The transparent dynamic-layer autoencoder: encoder geometry, decoder shapes, RoPE, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.dmdl import LayerDecoder, LayerEncoder
from engine.dmdl.autoencoder import GRAY, check_clip_geometry, latent_frame_count, rgba_over_gray, tiny_vae
from engine.dmdl.decoder_rope import apply_rope, box_positions, default_axes_dim, rope_angles
from engine.dmdl.layer_decoder import LAYOUTS, TemporalScaleBlock, decoded_frame_count, upsample_time
from engine.dmdl.metrics import psnr, rgba_psnr, ssim
from engine.dmdl.two_step import matte_known_background
from engine.core.poster import Box
from engine.dmdl.errors import DMDLError

TINY = dict(hidden_size=32, num_layers=2, num_heads=2, mlp_ratio=2.0, norm_groups=8)


@pytest.fixture(scope="module")
def encoder() -> LayerEncoder:
    return LayerEncoder(tiny_vae(seed=0))


def random_clip(frames: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(frames, height, width, 4, generator=generator)


# ------------------------------------------------------------------ encoder side


def test_gray_background_composites_transparent_pixels_to_half_gray():
    clip = np.zeros((1, 8, 8, 4), dtype=np.uint8)
    clip[0, :4, :, :] = (255, 0, 0, 255)  # opaque red top half
    clip[0, 4:, :, :] = (0, 0, 255, 0)  # fully transparent (colour must not leak)
    rgb = rgba_over_gray(clip)
    assert torch.allclose(rgb[0, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(rgb[0, 7, 7], torch.full((3,), GRAY))


@pytest.mark.parametrize("frames", [1, 5, 17, 49])
def test_encoder_latent_shape_follows_the_vae_compression(encoder, frames):
    latent = encoder.encode(random_clip(frames, 16, 24))
    assert latent.shape == (16, (frames - 1) // 4 + 1, 2, 3)
    assert latent_frame_count(frames) == latent.shape[1]


def test_encoder_scales_by_the_vae_factor_and_uses_the_posterior_mean(encoder):
    clip = random_clip(5, 16, 16)
    pixels = (rgba_over_gray(clip) * 2 - 1).permute(3, 0, 1, 2)[None]
    with torch.no_grad():
        expected = encoder.vae.encode(pixels).latent_dist.mode()[0] * encoder.vae.config.scaling_factor
    assert torch.allclose(encoder.encode(clip), expected, atol=1e-6)


def test_encoder_crops_the_motion_box_on_the_latent_grid(encoder):
    canvas = random_clip(5, 48, 64, seed=3)
    whole = encoder.encode(canvas)  # canvas at (0, 0)
    cropped = encoder.encode(canvas, frame_box=(0, 0, 64, 48), motion_box=(16, 8, 24, 32))
    assert cropped.shape == (16, 2, 4, 3)
    assert torch.equal(cropped, whole[:, :, 1:5, 2:5])
    # frames placed elsewhere on the poster: the crop is relative to where they lie
    shifted = encoder.encode(canvas, frame_box=(80, 40, 64, 48), motion_box=(96, 48, 24, 32))
    assert torch.equal(shifted, cropped)


@pytest.mark.parametrize(
    ("frames", "height", "width", "message"),
    [(4, 16, 16, r"4k\+1 frames"), (6, 16, 16, "Use 5 or 9"), (5, 12, 16, "multiple of 8"), (5, 16, 4, "multiple of 8")],
)
def test_clip_geometry_the_vae_would_mangle_is_refused(frames, height, width, message):
    with pytest.raises(DMDLError, match=message):
        check_clip_geometry(frames, height, width)


def test_encoder_refuses_boxes_off_grid_or_outside(encoder):
    clip = random_clip(1, 32, 32)
    with pytest.raises(DMDLError, match="multiples of 8"):
        encoder.encode(clip, motion_box=(4, 0, 16, 16))
    with pytest.raises(DMDLError, match="inside the encoded frames"):
        encoder.encode(clip, motion_box=(16, 16, 32, 16))
    with pytest.raises(DMDLError, match="4 channels"):
        encoder.encode(clip[..., :3])


def test_encoder_loads_a_local_diffusers_directory(tmp_path, encoder):
    encoder.vae.save_pretrained(tmp_path / "vae")
    loaded = LayerEncoder.from_pretrained(tmp_path / "vae")
    clip = random_clip(5, 16, 16, seed=9)
    assert torch.equal(loaded.encode(clip), encoder.encode(clip))
    assert not any(p.requires_grad for p in loaded.vae.parameters())
    with pytest.raises(DMDLError, match="No VAE found"):
        LayerEncoder.from_pretrained(tmp_path / "missing")


# ------------------------------------------------------------------ temporal scale


@pytest.mark.parametrize(("latent", "video"), [(1, 1), (2, 5), (5, 17), (13, 49)])
def test_two_doublings_give_back_four_k_plus_one_frames(latent, video):
    grid = torch.zeros(1, 4, latent, 2, 2)
    assert upsample_time(upsample_time(grid)).shape[2] == video == decoded_frame_count(latent)


def test_temporal_upsampling_keeps_frames_and_averages_between():
    grid = torch.arange(3.0).view(1, 1, 3, 1, 1) * torch.tensor([1.0, 10.0]).view(1, 2, 1, 1, 1)
    up = upsample_time(grid)[0, :, :, 0, 0]
    assert torch.allclose(up[1], torch.tensor([0.0, 5.0, 10.0, 15.0, 20.0]))


def test_untrained_temporal_scale_block_is_plain_interpolation_then_learns():
    block = TemporalScaleBlock(dim=8, norm_groups=4)
    grid = torch.randn(2, 8, 3, 4, 5)
    assert block(grid).shape == (2, 8, 5, 4, 5)
    assert torch.allclose(block(grid), upsample_time(grid))
    torch.nn.init.normal_(block.spatial.weight)
    assert not torch.allclose(block(grid), upsample_time(grid))


@pytest.mark.parametrize(
    ("variant", "stage_frames"),
    [("SM", [3, 3, 5, 5]), ("SE", [3, 3, 3, 3]), ("EE", [2, 2, 2, 2]), ("VIT", [5, 5, 5, 5])],
)
def test_each_variant_attends_at_the_lengths_its_layout_says(variant, stage_frames):
    """T' = 2: SM attends at t1 = 3 then T = 5; SE all at 3; EE all at 2; VIT all at 5."""
    decoder = LayerDecoder(**{**TINY, "num_layers": 4}, variant=variant)
    seen = []
    for block in decoder.blocks:
        block.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[1] // (2 * 3)))
    out = decoder(torch.randn(1, 16, 2, 2, 3), [Box(0, 0, 24, 16)])
    assert seen == stage_frames
    assert out.shape == (1, 5, 16, 24, 4)
    assert len(decoder.ts_blocks) == LAYOUTS[variant].count("ts")


# ------------------------------------------------------------------ RoPE


def test_rope_positions_are_the_box_on_the_global_grid():
    positions = box_positions(Box(16, 24, 24, 16), frames=3)
    assert positions.shape == (3 * 2 * 3, 3)
    assert positions[:, 0].unique().tolist() == [0, 1, 2]
    assert positions[:, 1].unique().tolist() == [3, 4]  # y = 24/8 … (24+16)/8 − 1
    assert positions[:, 2].unique().tolist() == [2, 3, 4]
    # token order is frame-major then row-major, like grid.flatten(2)
    assert positions[:4].tolist() == [[0, 3, 2], [0, 3, 3], [0, 3, 4], [0, 4, 2]]


def test_each_decoder_stage_gets_positions_for_its_own_length(monkeypatch):
    import engine.dmdl.layer_decoder as module

    decoder = LayerDecoder(**{**TINY, "num_layers": 2}, variant="SM")
    box, captured, original = Box(8, 40, 16, 24), [], module.batch_positions

    def spy(boxes, frames, device=None):
        captured.append(original(boxes, frames, device))
        return captured[-1]

    monkeypatch.setattr(module, "batch_positions", spy)
    decoder(torch.randn(1, 16, 4, 3, 2), [box])
    first, second = captured
    assert first[0, :, 0].max() == 6 and second[0, :, 0].max() == 12  # 2·4−1 and 4·4−3 frames
    for stage in captured:
        assert stage[0, :, 1].unique().tolist() == [5, 6, 7]
        assert stage[0, :, 2].unique().tolist() == [1, 2]


def test_rope_attention_scores_depend_only_on_relative_position():
    head_dim = 16
    axes = default_axes_dim(head_dim)
    assert sum(axes) == head_dim and all(a % 2 == 0 for a in axes)
    q, k = torch.randn(1, 1, 1, head_dim), torch.randn(1, 1, 1, head_dim)

    def score(pq, pk):
        aq = rope_angles(torch.tensor([[pq]], dtype=torch.float32), axes)
        ak = rope_angles(torch.tensor([[pk]], dtype=torch.float32), axes)
        return (apply_rope(q, aq) * apply_rope(k, ak)).sum()

    assert torch.allclose(score([1, 2, 3], [0, 0, 0]), score([4, 7, 9], [3, 5, 6]), atol=1e-4)
    assert not torch.allclose(score([1, 2, 3], [0, 0, 0]), score([1, 2, 4], [0, 0, 0]), atol=1e-3)


# ------------------------------------------------------------------ decoder API


@pytest.mark.parametrize("frames", [1, 5, 17, 49])
def test_decode_returns_rgba_clips_for_boxes_of_any_size(encoder, frames):
    decoder = LayerDecoder(**TINY)
    boxes = [Box(0, 0, 16, 16), Box(32, 8, 24, 8), Box(8, 64, 16, 16), Box(0, 8, 8, 40)]
    latents = [encoder.encode(random_clip(frames, b.h, b.w, seed=i)) for i, b in enumerate(boxes)]
    clips = decoder.decode(latents, [b.as_tuple() for b in boxes])
    assert [tuple(c.shape) for c in clips] == [(frames, b.h, b.w, 4) for b in boxes]
    for clip in clips:
        assert clip.dtype == torch.float32 and clip.min() >= 0 and clip.max() <= 1


def test_decoding_several_layers_at_once_matches_one_by_one(encoder):
    decoder = LayerDecoder(**TINY).eval()
    boxes = [Box(0, 0, 16, 16), Box(48, 16, 16, 16), Box(8, 8, 24, 16)]
    latents = [encoder.encode(random_clip(5, b.h, b.w, seed=i)) for i, b in enumerate(boxes)]
    together = decoder.decode(latents, boxes)
    for latent, box, clip in zip(latents, boxes, together):
        assert torch.allclose(decoder.decode([latent], [box])[0], clip, atol=1e-5)
    # RoPE is relative: the same latent decodes the same wherever its box sits on the poster
    moved = decoder.decode([latents[0]], [Box(128, 128, 16, 16)])[0]
    assert torch.allclose(moved, together[0], atol=1e-5)


def test_decode_refuses_latents_that_do_not_fit_their_box(encoder):
    decoder = LayerDecoder(**TINY)
    latent = encoder.encode(random_clip(5, 16, 16))
    with pytest.raises(DMDLError, match="does not fit its motion box"):
        decoder.decode([latent], [Box(0, 0, 24, 16)])
    with pytest.raises(DMDLError, match="multiples of 8"):
        decoder.decode([latent], [Box(4, 0, 16, 16)])
    with pytest.raises(DMDLError, match="one box per layer"):
        decoder.decode([latent, latent], [Box(0, 0, 16, 16)])


def test_default_configuration_is_the_papers():
    config = LayerDecoder.load_config  # the class is a ConfigMixin
    assert callable(config)
    decoder = LayerDecoder()
    assert (decoder.config.variant, decoder.config.num_layers, decoder.config.hidden_size) == ("SM", 12, 768)
    assert decoder.linear_in.in_features == 16 and decoder.linear_out.out_features == 256
    assert len(decoder.ts_blocks) == 2


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="SM"):
        LayerDecoder(**TINY, variant="XX")


def test_decoder_checkpoint_round_trip(tmp_path, encoder):
    decoder = LayerDecoder(**TINY, variant="SE")
    torch.nn.init.normal_(decoder.ts_blocks[0].spatial.weight, std=0.1)
    decoder.save_pretrained(tmp_path / "decoder")
    assert (tmp_path / "decoder" / "diffusion_pytorch_model.safetensors").exists()
    loaded = LayerDecoder.from_pretrained(tmp_path / "decoder", low_cpu_mem_usage=False)
    assert loaded.config.variant == "SE" and loaded.config.hidden_size == 32
    latent, box = encoder.encode(random_clip(5, 16, 24)), Box(8, 8, 24, 16)
    assert torch.equal(loaded.decode([latent], [box])[0], decoder.decode([latent], [box])[0])


# ------------------------------------------------------------------ baseline and metrics


def test_known_background_matte_recovers_saturated_colours_and_loses_gray():
    colours = torch.tensor([[1.0, 0.0, 0.0], [0.1, 0.8, 1.0], [0.5, 0.5, 0.5]])
    alphas = torch.tensor([[0.3], [1.0], [1.0]])
    composite = colours * alphas + GRAY * (1 - alphas)
    rgba = matte_known_background(composite)
    assert torch.allclose(rgba[0], torch.tensor([1.0, 0.0, 0.0, 0.3]), atol=1e-5)
    assert torch.allclose(rgba[1], torch.tensor([0.1, 0.8, 1.0, 1.0]), atol=1e-5)
    assert rgba[2, 3] < 0.01  # an opaque gray foreground pixel is indistinguishable from background


def test_metrics_behave():
    clip = random_clip(3, 16, 16)
    assert psnr(clip, clip) == float("inf")
    assert abs(psnr(clip, (clip + 0.1)) - 20.0) < 1e-3
    assert ssim(clip, clip) == pytest.approx(1.0, abs=1e-5)
    noisy = (clip + 0.2 * torch.randn_like(clip)).clamp(0, 1)
    assert ssim(noisy, clip) < 0.9
    transparent = clip.clone()
    transparent[..., 3] = 0
    other_colour = transparent.clone()
    other_colour[..., :3] = 1 - other_colour[..., :3]
    assert rgba_psnr(other_colour, transparent) == float("inf")  # colour under alpha 0 does not count


@pytest.mark.parametrize("height, width", [(16, 24), (6, 40)])  # 6 px: the window shrinks to fit
def test_ssim_of_flat_frames_matches_the_closed_form(height, width):
    """Flat images have no variance, so SSIM is the luminance term alone: (2ab + C1) / (a² + b² + C1)."""
    a, b, c1 = 0.2, 0.6, 0.01**2
    first, second = torch.full((2, height, width, 3), a), torch.full((2, height, width, 3), b)
    assert ssim(first, second) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), abs=1e-4)
