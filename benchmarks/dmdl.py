"""The paper's efficiency claim, measured: packed motion-box layers vs one full-canvas I2V.

    python -m benchmarks.dmdl                                  # small config, CPU
    python -m benchmarks.dmdl --config full --device cuda      # 13B HunyuanVideo-I2V shape, bf16 (GPU)
    python -m benchmarks.dmdl --config full --device meta      # only count tokens, parameters, FLOPs

For each sample poster (assets/samples/*.psd, 1080x1350) a few subject layers are animated
together: each layer's motion box is its bounding box grown by 15 % of its size on every
side, clipped to the canvas and snapped out to the 16-pixel token grid. DMDL denoises only
those boxes (one packed sequence); the I2V baseline denoises the whole poster (1088x1360
on the token grid). 49 frames -> 13 latent frames. Same model, same weights, same text
length; both timed side by side in one run. Prints token counts, seconds per denoising
step (median over --repeats) and their ratio; on CUDA also peak memory, MFU and the
FirstBlockCache speed-up of a full 50-step sample. Weights are random (no checkpoint is
needed to time a step; pass --checkpoint DIR to load real ones).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from engine import load_psd
from engine.dmdl.grid import TOKEN_PIXELS
from engine.dmdl.packing import LayerPlacement, pack_layers
from engine.dmdl.sampling import sample_layers
from engine.dmdl.text import PromptEmbeddings
from engine.dmdl.transformer import DMDLTransformer
from engine.core.poster import Box

SAMPLES = Path(__file__).resolve().parents[1] / "assets" / "samples"
ANIMATED = {
    "balloon": ["Balloon", "Small Balloon", "Title"],
    "flower": ["Bloom", "Stem", "Leaves", "Butterfly"],
    "ocean": ["Fish", "Small Fish", "Bubbles"],
}
LATENT_FRAMES = 13  # 49 frames through the 4x temporal VAE
TEXT_TOKENS = 64
H100_BF16_DENSE_FLOPS = 989e12

CONFIGS = {
    # HunyuanVideo-I2V (token replace) as released, with DMDL's 4D bands: 12.8B parameters.
    "full": dict(num_attention_heads=24, attention_head_dim=128, num_layers=20, num_single_layers=40,
                 num_refiner_layers=2, text_embed_dim=4096, pooled_projection_dim=768,
                 rope_axes_dim=(8, 8, 56, 56), guidance_embeds=True),
    # Same shape of computation at toy width, for this CPU.
    "small": dict(num_attention_heads=2, attention_head_dim=16, num_layers=1, num_single_layers=1,
                  num_refiner_layers=1, text_embed_dim=64, pooled_projection_dim=32,
                  rope_axes_dim=(4, 4, 4, 4), guidance_embeds=True),
}


def motion_boxes(poster_name: str) -> tuple[tuple[int, int], list[tuple[str, Box]]]:
    """The poster's size and each animated layer's motion box on the token grid."""
    poster = load_psd(SAMPLES / f"{poster_name}.psd")
    grid_w = -(-poster.width // TOKEN_PIXELS) * TOKEN_PIXELS
    grid_h = -(-poster.height // TOKEN_PIXELS) * TOKEN_PIXELS
    boxes = []
    for name in ANIMATED[poster_name]:
        layer = next(layer for layer in poster.layers if layer.name == name)
        b = layer.box
        grown = b.expand(int(0.15 * b.w), int(0.15 * b.h), int(0.15 * b.w), int(0.15 * b.h))
        boxes.append((name, grown.clamp_to(poster.width, poster.height).snap_out(TOKEN_PIXELS).clamp_to(grid_w, grid_h)))
    return (grid_w, grid_h), boxes


def latents_for(boxes: list[Box], channels: int, device, dtype) -> tuple[list[torch.Tensor], list[LayerPlacement]]:
    latents, places = [], []
    for index, box in enumerate(boxes):
        latents.append(torch.randn(channels, LATENT_FRAMES, box.h // 8, box.w // 8, device=device, dtype=dtype))
        places.append(LayerPlacement(index=index, top=box.y // TOKEN_PIXELS, left=box.x // TOKEN_PIXELS))
    return latents, places


def prompt_for(config: dict, device, dtype) -> PromptEmbeddings:
    return PromptEmbeddings(
        embeds=torch.randn(1, TEXT_TOKENS, config["text_embed_dim"], device=device, dtype=dtype),
        mask=torch.ones(1, TEXT_TOKENS, dtype=torch.long, device=device),
        owner=torch.full((1, TEXT_TOKENS), -1, dtype=torch.long, device=device),
        pooled=torch.randn(1, config["pooled_projection_dim"], device=device, dtype=dtype),
    )


def build_model(config_name: str, device: str, dtype: torch.dtype, checkpoint: str | None) -> DMDLTransformer:
    if checkpoint:
        model = DMDLTransformer.from_pretrained(checkpoint, dtype=dtype, rope_axes_dim=CONFIGS[config_name]["rope_axes_dim"])
        return model.to(device).eval()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # build a 13B model directly in bf16: no fp32 copy on the GPU
    try:
        with torch.device(device):
            model = DMDLTransformer(**CONFIGS[config_name])
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


def step_flops(model: DMDLTransformer, image_tokens: int) -> float:
    """Matmul FLOPs of one forward: 2 per weight per token, plus QK^T and AV in every block."""
    cfg = model.config
    block_params = sum(p.numel() for n, p in model.named_parameters() if "transformer_blocks" in n)
    tokens = image_tokens + TEXT_TOKENS
    hidden = cfg.num_attention_heads * cfg.attention_head_dim
    blocks = cfg.num_layers + cfg.num_single_layers
    return 2.0 * block_params * tokens + 4.0 * blocks * tokens * tokens * hidden


def token_count(packed) -> int:
    """Image tokens of a packed batch, read from its layout (works on the meta device too)."""
    return sum(frames * rows * cols for grids in packed.grids for frames, rows, cols in grids)


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_step(model, packed, prompt, device: str, repeats: int, warmup: bool) -> float:
    """Median seconds of one denoising step (one transformer forward)."""
    sigma = torch.tensor([0.5], device=device)
    guidance = torch.tensor([6000.0], device=device, dtype=model.dtype)
    times = []
    with torch.no_grad():
        for i in range(repeats + int(warmup)):
            synchronize(device)
            start = time.perf_counter()
            model(packed, sigma * 1000.0, prompt.embeds, prompt.mask, prompt.pooled, guidance, prompt.owner)
            synchronize(device)
            if i or not warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_sample(model, packed, prompt, device: str, steps: int) -> float:
    from diffusers import FlowMatchEulerDiscreteScheduler

    synchronize(device)
    start = time.perf_counter()
    with model.cache_context("cond"):
        sample_layers(model, packed, prompt, FlowMatchEulerDiscreteScheduler(shift=7.0), num_inference_steps=steps,
                      generator=torch.Generator().manual_seed(0))
    synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="small")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, or meta (count only)")
    parser.add_argument("--posters", nargs="*", default=sorted(ANIMATED))
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per case (median)")
    parser.add_argument("--full-repeats", type=int, default=1, help="timed steps of the full-canvas case")
    parser.add_argument("--sample-steps", type=int, default=50, help="steps of the FirstBlockCache sample (cuda)")
    parser.add_argument("--checkpoint", default=None, help="a HunyuanVideo-I2V transformer folder (optional)")
    args = parser.parse_args()

    device = args.device
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = build_model(args.config, device, dtype, args.checkpoint)
    params = sum(p.numel() for p in model.parameters())
    channels = model.config.in_channels
    prompt = prompt_for(CONFIGS[args.config], device, dtype)
    print(f"config {args.config}: {params / 1e6:,.1f} M parameters, device {device}, dtype {dtype}, "
          f"{LATENT_FRAMES} latent frames, {TEXT_TOKENS} text tokens, threads {torch.get_num_threads()}\n")

    header = ("| poster | layers (motion boxes) | packed tokens | full-canvas tokens | token ratio "
              "| packed TFLOP/step | full TFLOP/step |")
    if device != "meta":
        header += " packed s/step | full s/step | speed-up |"
    if device == "cuda":
        header += " packed GB | full GB | packed MFU | full MFU |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for poster_name in args.posters:
        (grid_w, grid_h), named = motion_boxes(poster_name)
        boxes = [box for _, box in named]
        latents, places = latents_for(boxes, channels, device, dtype)
        packed = pack_layers([latents], [places])
        canvas_latent, _ = latents_for([Box(0, 0, grid_w, grid_h)], channels, device, dtype)
        full = pack_layers([canvas_latent], [[LayerPlacement(0, 0, 0)]])
        n_packed, n_full = token_count(packed), token_count(full)
        layers = ", ".join(f"{name} {b.w}x{b.h}" for name, b in named)
        row = (f"| {poster_name} | {layers} | {n_packed} | {n_full} | {n_full / n_packed:.1f}x "
               f"| {step_flops(model, n_packed) / 1e12:.1f} | {step_flops(model, n_full) / 1e12:.1f} |")
        if device != "meta":
            results = {}
            # one untimed warm-up on the packed case warms kernels and allocator for both
            for label, case, repeats, warmup in (("packed", packed, args.repeats, True),
                                                 ("full", full, args.full_repeats, device == "cuda")):
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                seconds = time_step(model, case, prompt, device, repeats, warmup)
                peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0.0
                mfu = step_flops(model, token_count(case)) / seconds / H100_BF16_DENSE_FLOPS
                results[label] = (seconds, peak, mfu)
            row += f" {results['packed'][0]:.3f} | {results['full'][0]:.3f} | {results['full'][0] / results['packed'][0]:.1f}x |"
            if device == "cuda":
                row += (f" {results['packed'][1]:.1f} | {results['full'][1]:.1f} |"
                        f" {results['packed'][2]:.0%} | {results['full'][2]:.0%} |")
        print(row, flush=True)

    if device == "cuda":
        from diffusers.hooks import FirstBlockCacheConfig

        (grid_w, grid_h), named = motion_boxes(args.posters[0])
        latents, places = latents_for([b for _, b in named], channels, device, dtype)
        packed = pack_layers([latents], [places])
        plain = time_sample(model, packed, prompt, device, args.sample_steps)
        model.enable_cache(FirstBlockCacheConfig(threshold=0.05))
        cached = time_sample(model, packed, prompt, device, args.sample_steps)
        model.disable_cache()
        print(f"\n{args.posters[0]}, packed, {args.sample_steps}-step sample: {plain:.1f} s; with FirstBlockCache "
              f"(threshold 0.05): {cached:.1f} s ({plain / cached:.2f}x). Random weights skip differently from "
              "trained ones: rerun with --checkpoint for the real figure.")


if __name__ == "__main__":
    main()
