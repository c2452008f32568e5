"""What per-layer modulation costs: one pooled vector per sample (diffusers' blocks) vs one per layer.

    python -m benchmarks.dmdl_modulation [--repeats 9] [--device cpu] [--tokens-side 12]

One joint sample of three layers (each 4 latent frames of side x side tokens, 32 owned text
tokens), the same model and inputs, timed side by side (alternating, median over
--repeats): inference forwards and training steps (forward + backward). "shared" gives
every layer the same pooled vector, so the transformer runs diffusers' stock blocks;
"per layer" gives each layer its own, so every block gathers shift/scale/gate per token.
Random weights at a small width: the ratio is what matters, not the seconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from engine.dmdl.packing import LayerPlacement, pack_layers
from engine.dmdl.text import PromptEmbeddings
from engine.dmdl.transformer import DMDLTransformer

CONFIG = dict(in_channels=16, out_channels=16, num_attention_heads=4, attention_head_dim=32, num_layers=2,
              num_single_layers=2, num_refiner_layers=1, text_embed_dim=64, pooled_projection_dim=32,
              rope_axes_dim=(8, 12, 12), guidance_embeds=True)
LAYERS, LATENT_FRAMES, TEXT_PER_LAYER = 3, 4, 32


def inputs(side: int, device: str):
    generator = torch.Generator().manual_seed(0)
    latents = [torch.randn(16, LATENT_FRAMES, 2 * side, 2 * side, generator=generator) for _ in range(LAYERS)]
    placements = [LayerPlacement(index=i, top=i * 2, left=i * 3) for i in range(LAYERS)]
    packed = pack_layers([latents], [placements])
    packed = packed.with_tokens(packed.tokens.to(device))
    length = LAYERS * TEXT_PER_LAYER
    owner = torch.arange(LAYERS).repeat_interleave(TEXT_PER_LAYER)[None]
    per_layer = torch.randn(1, LAYERS, CONFIG["pooled_projection_dim"], generator=generator)
    prompt = PromptEmbeddings(torch.randn(1, length, CONFIG["text_embed_dim"], generator=generator),
                              torch.ones(1, length, dtype=torch.long), owner, per_layer)
    shared = PromptEmbeddings(prompt.embeds, prompt.mask, owner, per_layer[:, :1].repeat(1, LAYERS, 1))
    return packed, {"shared": shared, "per layer": prompt}


def timed(model, packed, prompt: PromptEmbeddings, device: str, train: bool) -> float:
    def call():
        return model(packed, torch.tensor([600.0], device=device), prompt.embeds.to(device), prompt.mask.to(device),
                     prompt.pooled.to(device), torch.tensor([6000.0], device=device), prompt.owner.to(device)).sample

    start = time.perf_counter()
    if train:
        call().square().mean().backward()
        model.zero_grad(set_to_none=True)
    else:
        with torch.no_grad():
            call()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tokens-side", type=int, default=12, help="each layer's box in tokens per side")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model = DMDLTransformer(**CONFIG).to(args.device)
    packed, prompts = inputs(args.tokens_side, args.device)
    print(f"{LAYERS} layers x {LATENT_FRAMES} latent frames x {args.tokens_side}^2 tokens = "
          f"{int(packed.valid.sum())} video tokens, {LAYERS * TEXT_PER_LAYER} text tokens; device {args.device}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    for train in (False, True):
        times: dict[str, list[float]] = {name: [] for name in prompts}
        for name, prompt in prompts.items():  # warm-up
            timed(model, packed, prompt, args.device, train)
        for _ in range(args.repeats):
            for name, prompt in prompts.items():
                times[name].append(timed(model, packed, prompt, args.device, train))
        medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
        what = "forward + backward" if train else "forward (no grad)"
        print(f"{what:20s} shared {medians['shared']:8.1f} ms   per layer {medians['per layer']:8.1f} ms   "
              f"ratio {medians['per layer'] / medians['shared']:.2f}")


if __name__ == "__main__":
    main()
