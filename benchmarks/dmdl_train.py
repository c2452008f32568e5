"""Training speed of DMDL's transformer: the trainer on the CPU, and a 13B LoRA step on one GPU.

    python -m benchmarks.dmdl_train                 # CPU: tokens/s, 1 process vs 2 (FSDP, gloo), side by side
    python -m benchmarks.dmdl_train --gpu           # one GPU: 13B bf16 random weights, < 10 min on an H200
    python -m benchmarks.dmdl_train --gpu --tiny    # the GPU script's code on tiny shapes (runs on a CPU)

CPU mode runs the real command (`python -m engine.dmdl.train`, and the same under
`accelerate launch --config_file configs/accelerate/fsdp_cpu_2proc.yaml`) on the small
configuration: a tiny HunyuanVideo-I2V base and synthetic TDL posters made here; the same
global batch either way, tokens/s as the trainer logs it (valid tokens of every process).

GPU mode builds HunyuanVideo-I2V's transformer (12.8B, token replace, 4D-RoPE on the shared
frame band) in bf16 with random weights (a step's cost does not depend on their values),
adds LoRA adapters (fp32), and times, for 49 frames and 2-4 layers of at most 512x512: one
LoRA training step (bf16 autocast, gradient checkpointing) with its peak memory, and one
inference forward (a denoising step) with its MFU against the chip's bf16 matmul rate
measured here first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.dmdl import CONFIGS, step_flops
from engine.dmdl.packing import LayerPlacement, pack_layers
from engine.dmdl.text import PromptEmbeddings
from engine.dmdl.train.lora import add_lora
from engine.dmdl.training import flow_matching_loss
from engine.dmdl.transformer import DMDLTransformer

ROOT = Path(__file__).resolve().parents[1]
#: The CPU "small configuration": 4 heads of 32, 2 dual- + 2 single-stream blocks.
SMALL = dict(num_attention_heads=4, attention_head_dim=32, num_layers=2, num_single_layers=2, rope_axes_dim=(8, 12, 12))
#: GPU mode: HunyuanVideo-I2V as released (its 3D bands; DMDL's layer axis shares the frame band).
FULL = {**CONFIGS["full"], "rope_axes_dim": (16, 56, 56), "in_channels": 16, "out_channels": 16}
TINY = {**CONFIGS["small"], "rope_axes_dim": (4, 6, 6), "in_channels": 16, "out_channels": 16}
#: (name, frames, layer sides in pixels): 49 frames, 2-4 layers of at most 512x512.
GPU_CASES = [("2 layers 512²", 49, [512, 512]), ("4 layers 256²", 49, [256] * 4), ("3 layers 384²", 49, [384] * 3)]
TINY_CASES = [("2 layers 64²", 5, [64, 64]), ("4 layers 32²", 5, [32] * 4)]
TEXT_TOKENS = 256


# ----------------------------------------------------------------------------- CPU: the trainer


def run_trainer(work: Path, name: str, processes: int, steps: int, batch: int) -> float:
    """Train with the real command; returns the last logged tokens/s."""
    out = work / name
    common = ["--data", str(work / "tdl"), "--base", str(work / "base"), "--out", str(out), "--cache",
              str(work / "cache"), "--steps", str(steps), "--log-every", str(steps), "--lr", "1e-4"]
    # one thread a process: a shared CPU with a thread pool per process oversubscribes, and OpenMP's
    # spinning barriers then cost more than the work (2 threads ran 10x slower than 1 here)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    if processes == 1:
        command = [sys.executable, "-m", "engine.dmdl.train", *common, "--batch-size", str(batch)]
    else:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                   str(ROOT / "configs" / "accelerate" / "fsdp_cpu_2proc.yaml"), "-m", "engine.dmdl.train",
                   *common, "--batch-size", str(batch // processes)]
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    rates = [json.loads(line)["tokens_per_s"] for line in (out / "log.jsonl").read_text().splitlines()
             if "tokens_per_s" in line]
    return rates[-1]


def cpu_benchmark(args) -> None:
    from tests.helpers.dmdl_train_tiny import tiny_base, tiny_tdl

    work = Path(tempfile.mkdtemp(prefix="dmdl-train-bench-"))
    tiny_base(work / "base", **SMALL)
    tiny_tdl(work / "tdl", posters=args.posters, frames=9)
    run_trainer(work, "warm-cache", 1, 1, args.batch)  # fills the shared latent cache once
    rows = []
    for repeat in range(args.repeats):
        single = run_trainer(work, f"single-{repeat}", 1, args.steps, args.batch)
        double = run_trainer(work, f"fsdp-{repeat}", 2, args.steps, args.batch)
        rows.append((single, double))
        print(f"repeat {repeat + 1}: 1 process {single:.0f} tokens/s, 2 processes (FSDP) {double:.0f} tokens/s")
    single = statistics.median(r[0] for r in rows)
    double = statistics.median(r[1] for r in rows)
    print("\n| processes | global batch | steps | tokens/s (median of %d) | ratio |" % args.repeats)
    print("|---|---|---|---|---|")
    print(f"| 1 | {args.batch} | {args.steps} | {single:.0f} | 1.00 |")
    print(f"| 2 (FSDP, gloo) | {args.batch} | {args.steps} | {double:.0f} | {double / single:.2f} |")


# ----------------------------------------------------------------------------- GPU: 13B LoRA


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def matmul_rate(device: str, size: int) -> float:
    """The chip's measured bf16 matmul FLOP/s (median of 5 after a warm-up)."""
    a = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    b = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    times = []
    for i in range(6):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        synchronize(device)
        if i:
            times.append((time.perf_counter() - start) / 10)
    return 2.0 * size**3 / statistics.median(times)


def case_inputs(sides: list[int], frames: int, config: dict, device: str):
    latent_frames = (frames - 1) // 4 + 1
    latents, places, left = [], [], 0
    for index, side in enumerate(sides):  # side by side on one poster row
        latents.append(torch.randn(16, latent_frames, side // 8, side // 8, device=device))
        places.append(LayerPlacement(index=index, top=0, left=left))
        left += side // 16
    packed = pack_layers([latents], [places], config.get("patch_size", 2), 1)
    prompt = PromptEmbeddings(
        embeds=torch.randn(1, TEXT_TOKENS, config["text_embed_dim"], device=device),
        mask=torch.ones(1, TEXT_TOKENS, dtype=torch.long, device=device),
        owner=torch.full((1, TEXT_TOKENS), -1, dtype=torch.long, device=device),
        pooled=torch.randn(1, config["pooled_projection_dim"], device=device),
    )
    return packed, prompt


def timed(function, device: str, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        function()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gpu_benchmark(args) -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    config, cases = (TINY, TINY_CASES) if args.tiny else (FULL, GPU_CASES)
    started = time.perf_counter()
    rate = matmul_rate(device, 512 if args.tiny else 8192)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # the 13B base directly in bf16: no fp32 copy
    try:
        with torch.device(device):
            model = DMDLTransformer(**config)
    finally:
        torch.set_default_dtype(previous)
    params = sum(p.numel() for p in model.parameters())
    adapters = add_lora(model, args.lora_rank)
    model.enable_gradient_checkpointing()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    print(f"device {device}: {params / 1e9:.2f} B parameters (bf16), LoRA rank {args.lora_rank}: "
          f"{adapters / 1e6:.1f} M trainable; measured bf16 matmul {rate / 1e12:.1f} TFLOP/s")
    rows = []
    for name, frames, sides in cases:
        packed, prompt = case_inputs(sides, frames, config, device)
        tokens = int(packed.valid.sum())
        noise, sigma = torch.randn_like(packed.tokens), torch.full((1,), 0.6, device=device)

        def train_step():
            with torch.autocast(device, dtype=torch.bfloat16):
                loss = flow_matching_loss(model, packed, prompt, sigma, noise, 6.0)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        def denoise_step():
            with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16):
                flow_matching_loss(model, packed, prompt, sigma, noise, 6.0)

        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        model.train()
        train_s = timed(train_step, device, args.repeats)
        peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
        model.eval()
        infer_s = timed(denoise_step, device, args.repeats)
        mfu = step_flops(model, tokens) / infer_s / rate
        rows.append((name, frames, tokens, train_s, peak, infer_s, mfu))
        print(f"{name}: {tokens} tokens, LoRA step {train_s:.2f} s (peak {peak:.1f} GiB), "
              f"denoising step {infer_s:.2f} s, MFU {mfu:.1%}")
    print(f"\n| case | frames | image tokens | LoRA step s | peak GiB | inference s/step | MFU |")
    print("|---|---|---|---|---|---|---|")
    for name, frames, tokens, train_s, peak, infer_s, mfu in rows:
        print(f"| {name} | {frames} | {tokens} | {train_s:.2f} | {peak:.1f} | {infer_s:.2f} | {mfu:.1%} |")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dmdl_train", description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="13B LoRA step, peak memory, inference s/step and MFU")
    parser.add_argument("--tiny", action="store_true", help="with --gpu: tiny shapes (any device)")
    parser.add_argument("--lora-rank", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="CPU mode: training steps per run")
    parser.add_argument("--batch", type=int, default=4, help="CPU mode: global batch (split over processes)")
    parser.add_argument("--posters", type=int, default=8, help="CPU mode: synthetic posters")
    args = parser.parse_args()
    if args.gpu:
        gpu_benchmark(args)
    else:
        cpu_benchmark(args)


if __name__ == "__main__":
    main()
