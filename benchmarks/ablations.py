"""The paper's ablations at small scale on this CPU: Table 4 (positional embedding) and
Table 5 (decoder), on one synthetic TDL made here, with the same budget, data and seeds.

    python -m benchmarks.ablations decoder --work out/ablations [--seeds 0 1 2] [--steps 150]
    python -m benchmarks.ablations rope    --work out/ablations [--rope-steps 300] [--seed 0]
    python -m benchmarks.ablations all     --work out/ablations

Both share `prepare` (benchmarks.autoencoder): a synthetic shapes TDL and a small
HunyuanVideo-architecture VAE fitted to it, then frozen (no real VAE weights here).
`decoder` trains every decoder variant with every seed (engine.eval.decoder_ablation) and
writes table5.md. `rope` trains one tiny DMDL transformer per Table 4 variant (same
initial weights, data order and steps), assembles each into a DMDL folder with the same
VAE, text encoders and the seed-0 SM decoder of the `decoder` run (trained first when
missing), and scores them with the evaluation harness in the joint setting
(`python -m engine.eval --ablation rope`), which writes table4.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.autoencoder import prepare  # noqa: E402
from engine.eval.decoder_ablation import DecoderBudget, decoder_table, run_decoder_ablation  # noqa: E402


def command_decoder(args: argparse.Namespace) -> Path:
    data, vae_dir = prepare(args)
    budget = DecoderBudget(steps=args.steps, lr=args.lr, config=args.config, val_posters=args.val_posters)
    started = time.time()
    result = run_decoder_ablation(data, vae_dir, args.work, args.variants, args.seeds, budget,
                                  log=lambda line: None if args.quiet else print(line))
    text = decoder_table(result) + f"\n{time.time() - started:.0f} s wall for {len(args.variants) * len(args.seeds)} runs.\n"
    out = args.work / "table5.md"
    out.write_text(text)
    print(text)
    return out


def command_rope(args: argparse.Namespace) -> Path:
    from benchmarks.rope_ablation import run_rope_ablation  # noqa: PLC0415 (needs the decoder run's folder)

    data, vae_dir = prepare(args)
    decoder_dir = args.work / f"decoder-SM-seed{args.seeds[0]}" / "decoder"
    if not (decoder_dir / "config.json").exists():
        budget = DecoderBudget(steps=args.steps, lr=args.lr, config=args.config, val_posters=args.val_posters)
        from engine.eval.decoder_ablation import train_variant  # noqa: PLC0415

        train_variant(data, vae_dir, decoder_dir.parent, "SM", args.seeds[0], budget, log=lambda line: None)
    return run_rope_ablation(data, vae_dir, decoder_dir, args.work, steps=args.rope_steps, seed=args.seeds[0],
                             sampling_steps=args.sampling_steps)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["decoder", "rope", "all"])
    parser.add_argument("--work", type=Path, default=Path("out/ablations"))
    parser.add_argument("--posters", type=int, default=24)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--source", choices=["shapes", "samples"], default="shapes")
    parser.add_argument("--animator", choices=["presets", "drift"], default="drift")
    parser.add_argument("--vae-steps", type=int, default=300)
    parser.add_argument("--val-posters", type=int, default=3)
    parser.add_argument("--steps", type=int, default=150, help="decoder training steps per run")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--variants", nargs="+", default=["SM", "SE", "EE", "VIT"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rope-steps", type=int, default=300, help="transformer training steps per Table 4 variant")
    parser.add_argument("--sampling-steps", type=int, default=10, help="denoising steps when evaluating Table 4")
    parser.add_argument("--seed", type=int, default=0, help="data and stand-in VAE seed")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.command in ("decoder", "all"):
        command_decoder(args)
    if args.command in ("rope", "all"):
        command_rope(args)


if __name__ == "__main__":
    main()
