"""Train the transparent-layer decoder: L1 reconstruction through the frozen VAE encoder.

    python -m engine.dmdl.train decoder --data DATA_DIR --out RUN_DIR [--base I2V_DIR | --vae VAE_DIR | --tiny-vae]
        [--config paper|small|tiny] [--decoder sm|se|ee|vit] [--steps N] [--resume]
        [--mixed-precision bf16] [--gradient-checkpointing]
    accelerate launch -m engine.dmdl.train decoder ...      (data-parallel over processes)

(`python -m engine.dmdl.train_decoder` is the same command.) Only the decoder learns (paper
§4.1). A frozen encoder gives the same latent every epoch, so each sample's latent is
computed once and written to RUN_DIR/latents (one safetensors file per sample, atomically:
resumable, and memory holds a batch, never the dataset). `--decoder` picks Table 5's layout.
The loss is L1 on premultiplied RGBA, so colour under fully transparent pixels, which has
no meaning, is not fitted. Checkpoints are diffusers directories (config.json +
safetensors) plus the optimizer state; --resume continues from the newest one.

With --tiny-vae (no real weights here) a random miniature HunyuanVideo VAE is made once
and saved in RUN_DIR/vae, so resuming and later decoding see the very same encoder.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from engine.data.buckets import ClipDataset, bucketed_loader
from engine.data import tdl
from engine.data.tdl import TDLDataset
from engine.dmdl.autoencoder import LayerEncoder, to_float_rgba, tiny_vae
from engine.dmdl.layer_decoder import LayerDecoder
from engine.dmdl.metrics import premultiply, rgba_psnr, rgba_ssim
from engine.dmdl.errors import DMDLError
from engine.dmdl.train.options import DECODER_VARIANTS, MIXED_PRECISION

#: Decoder sizes by name. "paper" is §5's: 12 blocks of width 768.
DECODER_CONFIGS: dict[str, dict] = {
    "paper": dict(hidden_size=768, num_layers=12, num_heads=12),
    "small": dict(hidden_size=192, num_layers=4, num_heads=4, mlp_ratio=2.0, norm_groups=8),
    "tiny": dict(hidden_size=128, num_layers=2, num_heads=4, mlp_ratio=2.0, norm_groups=8),
}


@dataclass
class TrainOptions:
    data: Path
    out: Path
    vae: Path | None = None
    config: str = "tiny"
    variant: str = "SM"
    steps: int = 1000
    batch_size: int = 4
    lr: float = 1e-3
    warmup: int = 20
    seed: int = 0
    val_posters: int = 1
    log_every: int = 50
    save_every: int = 500
    val_every: int = 0
    keep_checkpoints: int = 2
    resume: bool = False
    cache_latents: bool = True  # on disk, under out/latents
    device: str = "cpu"
    mixed_precision: str = "no"  # bf16 / fp16 autocast, fp32 master weights
    gradient_checkpointing: bool = False
    target_psnr: float | None = None  # stop early once the training batch reaches it


@dataclass
class TrainResult:
    step: int
    loss: float
    val_psnr: float
    val_ssim: float
    seconds: float
    decoder_dir: Path
    history: list[tuple[int, float]] = field(default_factory=list)


def reconstruction_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between premultiplied RGBA clips (colour under alpha 0 does not count)."""
    return F.l1_loss(premultiply(prediction), premultiply(target))


def encoder_dir(options: TrainOptions) -> Path:
    """The real VAE's folder (--vae), or the run's own tiny random one (made once, then reloaded)."""
    if options.vae is not None:
        return options.vae
    vae_dir = options.out / "vae"
    if not (vae_dir / "config.json").exists():
        tiny_vae(options.seed).save_pretrained(vae_dir)
    return vae_dir


def load_encoder(options: TrainOptions) -> LayerEncoder:
    return LayerEncoder.from_pretrained(encoder_dir(options))


def checkpoints(out: Path) -> list[Path]:
    return sorted(out.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))


def save_checkpoint(out: Path, step: int, decoder: LayerDecoder, optimizer: torch.optim.Optimizer, keep: int) -> Path:
    """Write checkpoint-<step>/ (decoder as a diffusers directory + optimizer state), prune old ones."""
    path = out / f"checkpoint-{step:07d}"
    decoder.save_pretrained(path / "decoder")
    torch.save({"step": step, "optimizer": optimizer.state_dict()}, path / "training_state.pt")
    for stale in checkpoints(out)[:-keep]:
        shutil.rmtree(stale)
    return path


def split_by_poster(tdl: TDLDataset, val_posters: int) -> tuple[list[int], list[int]]:
    """Hold out whole posters (the last ones in order) so validation sees unseen layers."""
    groups = list(tdl.poster_groups().values())
    if val_posters >= len(groups):
        raise DMDLError(
            f"The dataset has {len(groups)} posters; keep at least one for training (asked to hold out {val_posters})."
        )
    held = groups[len(groups) - val_posters :] if val_posters else []
    val = [index for group in held for index in group]
    train = [index for group in groups[: len(groups) - val_posters] for index in group]
    return train, val


class LatentSource:
    """Latents of dataset samples from the frozen encoder, each written once to `folder`
    (None: computed every time). Files, not a dict: 100k clips of 49 frames at 512² are
    ~340 GB of latents, which no RAM holds."""

    def __init__(self, encoder: LayerEncoder, folder: Path | None):
        self.encoder, self.folder = encoder, folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def _path(self, index: int) -> Path:
        return self.folder / f"{index:07d}.safetensors"

    def __call__(self, frames: torch.Tensor, indices: list[int]) -> torch.Tensor:
        from safetensors.torch import load_file, save_file

        if self.folder is not None and all(self._path(i).is_file() for i in indices):
            return torch.stack([load_file(self._path(i))["latent"] for i in indices])
        latents = self.encoder.encode_batch(frames).cpu()
        if self.folder is not None:
            for index, latent in zip(indices, latents):
                partial = self._path(index).with_suffix(f".tmp{os.getpid()}")
                save_file({"latent": latent.contiguous()}, partial)
                partial.replace(self._path(index))
        return latents


def latent_folder(options: TrainOptions, encoder_dir: Path) -> Path | None:
    """Where this run's latents live: keyed by the encoder and the data, so a change re-encodes."""
    if not options.cache_latents:
        return None
    key = hashlib.sha1(f"{encoder_dir.resolve()}|{Path(options.data).resolve()}".encode()).hexdigest()[:12]
    return options.out / "latents" / key


@torch.no_grad()
def evaluate(decoder: LayerDecoder, latents_of: LatentSource, clips: ClipDataset) -> tuple[float, float]:
    """Mean PSNR / SSIM (premultiplied RGBA) of the decoder on the given clips."""
    scores = []
    decoder.eval()
    for position in range(len(clips)):
        frames, box, index = clips[position]
        latent = latents_of(frames[None], [index])[0]
        decoded = decoder.decode([latent], [box])[0].cpu()
        target = to_float_rgba(frames)
        scores.append((rgba_psnr(decoded, target), rgba_ssim(decoded, target)))
    decoder.train()
    if not scores:
        return float("nan"), float("nan")
    return sum(s[0] for s in scores) / len(scores), sum(s[1] for s in scores) / len(scores)


def train(options: TrainOptions, log: Callable[[str], None] = print) -> TrainResult:
    """Run (or resume) decoder training; returns the final step, loss and validation scores.

    Under `accelerate launch` the batches are split over the processes (DDP); checkpoints,
    logs and the saved decoder come from the main process.
    """
    from accelerate import Accelerator

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.manual_seed(options.seed)
    if options.mixed_precision not in MIXED_PRECISION:
        raise DMDLError(f"--mixed-precision must be one of {', '.join(MIXED_PRECISION)}.")
    if "WORLD_SIZE" not in os.environ:  # one process: a fresh state each run (accelerate's is process-wide,
        from accelerate.state import AcceleratorState  # and a second run asking another precision is refused)

        AcceleratorState._reset_state(reset_partial_state=True)
    accelerator = Accelerator(mixed_precision=options.mixed_precision, cpu=options.device == "cpu")
    if not accelerator.is_main_process:
        log = lambda line: None  # noqa: E731 (one voice in the console)
    options.out.mkdir(parents=True, exist_ok=True)
    device = accelerator.device
    tdl = TDLDataset(options.data)
    train_indices, val_indices = split_by_poster(tdl, options.val_posters)
    train_clips, val_clips = ClipDataset(tdl, train_indices), ClipDataset(tdl, val_indices)
    with accelerator.main_process_first():  # one process makes the tiny VAE; the rest load it
        vae_dir = encoder_dir(options)
    encoder = LayerEncoder.from_pretrained(vae_dir)
    encoder.vae.to(device)
    latents_of = LatentSource(encoder, latent_folder(options, vae_dir))

    step = 0
    existing = checkpoints(options.out) if options.resume else []
    if existing:
        decoder = LayerDecoder.from_pretrained(existing[-1] / "decoder", low_cpu_mem_usage=False).to(device)
    else:
        if options.config not in DECODER_CONFIGS:
            raise DMDLError(f"Unknown decoder size '{options.config}'; choose {', '.join(DECODER_CONFIGS)}.")
        decoder = LayerDecoder(**DECODER_CONFIGS[options.config], variant=options.variant).to(device)
    if options.gradient_checkpointing:
        decoder.enable_gradient_checkpointing()
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=options.lr, weight_decay=0.0)
    if existing:
        state = torch.load(existing[-1] / "training_state.pt", map_location=device, weights_only=True)
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        log(f"resumed from {existing[-1].name} at step {step}")

    parameters = sum(p.numel() for p in decoder.parameters())
    log(
        f"training {decoder.config.variant} decoder ({parameters / 1e6:.2f} M parameters) on "
        f"{len(train_clips)} clips, validating on {len(val_clips)}, steps {step}→{options.steps}"
    )
    loader = bucketed_loader(train_clips, options.batch_size, shuffle=True, seed=options.seed)
    model, optimizer, loader = accelerator.prepare(decoder, optimizer, loader)
    decoder = accelerator.unwrap_model(model)  # evaluation and saving use the bare module
    started, loss_value, history = time.time(), float("nan"), []
    model.train()
    while step < options.steps:
        for frames, boxes, indices in loader:
            latents = latents_of(frames, indices).to(device)
            target = to_float_rgba(frames).to(device)
            with accelerator.autocast():
                prediction = model(latents, boxes)
                loss = reconstruction_loss(prediction.float(), target)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            for group in optimizer.param_groups:  # linear warm-up, then constant
                group["lr"] = options.lr * min(1.0, (step + 1) / max(1, options.warmup))
            optimizer.step()
            step += 1
            loss_value = loss.item()
            history.append((step, loss_value))
            if step % options.log_every == 0 or step == options.steps:
                batch_psnr = rgba_psnr(prediction.detach().clamp(0, 1), target)
                rate = len(history) / (time.time() - started)
                log(f"step {step}/{options.steps}  loss {loss_value:.4f}  batch PSNR {batch_psnr:.2f} dB  {rate:.2f} steps/s")
                if options.target_psnr is not None and batch_psnr >= options.target_psnr:
                    options.steps = step
            if options.save_every and step % options.save_every == 0 and accelerator.is_main_process:
                save_checkpoint(options.out, step, decoder, optimizer, options.keep_checkpoints)
            if options.val_every and step % options.val_every == 0 and len(val_clips) and accelerator.is_main_process:
                log("validation  PSNR %.2f dB  SSIM %.4f" % evaluate(decoder, latents_of, val_clips))
            if step >= options.steps:
                break

    final_dir = options.out / "decoder"
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        save_checkpoint(options.out, step, decoder, optimizer, options.keep_checkpoints)
        decoder.save_pretrained(final_dir)
    val_psnr, val_ssim = evaluate(decoder, latents_of, val_clips if len(val_clips) else train_clips)
    seconds = time.time() - started
    log(f"| split | clips | PSNR (dB) | SSIM |\n|---|---|---|---|\n| validation | {len(val_clips)} | {val_psnr:.2f} | {val_ssim:.4f} |")
    log(f"decoder saved to {final_dir} after {step} steps ({seconds:.0f} s)")
    return TrainResult(step, loss_value, val_psnr, val_ssim, seconds, final_dir, history)


def parse_args(argv: list[str] | None = None, prog: str = "python -m engine.dmdl.train decoder") -> TrainOptions:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="TDL dataset directory")
    parser.add_argument("--out", type=Path, required=True, help="run directory (checkpoints, final decoder)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", type=Path, help="HunyuanVideo-I2V diffusers folder (its vae/ is used)")
    source.add_argument("--vae", type=Path, help="local diffusers AutoencoderKLHunyuanVideo directory")
    source.add_argument("--tiny-vae", action="store_true", help="a random miniature VAE (no weights needed)")
    parser.add_argument("--config", choices=sorted(DECODER_CONFIGS), default="tiny")
    parser.add_argument("--variant", choices=sorted(DECODER_VARIANTS.values()), default="SM")
    parser.add_argument("--decoder", choices=sorted(DECODER_VARIANTS), help="Table 5 layout (same as --variant)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-posters", type=int, default=1, help="posters held out for validation")
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--save-every", type=int, default=500)
    parser.add_argument("--val-every", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    parser.add_argument("--no-cache-latents", dest="cache_latents", action="store_false",
                        help="encode every batch again instead of caching latents on disk")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (accelerate picks the process's GPU)")
    parser.add_argument("--mixed-precision", choices=MIXED_PRECISION, default="no")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    args = parser.parse_args(argv)
    if args.base is not None:
        args.vae = args.base / "vae"
    if args.decoder is not None:
        args.variant = DECODER_VARIANTS[args.decoder]
    fields = {k: v for k, v in vars(args).items() if k not in ("tiny_vae", "base", "decoder")}
    return TrainOptions(**fields)


def main(argv: list[str] | None = None, prog: str = "python -m engine.dmdl.train decoder") -> int:
    try:
        train(parse_args(argv, prog))
    except (DMDLError, tdl.PosterError) as error:  # the model's sentences and the dataset reader's (engine.data's own)
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
