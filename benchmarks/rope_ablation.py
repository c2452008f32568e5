"""Table 4 at small scale: one tiny DMDL per positional-embedding variant, same everything else.

Each variant's transformer starts from the same weights (one seed; the variants have no
parameters of their own), sees the same batches in the same order for the same number of
steps (engine.dmdl.training), and is assembled into a DMDL folder with the same frozen VAE,
text encoders and RGBA decoder. The harness then generates the validation posters with
each folder in the joint setting and writes table4.md. Because the pixel metrics also carry
the small decoder's error, the held-out flow-matching loss (fixed noise levels and noise
per sample, so every variant faces the very same problem) is reported beside them: it
measures the transformer alone.

`train_rope_variant` is the one function that knows the trainer; point it at
`python -m engine.dmdl.train --rope KEY` once that lands.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from engine.data.tdl import TDLDataset, TDLSample, write_splits
from engine.dmdl import DMDLPipeline
from engine.dmdl.autoencoder import LayerEncoder
from engine.dmdl.grid import TOKEN_PIXELS
from engine.dmdl.layer_decoder import LayerDecoder
from engine.dmdl.packing import LayerPlacement, PackedLayers, pack_layers
from engine.dmdl.resample import frames_to_generated
from engine.dmdl.scale import scale_boxes
from engine.dmdl.text import PromptEmbeddings, PromptEncoder
from engine.dmdl.train_decoder import split_by_poster
from engine.dmdl.training import TrainConfig, flow_matching_loss, train
from engine.dmdl.transformer import DMDLTransformer
from engine.eval.__main__ import main as eval_main
from engine.eval.metrics import score_clip
from engine.eval.rope_ablation import ROPE_VARIANTS, rope_transformer
from engine.eval.stats import bootstrap_interval, paired_difference
from tests.helpers.dmdl_tiny import POOLED_DIM, TEXT_DIM, tiny_text_encoders

#: The tiny transformer every variant shares (HunyuanVideo-I2V's architecture at toy width;
#: 16 latent channels to match the VAE). No guidance embedding: training and sampling then
#: condition identically.
TINY_TRANSFORMER = dict(
    in_channels=16, out_channels=16, num_attention_heads=4, attention_head_dim=16, num_layers=1,
    num_single_layers=1, num_refiner_layers=1, text_embed_dim=TEXT_DIM, pooled_projection_dim=POOLED_DIM,
    rope_axes_dim=(4, 6, 6), image_condition_type="token_replace", guidance_embeds=False,
)
POSTERS_PER_BATCH = 4


@dataclass
class PosterLatents:
    """One poster's layers as the pipeline sees them: latent clips, placements, prompts."""

    latents: list[torch.Tensor]
    placements: list[LayerPlacement]
    prompts: list[str]
    images: list[np.ndarray]  # each layer's first frame in its generated box: what LLaVA reads


def poster_latents(samples: list[TDLSample], encoder: LayerEncoder) -> PosterLatents:
    """Each layer's clip drawn into its generated (token-grid) box, as the dmdl engine generates it, encoded."""
    scaled = scale_boxes([s.motion_box for s in samples])
    latents, placements, images = [], [], []
    for index, (sample, box) in enumerate(zip(samples, scaled)):
        g = box.generated
        frames = frames_to_generated(sample.frames, box)  # as the trainer and the dmdl engine draw it
        latents.append(encoder.encode(frames))
        placements.append(LayerPlacement(index=index, top=g.y // TOKEN_PIXELS, left=g.x // TOKEN_PIXELS))
        images.append(frames[0])
    return PosterLatents(latents, placements, [s.prompt for s in samples], images)


def batches(posters: list[PosterLatents], prompts: PromptEncoder, isolate: bool) -> list[tuple[PackedLayers, PromptEmbeddings]]:
    """Fixed batches of POSTERS_PER_BATCH posters (padded), prompts encoded as the pipeline does."""
    out = []
    for start in range(0, len(posters), POSTERS_PER_BATCH):
        group = posters[start : start + POSTERS_PER_BATCH]
        packed = pack_layers([p.latents for p in group], [p.placements for p in group])
        with torch.no_grad():
            embeds = PromptEmbeddings.stack([prompts.encode(p.prompts, len(p.prompts), copy_per_layer=isolate,
                                                            images=p.images, placements=p.placements)
                                             for p in group])
        out.append((packed, embeds))
    return out


def train_rope_variant(key: str, posters: list[PosterLatents], prompts: PromptEncoder, steps: int,
                       seed: int) -> DMDLTransformer:
    """Train variant `key` on `posters` for `steps` (cycling through fixed batches)."""
    transformer = rope_transformer(TINY_TRANSFORMER, key, seed)
    isolate = bool(transformer.config.layer_isolation)
    data = batches(posters, prompts, isolate)
    config = TrainConfig(steps=steps, learning_rate=2e-3, warmup_steps=20, log_every=0)
    train(transformer, itertools.cycle(data), config, generator=torch.Generator().manual_seed(seed))
    return transformer


@torch.no_grad()
def held_out_losses(transformer: DMDLTransformer, posters: list[PosterLatents], prompts: PromptEncoder,
                    seed: int, draws: int = 8) -> list[float]:
    """Per validation poster: flow-matching loss averaged over `draws` fixed (sigma, noise) pairs."""
    isolate = bool(transformer.config.layer_isolation)
    losses = []
    for index, poster in enumerate(posters):
        (packed, embeds), = batches([poster], prompts, isolate)
        generator = torch.Generator().manual_seed(seed * 1000 + index)
        total = 0.0
        for _ in range(draws):
            sigma = torch.sigmoid(torch.randn(1, generator=generator))
            noise = torch.randn(packed.tokens.shape, generator=generator)
            total += flow_matching_loss(transformer, packed, embeds, sigma, noise).item()
        losses.append(total / draws)
    return losses


def run_rope_ablation(data: Path, vae_dir: Path, decoder_dir: Path, work: Path, steps: int, seed: int,
                      sampling_steps: int, val_posters: int = 3) -> Path:
    """Train, assemble and evaluate the three variants; writes and returns work/table4.md."""
    os.environ.setdefault("DMDL_DEVICE", "cuda" if torch.cuda.is_available() else "cpu")
    tdl = TDLDataset(data)
    groups = tdl.poster_groups()
    names = list(groups)
    write_splits(data, {"train": names[: len(names) - val_posters], "val": names[len(names) - val_posters :]})
    train_idx, val_idx = split_by_poster(tdl, val_posters)
    encoder = LayerEncoder.from_pretrained(vae_dir)
    parts = tiny_text_encoders(work / "text", extra_words=_vocabulary(tdl))
    prompts = PromptEncoder(parts["tokenizer"], parts["text_encoder"], parts["tokenizer_2"], parts["text_encoder_2"],
                            image_processor=parts["image_processor"])

    def posters_of(indices: list[int]) -> list[PosterLatents]:
        wanted = set(indices)
        return [poster_latents([tdl.load(i) for i in members if i in wanted], encoder)
                for members in groups.values() if wanted.intersection(members)]

    train_posters, val_posters_latents = posters_of(train_idx), posters_of(val_idx)
    decoder = LayerDecoder.from_pretrained(decoder_dir, low_cpu_mem_usage=False).eval()
    checkpoints, losses = [], {}
    for key, (row, _) in ROPE_VARIANTS.items():
        transformer = train_rope_variant(key, train_posters, prompts, steps, seed)
        losses[row] = held_out_losses(transformer, val_posters_latents, prompts, seed)
        folder = work / f"dmdl-{key}"
        DMDLPipeline(transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=1.0),
                     vae=encoder.vae, layer_decoder=decoder, **parts).save_pretrained(folder)
        checkpoints.append(f"{key}={folder}")
    out = work / "eval-rope"
    argv = ["--data", str(data), "--ablation", "rope", "--out", str(out), "--seed", str(seed), "--quiet",
            "--param", f"dmdl.steps={sampling_steps}"]
    for pair in checkpoints:
        argv += ["--checkpoint", pair]
    eval_main(argv)
    table = (out / "tables.md").read_text() + reference_rows(tdl, tdl.split_indices("val"))
    table += flow_loss_table(losses)
    table += (f"\n{len(train_posters)} training posters, {len(val_posters_latents)} validation posters; "
              f"{steps} training steps per variant, seed {seed}; {sampling_steps} denoising steps.\n")
    (work / "table4.md").write_text(table)
    print(table)
    return work / "table4.md"


def flow_loss_table(losses: dict[str, list[float]]) -> str:
    """The transformer alone: held-out loss per variant, and each variant minus 3D-RoPE paired by poster."""
    baseline = losses[ROPE_VARIANTS["3d"][0]]
    lines = ["\n#### The transformer alone: held-out flow-matching loss ↓ (validation posters, the same noise "
             "for every variant)\n", "| variant | loss (95 % bootstrap over posters) | minus 3D-RoPE, paired by poster "
             "(95 % t) |", "|---|---|---|"]
    for row, values in losses.items():
        paired = "—" if values is baseline else paired_difference(values, baseline).format(4)
        lines.append(f"| {row} | {bootstrap_interval(values).format(4)} | {paired} |")
    return "\n".join(lines) + "\n"


def reference_rows(tdl: TDLDataset, indices: list[int]) -> str:
    """What no model at all scores in the harness's metric (over gray), on the same samples:
    the layer held still (its first frame repeated) and nothing drawn (all transparent)."""
    still, empty = [], []
    for index in indices:
        frames = tdl.load(index).frames
        still.append(score_clip(np.repeat(frames[:1], len(frames), axis=0), frames))
        empty.append(score_clip(np.zeros_like(frames), frames))
    lines = ["\n| reference (no model) | PSNR ↑ | SSIM ↑ |", "|---|---|---|"]
    for name, scores in (("layer held still", still), ("all transparent", empty)):
        psnr = bootstrap_interval([min(s.psnr, 100.0) for s in scores]).format(2)
        lines.append(f"| {name} | {psnr} | {bootstrap_interval([s.ssim for s in scores]).format(3)} |")
    return "\n".join(lines) + "\n"


def _vocabulary(tdl: TDLDataset) -> list[str]:
    """Every word of the dataset's prompts (the tiny word-level tokenizer knows exactly these)."""
    import re  # noqa: PLC0415

    words = sorted({w for i in range(len(tdl)) for w in re.findall(r"\w+|[^\w\s]", tdl.load(i).prompt.lower())})
    return words
