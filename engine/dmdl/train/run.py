"""Fine-tune DMDL's transformer on a TDL folder: the whole run, top to bottom.

    python -m engine.dmdl.train --data TDL --base HUNYUAN_I2V --out RUN [--layer-decoder DEC] ...
    accelerate launch --config_file configs/accelerate/fsdp.yaml -m engine.dmdl.train ...

1. The TDL folder's train and validation posters (whole posters, never one in both) become
   units: one poster's layers in joint mode, or one group under its group prompt, scaled
   as the dmdl engine scales one call's layers (`--resolution`, the paper's 512 px).
2. The frozen VAE and text encoders encode every unit once into RUN/cache (one file each;
   resumable); then they leave memory.
3. The transformer loads from the base (HunyuanVideo-I2V: with 4D-RoPE, one layer at index 0
   is the pretrained model exactly) with the `--rope` ablation written into its config;
   `--lora-rank` trains peft adapters only; accelerate wraps it (one process, DDP, FSDP or
   ZeRO-3, whatever the launch config says; `--mixed-precision` autocasts on fp32 masters).
4. Each step: a token-bucketed batch, noise levels sigma ~ logit-normal, the rectified-flow
   loss of eq. 10 (engine.dmdl.training), AdamW with warm-up and cosine decay. Noise and
   batch order are pure functions of (seed, step, slot in the global batch), so a resumed
   run and a run on N processes see exactly what an uninterrupted single run sees.
5. Every N steps: a checkpoint (accelerate state: weights or adapters, optimizer, RNG, step),
   validation loss, sample videos of a validation poster (RUN/samples, animated PNG, RGBA).
6. At the end: RUN/transformer (full weights, or config + links to the base's weights + the
   LoRA adapter), and, given the RGBA decoder, RUN/dmdl: the folder the editor's `dmdl`
   engine loads (DMDL_CHECKPOINT=RUN/dmdl).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader

from engine.data.tdl import TDLDataset
from engine.dmdl.assemble import assemble
from engine.dmdl.autoencoder import LayerEncoder
from engine.dmdl.errors import DMDLError
from engine.dmdl.packing import pack_layers
from engine.dmdl.train import lora
from engine.dmdl.train.cache import CachedUnits, LatentCache, TokenBucketBatches, UnitSpec, collate_units, fingerprint, plan_units
from engine.dmdl.train.options import ROPE_MODES, TrainOptions, launch_mixed_precision
from engine.dmdl.training import TrainConfig, flow_matching_loss, learning_rate
from engine.dmdl.transformer import LORA_WEIGHTS, DMDLTransformer

VAL_SEED = 7_777_777  # validation noise is the same at every step: the curve compares like with like


class ModelView:
    """What the loss and the sampler read of a model (config, dtype, call) through any wrapper."""

    def __init__(self, wrapped, unwrapped):
        self.wrapped, self.config, self.dtype = wrapped, unwrapped.config, unwrapped.dtype

    def __call__(self, *args, **kwargs):
        return self.wrapped(*args, **kwargs)


def noise_for(units, step: int, seed: int, first_slot: int, std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(sigma (B,), noise tokens) of a batch: each sample's from its own generator, seeded by
    (seed, step, its slot in the global batch): independent of how many processes share it."""
    sigmas, noises = [], []
    for slot, unit in enumerate(units, first_slot):
        generator = torch.Generator().manual_seed(seed * 1_000_003 + step * 4099 + slot)
        sigmas.append(torch.sigmoid(torch.randn(1, generator=generator) * std))
        noises.append([torch.randn(latent.shape, generator=generator) for latent in unit.latents])
    return torch.cat(sigmas), pack_layers(noises, [u.placements for u in units]).tokens


def unit_specs(options: TrainOptions, tdl: TDLDataset) -> tuple[list[UnitSpec], list[UnitSpec]]:
    train = plan_units(tdl, tdl.split_indices("train"), options.max_layers, options.resolution)
    val = plan_units(tdl, tdl.split_indices("val"), options.max_layers, options.resolution)
    return train, val


def fill_cache(options: TrainOptions, accelerator, tdl: TDLDataset, specs: list[UnitSpec], log) -> LatentCache:
    """Encode every unit once (the main process first; the others then find the files)."""
    isolation = ROPE_MODES[options.rope]["layer_isolation"]
    key = fingerprint(base=options.base.resolve(), data=options.data.resolve(), isolation=isolation,
                      resolution=options.resolution)
    cache = LatentCache((options.cache or options.out / "cache") / key)
    with accelerator.main_process_first():
        if cache.missing(specs):
            from engine.dmdl.pipeline import DMDLPipeline

            frozen = DMDLPipeline.from_pretrained(options.base, transformer=None, layer_decoder=None)
            frozen.set_progress_bar_config(disable=True)
            frozen.to(accelerator.device)
            encoder = LayerEncoder(frozen.vae)

            def encode_prompt(spec: UnitSpec, statics, placements):
                layer_prompts = None if spec.group_prompt else list(spec.prompts)
                return frozen.prompt_encoder.encode(layer_prompts, len(spec.indices), spec.group_prompt,
                                                    copy_per_layer=isolation, images=statics, placements=placements)

            count = cache.fill(tdl, specs, encoder.encode, encode_prompt, log)
            log(f"encoded {count} samples into {cache.folder}")
            del frozen, encoder
            gc.collect()
    return cache


def load_transformer(options: TrainOptions) -> DMDLTransformer:
    """The base's transformer with the run's ablation switches, fp32 (the master weights)."""
    transformer = DMDLTransformer.from_pretrained(options.base / "transformer", torch_dtype=torch.float32,
                                                  **ROPE_MODES[options.rope])
    if options.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    return transformer


@torch.no_grad()
def validation_loss(model: ModelView, dataset: CachedUnits, options: TrainOptions, accelerator) -> float:
    """Mean loss over the validation units at fixed noise; every process runs as many forwards."""
    rank, world = accelerator.process_index, accelerator.num_processes
    mine = list(range(rank, len(dataset), world))
    rounds = -(-len(dataset) // world)
    total = torch.zeros(2, device=accelerator.device)
    for k in range(rounds):
        real = k < len(mine)
        unit = dataset[mine[k] if real else 0]
        _, clean, prompt = collate_units([unit])
        sigma, noise = noise_for([unit], VAL_SEED, options.seed, unit.position, options.logit_normal_std)
        loss = flow_matching_loss(model, to(clean, accelerator.device), to_prompt(prompt, accelerator.device),
                                  sigma.to(accelerator.device), noise.to(accelerator.device), options.guidance_scale)
        total += torch.stack([loss.float() * real, torch.tensor(float(real), device=accelerator.device)])
    total = accelerator.reduce(total, "sum")
    return (total[0] / total[1].clamp(min=1)).item()


def to(packed, device):
    return packed.with_tokens(packed.tokens.to(device)) if packed.tokens.device != device else packed


def to_prompt(prompt, device):
    from engine.dmdl.text import PromptEmbeddings

    return PromptEmbeddings(*(getattr(prompt, k).to(device) for k in ("embeds", "mask", "owner", "pooled")))


@torch.no_grad()
def write_samples(model: ModelView, dataset: CachedUnits, options: TrainOptions, accelerator, step: int, log) -> None:
    """The first validation poster animated from its static layers (every process samples: FSDP
    needs them all in each forward; the main one decodes and writes RGBA animated PNGs)."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    from PIL import Image

    from engine.dmdl.grid import LATENT_PIXELS, TOKEN_PIXELS
    from engine.dmdl.layer_decoder import LayerDecoder

    if options.layer_decoder is None or not len(dataset):
        return
    unit = dataset[0]
    statics = [latent.clone() for latent in unit.latents]
    for static in statics:
        static[:, 1:] = 0  # only frame 0 is read: the sampler generates the rest
    condition = to(pack_layers([statics], [unit.placements]), accelerator.device)
    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(options.base / "scheduler")
    result = sample_with(model, condition, to_prompt(unit.prompt, accelerator.device), scheduler, options)
    if not accelerator.is_main_process:
        return
    decoder = LayerDecoder.from_pretrained(options.layer_decoder, low_cpu_mem_usage=False).to(accelerator.device)
    layers = result.unpack()[0]
    boxes = [(p.left * TOKEN_PIXELS, p.top * TOKEN_PIXELS, x.shape[-1] * LATENT_PIXELS, x.shape[-2] * LATENT_PIXELS)
             for p, x in zip(unit.placements, layers)]
    folder = options.out / "samples" / f"step-{step:07d}"
    folder.mkdir(parents=True, exist_ok=True)
    for slot, video in enumerate(decoder.decode(layers, boxes)):
        frames = [Image.fromarray((f.cpu().numpy() * 255 + 0.5).astype(np.uint8), "RGBA") for f in video]
        frames[0].save(folder / f"layer-{slot}.png", save_all=True, append_images=frames[1:], duration=42, loop=0)
    log(f"samples of step {step} written to {folder}")


def sample_with(model, condition, prompt, scheduler, options: TrainOptions):
    from engine.dmdl.sampling import sample_layers

    generator = torch.Generator().manual_seed(options.seed)
    return sample_layers(model, condition, prompt, scheduler, options.sample_steps, generator,
                         guidance_scale=options.guidance_scale)


def checkpoints(out: Path) -> list[Path]:
    return sorted((out / "checkpoints").glob("step-*"))


def save_checkpoint(accelerator, options: TrainOptions, step: int) -> None:
    path = options.out / "checkpoints" / f"step-{step:07d}"
    accelerator.save_state(str(path))
    if accelerator.is_main_process:
        (path / "step.json").write_text(json.dumps({"step": step}))
        for stale in checkpoints(options.out)[: -options.keep_checkpoints]:
            shutil.rmtree(stale)
    accelerator.wait_for_everyone()


def lora_checkpoint_hooks(accelerator, transformer) -> None:
    """A LoRA checkpoint holds the adapters, not the frozen base (tens of GB at 13B)."""
    def save(models, weights, folder):
        if accelerator.is_main_process:
            from safetensors.torch import save_file

            save_file(lora.adapter_state(accelerator.unwrap_model(models[0])), os.path.join(folder, "adapter.safetensors"))
        weights.clear()

    def load(models, folder):
        from safetensors.torch import load_file

        lora.load_adapter_state(accelerator.unwrap_model(models.pop()), load_file(os.path.join(folder, "adapter.safetensors")))

    accelerator.register_save_state_pre_hook(save)
    accelerator.register_load_state_pre_hook(load)


def full_state_dict(accelerator, transformer) -> dict[str, torch.Tensor]:
    """Every weight, whole, on the main process's CPU (FSDP shards are gathered; all processes call)."""
    if accelerator.is_fsdp2:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        return get_model_state_dict(transformer, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return accelerator.get_state_dict(transformer)


def write_outputs(accelerator, transformer, options: TrainOptions, log) -> None:
    """RUN/transformer, and RUN/dmdl assembled with the decoder when one was given."""
    state = None if options.lora_rank else full_state_dict(accelerator, transformer)
    if not accelerator.is_main_process:
        return
    model = accelerator.unwrap_model(transformer)
    folder = options.out / "transformer"
    shutil.rmtree(folder, ignore_errors=True)
    if options.lora_rank:  # its config (ablation switches), the base's weights by link, the adapter
        folder.mkdir(parents=True)
        model.save_config(folder)
        base = (options.base / "transformer").resolve()
        for weights in base.iterdir():
            if weights.name.endswith((".safetensors", ".bin", ".index.json")) and weights.name != LORA_WEIGHTS:
                os.symlink(weights, folder / weights.name)
        lora.save_adapter(model, folder, LORA_WEIGHTS)
    else:  # a plain copy holds the gathered weights (built on "meta": no second allocation)
        with torch.device("meta"):
            plain = DMDLTransformer.from_config(model.config)
        plain.load_state_dict(state, assign=True)
        plain.save_pretrained(folder)
    log(f"transformer saved to {folder}")
    if options.layer_decoder is not None:
        final = options.out / "dmdl"
        shutil.rmtree(final, ignore_errors=True)
        assemble(options.base, folder, options.layer_decoder, final)
        log(f"DMDL folder for the editor: {final} (DMDL_CHECKPOINT={final})")


def make_logger(accelerator, out: Path) -> Callable[..., None]:
    """Print on the main process; numbers also go to RUN/log.jsonl (one JSON object a line)."""
    def log(message: str | None = None, **numbers) -> None:
        if not accelerator.is_main_process:
            return
        if message:
            print(message, flush=True)
        if numbers:
            with (out / "log.jsonl").open("a") as handle:
                handle.write(json.dumps(numbers) + "\n")
    return log


def make_accelerator(options: TrainOptions):
    """accelerate's Accelerator for this launch. accelerate runs FSDP on GPUs only; launched with
    an FSDP config on a machine without one (the CPU test and benchmark: gloo), the processes
    join as CPU workers and the FSDP plugin is switched on by hand, so the same sharded path runs."""
    from accelerate import Accelerator, PartialState
    from accelerate.state import AcceleratorState
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    fsdp_on_cpu = (os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true" and not torch.cuda.is_available()
                   and int(os.environ.get("WORLD_SIZE", "1")) > 1)
    if "WORLD_SIZE" not in os.environ:  # one process: a fresh state each run (tests train several in one process)
        AcceleratorState._reset_state(reset_partial_state=True)
    accelerator = Accelerator(mixed_precision=launch_mixed_precision(options), cpu=fsdp_on_cpu or None)
    if fsdp_on_cpu:
        accelerator.state.fsdp_plugin = FullyShardedDataParallelPlugin()
        accelerator.state.distributed_type = DistributedType.FSDP
        PartialState._shared_state["distributed_type"] = DistributedType.FSDP
    return accelerator


def apply_deepspeed_options(config: dict, options: TrainOptions) -> dict:
    """The run's options written into a ZeRO-3 launch's DeepSpeed config (in place).

    Under DeepSpeed the engine, not this loop, steps and clips: the micro batch goes in
    (no dataloader is prepared for accelerate to read it from), and so does `--grad-clip`
    (accelerate's clip call only reports the norm there; the launch config's value would
    otherwise win without a word). The loop steps the optimizer every batch.
    """
    if config.get("gradient_accumulation_steps", 1) not in (1, "auto"):
        raise DMDLError("The trainer steps the optimizer after every batch: set gradient_accumulation_steps to 1 "
                        "in the DeepSpeed launch config (raise --batch-size instead).")
    config["train_micro_batch_size_per_gpu"] = options.batch_size
    config["gradient_clipping"] = float(options.grad_clip)
    return config


def train(options: TrainOptions) -> dict:
    """The run; returns the last logged numbers (step, loss, validation loss)."""
    from accelerate.utils import set_seed

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    accelerator = make_accelerator(options)
    options = replace(options, mixed_precision=accelerator.mixed_precision)  # run.json says what ran
    set_seed(options.seed)
    options.out.mkdir(parents=True, exist_ok=True)
    log = make_logger(accelerator, options.out)
    if accelerator.is_main_process:
        (options.out / "run.json").write_text(json.dumps(options.to_json(), indent=1))

    # -- data: units, the on-disk cache, token-bucketed batches
    tdl = TDLDataset(options.data)
    train_specs, val_specs = unit_specs(options, tdl)
    cache = fill_cache(options, accelerator, tdl, train_specs + val_specs, log)
    train_set, val_set = CachedUnits(cache, train_specs), CachedUnits(cache, val_specs)

    # -- model and optimizer
    transformer = load_transformer(options)
    if options.lora_rank:
        trained = lora.add_lora(transformer, options.lora_rank, options.lora_alpha)
        lora_checkpoint_hooks(accelerator, transformer)
    else:
        trained = sum(p.numel() for p in transformer.parameters())
    optimizer = torch.optim.AdamW([p for p in transformer.parameters() if p.requires_grad],
                                  lr=options.lr, weight_decay=options.weight_decay)
    if accelerator.state.deepspeed_plugin is not None:
        apply_deepspeed_options(accelerator.state.deepspeed_plugin.deepspeed_config, options)
    transformer, optimizer = accelerator.prepare(transformer, optimizer)
    model = ModelView(transformer, accelerator.unwrap_model(transformer))
    schedule = TrainConfig(steps=options.steps, learning_rate=options.lr, warmup_steps=options.warmup)

    step = 0
    if options.resume and checkpoints(options.out):
        newest = checkpoints(options.out)[-1]
        accelerator.load_state(str(newest))
        step = json.loads((newest / "step.json").read_text())["step"]
        log(f"resumed from {newest.name} at step {step}")
    log(f"training {'LoRA adapters' if options.lora_rank else 'all weights'} ({trained / 1e6:.2f} M parameters), "
        f"rope {options.rope}, on {len(train_set)} samples ({len(val_set)} validation), "
        f"{accelerator.num_processes} process(es), steps {step}->{options.steps}")

    last: dict = {}
    if options.val_every and len(val_set) and step == 0:  # where the curve starts
        transformer.eval()
        last = {"step": 0, "val_loss": validation_loss(model, val_set, options, accelerator)}
        log(f"validation loss {last['val_loss']:.4f}", **last)
        transformer.train()

    # -- the loop
    rank, world = accelerator.process_index, accelerator.num_processes
    batches = TokenBucketBatches([s.tokens for s in train_specs], options.batch_size, options.bucket_tokens,
                                 options.seed, rank, world)
    loader = DataLoader(train_set, batch_sampler=batches.from_step(step), collate_fn=collate_units,
                        num_workers=options.num_workers)
    stream = iter(loader)
    started, tokens_seen = time.perf_counter(), 0
    transformer.train()
    while step < options.steps:
        units, clean, prompt = next(stream)
        sigma, noise = noise_for(units, step, options.seed, rank * options.batch_size, options.logit_normal_std)
        device = accelerator.device
        loss = flow_matching_loss(model, to(clean, device), to_prompt(prompt, device), sigma.to(device),
                                  noise.to(device), options.guidance_scale, per_sample=True)
        accelerator.backward(loss)
        if options.grad_clip:
            accelerator.clip_grad_norm_(transformer.parameters(), options.grad_clip)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, schedule)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1

        mean_loss = accelerator.reduce(loss.detach().float(), "mean").item()
        tokens_seen += int(accelerator.reduce(clean.valid.sum().to(device), "sum").item())
        last = {"step": step, "loss": mean_loss, "lr": learning_rate(step - 1, schedule)}
        if step % options.log_every == 0 or step == options.steps:
            rate = tokens_seen / (time.perf_counter() - started)
            log(f"step {step}/{options.steps}  loss {mean_loss:.4f}  lr {last['lr']:.2e}  {rate:.0f} tokens/s",
                **last, tokens_per_s=rate)
        if options.save_every and step % options.save_every == 0 and step < options.steps:
            save_checkpoint(accelerator, options, step)
        if options.val_every and step % options.val_every == 0 and len(val_set):
            transformer.eval()
            last["val_loss"] = validation_loss(model, val_set, options, accelerator)
            log(f"validation loss {last['val_loss']:.4f}", step=step, val_loss=last["val_loss"])
            transformer.train()
        if options.sample_every and step % options.sample_every == 0:
            write_samples(model, val_set or train_set, options, accelerator, step, log)

    # -- the end: a checkpoint to resume from, the validation loss, the folders the editor loads
    transformer.eval()
    save_checkpoint(accelerator, options, step)
    if len(val_set) and "val_loss" not in last:
        last["val_loss"] = validation_loss(model, val_set, options, accelerator)
        log(f"validation loss {last['val_loss']:.4f}", step=step, val_loss=last["val_loss"])
    write_outputs(accelerator, transformer, options, log)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return last
