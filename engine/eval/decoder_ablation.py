"""Table 5, the decoder ablation, with its confidence: every variant × several seeds.

Each (variant, seed) is one decoder trained by `train_variant` (engine.dmdl.train_decoder
today; the one call to repoint when the trainer moves) on the same data and frozen encoder,
then scored per validation sample (PSNR/SSIM on premultiplied RGBA, engine.dmdl.metrics).
Two references are scored on the same samples, because a number alone says nothing at
this scale:

- "all transparent": a decoder that outputs alpha 0 everywhere. Small layers in larger
  motion boxes leave most pixels empty, so this scores well (≈ 14 dB on the synthetic
  shapes); a decoder is only reconstructing anything when it beats this *on the same
  samples* (the "gain" column, a paired difference).
- "encoder round trip": the frozen VAE's own RGB decode + exact gray matting
  (engine.dmdl.two_step). It shows how much of the layer the latent still carries.

Intervals are Student's t over seeds (engine.eval.stats): each seed's number is its mean
over the validation samples, so the width is the run-to-run spread. The ordering verdict
(SM > SE > EE) uses paired differences over seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from engine.data.tdl import TDLDataset
from engine.dmdl.autoencoder import LayerEncoder, to_float_rgba
from engine.dmdl.layer_decoder import LayerDecoder, decoded_frame_count
from engine.dmdl.metrics import rgba_psnr, rgba_ssim
from engine.dmdl.train_decoder import TrainOptions, split_by_poster, train
from engine.dmdl.two_step import two_step_decode
from engine.eval.stats import Interval, paired_difference, t_interval

#: Table 5's variants in the paper's order, with its published numbers (PSNR dB, SSIM).
PUBLISHED_DECODER_ABLATION: dict[str, dict[str, float]] = {
    "VIT": {"PSNR": 26.73, "SSIM": 0.996},
    "EE": {"PSNR": 26.42, "SSIM": 0.996},
    "SE": {"PSNR": 28.49, "SSIM": 0.997},
    "SM": {"PSNR": 29.83, "SSIM": 0.998},
}
#: The paper's claimed ordering, checked pair by pair (better, worse).
PAPER_ORDER = (("SM", "SE"), ("SE", "EE"))
#: Below this gain of the encoder's own round trip over all-transparent (dB), the latents do
#: not carry the layers and no decoder comparison can mean anything.
MIN_ENCODER_GAIN = 1.0
#: Reference rows scored on the same samples as the variants.
TRANSPARENT, ROUND_TRIP = "all transparent", "encoder round trip"


@dataclass(frozen=True)
class DecoderBudget:
    """What every (variant, seed) run gets: the same for all, so rows differ only by variant."""

    steps: int = 300
    lr: float = 2e-3
    batch_size: int = 4
    config: str = "tiny"
    val_posters: int = 3
    device: str = "cpu"


@dataclass
class SampleScores:
    """Per validation sample, in dataset order."""

    psnr: list[float]
    ssim: list[float]

    @property
    def mean_psnr(self) -> float:
        return float(np.mean(self.psnr))

    @property
    def mean_ssim(self) -> float:
        return float(np.mean(self.ssim))


@dataclass
class DecoderAblation:
    """Scores of every (variant, seed), and of the references (seed-independent)."""

    seeds: list[int]
    budget: DecoderBudget
    samples: int
    runs: dict[str, dict[int, SampleScores]] = field(default_factory=dict)
    train_psnr: dict[str, dict[int, float]] = field(default_factory=dict)
    references: dict[str, SampleScores] = field(default_factory=dict)

    def interval(self, variant: str, metric: str) -> Interval:
        """Mean over seeds of the per-seed sample mean, with its t interval."""
        per_seed = [getattr(self.runs[variant][s], f"mean_{metric.lower()}") for s in self.seeds]
        return t_interval(per_seed)

    def gain(self, variant: str) -> Interval:
        """PSNR above all-transparent on the same samples (dB), t over seeds."""
        floor = self.references[TRANSPARENT]
        per_seed = [float(np.mean(np.subtract(self.runs[variant][s].psnr, floor.psnr))) for s in self.seeds]
        return t_interval(per_seed)

    def difference(self, better: str, worse: str) -> Interval:
        """PSNR of `better` − `worse`, paired by seed."""
        a = [self.runs[better][s].mean_psnr for s in self.seeds]
        b = [self.runs[worse][s].mean_psnr for s in self.seeds]
        return paired_difference(a, b)


def train_variant(data: Path, vae_dir: Path, out: Path, variant: str, seed: int, budget: DecoderBudget,
                  log: Callable[[str], None] = print) -> tuple[Path, float]:
    """Train one decoder; returns its folder and its last logged training-batch PSNR.

    The single place that knows the trainer's API: point it at `engine.dmdl.train`'s decoder
    part once that lands. A run whose decoder is already in `out` is not trained again (an
    interrupted ablation resumes; parallel processes can split the variants and a last one
    tabulates them all).
    """
    folder, note = out / "decoder", out / "last_batch_psnr.txt"
    if (folder / "config.json").exists() and note.exists():
        return folder, float(note.read_text())
    history: list[str] = []

    def remember(line: str) -> None:
        history.append(line)
        log(line)

    options = TrainOptions(
        data=data, out=out, vae=vae_dir, config=budget.config, variant=variant, steps=budget.steps,
        batch_size=budget.batch_size, lr=budget.lr, seed=seed, val_posters=budget.val_posters,
        log_every=max(1, budget.steps // 4), save_every=0, keep_checkpoints=1, device=budget.device,
    )
    result = train(options, log=remember)
    batch = [float(line.split("batch PSNR ")[1].split(" dB")[0]) for line in history if "batch PSNR " in line]
    last = batch[-1] if batch else float("nan")
    note.write_text(f"{last}\n")
    return result.decoder_dir, last


@torch.no_grad()
def score(decode: Callable[[torch.Tensor, object], torch.Tensor], clips: Sequence[tuple[torch.Tensor, torch.Tensor, object]]) -> SampleScores:
    """PSNR/SSIM (premultiplied RGBA) of `decode(latent, box)` against each clip's frames."""
    psnr, ssim = [], []
    for latent, target, box in clips:
        made = decode(latent, box).cpu().float().clamp(0, 1)
        psnr.append(min(rgba_psnr(made, target), 100.0))  # an exact clip counts as 100 dB, not ∞
        ssim.append(rgba_ssim(made, target))
    return SampleScores(psnr, ssim)


def validation_clips(data: Path, vae_dir: Path, val_posters: int) -> list[tuple[torch.Tensor, torch.Tensor, object]]:
    """(latent, float RGBA target, motion box) of every held-out sample, latents by the frozen encoder."""
    tdl = TDLDataset(data)
    _, val_indices = split_by_poster(tdl, val_posters)
    encoder = LayerEncoder.from_pretrained(vae_dir)
    clips = []
    for index in val_indices:
        sample = tdl.load(index)
        clips.append((encoder.encode(sample.frames), to_float_rgba(sample.frames), sample.motion_box))
    return clips


def run_decoder_ablation(data: Path, vae_dir: Path, work: Path, variants: Sequence[str], seeds: Sequence[int],
                         budget: DecoderBudget, log: Callable[[str], None] = print) -> DecoderAblation:
    """Train and score every variant with every seed; score the references once."""
    clips = validation_clips(data, vae_dir, budget.val_posters)
    result = DecoderAblation(list(seeds), budget, len(clips))
    result.references[TRANSPARENT] = score(
        lambda z, box: torch.zeros(decoded_frame_count(z.shape[1]), box.h, box.w, 4), clips)
    vae = LayerEncoder.from_pretrained(vae_dir).vae
    result.references[ROUND_TRIP] = score(lambda z, box: two_step_decode(vae, z), clips)
    for variant in variants:
        for seed in seeds:
            folder, batch_psnr = train_variant(data, vae_dir, work / f"decoder-{variant}-seed{seed}", variant, seed,
                                               budget, log)
            decoder = LayerDecoder.from_pretrained(folder, low_cpu_mem_usage=False).eval()
            result.runs.setdefault(variant, {})[seed] = score(lambda z, box: decoder.decode([z], [box])[0], clips)
            result.train_psnr.setdefault(variant, {})[seed] = batch_psnr
    return result


def verdict(result: DecoderAblation) -> str:
    """"reproduces", "does not reproduce" or "inconclusive", with the reason, from the intervals.

    A variant that does not beat all-transparent on the same samples is not decoding
    anything yet, so no ordering of such variants means anything; otherwise each of the
    paper's pairs must differ in its favour with an interval that excludes 0.
    """
    floor = result.references[TRANSPARENT].mean_psnr
    carried = result.references[ROUND_TRIP].mean_psnr - floor if ROUND_TRIP in result.references else math.inf
    idle = [v for v in result.runs if not (result.gain(v).low > 0)]
    if carried < MIN_ENCODER_GAIN:
        return (f"inconclusive: the frozen encoder's own round trip is only {carried:+.2f} dB above "
                "all-transparent, so its latents carry too little of the layers for any decoder to reconstruct")
    if idle:
        return (f"inconclusive: {', '.join(idle)} do not beat all-transparent with 95 % confidence, "
                "so the decoders have not learned to reconstruct unseen layers at this budget")
    pairs = [(better, worse) for better, worse in PAPER_ORDER if better in result.runs and worse in result.runs]
    if not pairs:
        return "inconclusive: the paper's pairs (SM, SE, EE) were not all run"
    differences = {pair: result.difference(*pair) for pair in pairs}
    against = [f"{b} < {w}" for (b, w), d in differences.items() if d.high < 0]
    unresolved = [f"{b} vs {w}" for (b, w), d in differences.items() if not d.excludes_zero()]
    if against:
        return f"does not reproduce: {', '.join(against)} with 95 % confidence"
    if unresolved:
        return f"inconclusive: {', '.join(unresolved)} differ by less than the seed-to-seed spread"
    return "reproduces: " + " > ".join(dict.fromkeys(v for pair in pairs for v in pair)) + " with 95 % confidence"


def decoder_table(result: DecoderAblation) -> str:
    """Table 5 as markdown: mean ± 95 % CI (t over seeds), gain over all-transparent, paper columns."""
    b = result.budget
    lines = [
        f"### Table 5, decoder ablation ({len(result.seeds)} seeds: {', '.join(map(str, result.seeds))}; "
        f"{b.config} decoders, {b.steps} steps, lr {b.lr:g}, batch {b.batch_size}; {result.samples} validation clips)",
        "",
        "| decoder | PSNR (dB) ↑ | gain over all-transparent (dB) | SSIM ↑ | last train-batch PSNR | "
        "PSNR (paper) | SSIM (paper) |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant, published in PUBLISHED_DECODER_ABLATION.items():
        if variant not in result.runs:
            continue
        label = "ViT" if variant == "VIT" else f"ViT+{variant}"
        train_psnr = float(np.nanmean(list(result.train_psnr.get(variant, {}).values()) or [math.nan]))
        lines.append(
            f"| {label} | {result.interval(variant, 'PSNR').format(2)} | {result.gain(variant).format(2)} | "
            f"{result.interval(variant, 'SSIM').format(3)} | {train_psnr:.2f} | {published['PSNR']:.2f} | "
            f"{published['SSIM']:.3f} |"
        )
    for name, scores in result.references.items():
        lines.append(f"| ({name}) | {scores.mean_psnr:.2f} | {0.0 if name == TRANSPARENT else scores.mean_psnr - result.references[TRANSPARENT].mean_psnr:+.2f} | "
                     f"{scores.mean_ssim:.3f} | — | — | — |")
    lines += ["", "Intervals: 95 %, Student's t over seeds (each seed's value is its mean over the validation "
              "clips); the references are deterministic (one value)."]
    for better, worse in PAPER_ORDER:
        if better in result.runs and worse in result.runs:
            d = result.difference(better, worse)
            lines.append(f"- {better} − {worse}: {d.format(2)} dB (paired by seed)")
    lines.append(f"- Verdict: {verdict(result)}.")
    return "\n".join(lines) + "\n"
