"""The trainer's options: one table drives the command line, the saved run config and the docs.

The paper's ablations are switches here, written into the saved transformer config so a
trained folder says what it is: Table 4's position encodings (`--rope`) and Table 5's
decoder layouts (`--decoder`, read by the decoder part).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from engine.dmdl.scale import TRAINED_SIDE
from engine.dmdl.transformer import DEFAULT_LAYER_SPACING

#: Table 4: how layers are told apart. `rope_layer_spacing` 0 is 3D-RoPE (layers share
#: positions); "3d-mask" adds the isolation mask of eq. 9; "4d" is the paper's 4D-RoPE on the
#: frequency-preserving shared frame band (engine.dmdl.rope).
ROPE_MODES: dict[str, dict[str, Any]] = {
    "3d": dict(rope_layer_spacing=0.0, layer_isolation=False),
    "3d-mask": dict(rope_layer_spacing=0.0, layer_isolation=True),
    "4d": dict(rope_layer_spacing=DEFAULT_LAYER_SPACING, layer_isolation=False),
}

#: Table 5: the RGBA decoder layouts (engine.dmdl.layer_decoder.LAYOUTS), by their switch name.
DECODER_VARIANTS: dict[str, str] = {"vit": "VIT", "ee": "EE", "se": "SE", "sm": "SM"}

#: `--mixed-precision` values, as accelerate names them: autocast on fp32 master weights.
MIXED_PRECISION = ("no", "bf16", "fp16")


@dataclass
class TrainOptions:
    """Everything one transformer run reads; saved as run.json beside its checkpoints."""

    data: Path
    base: Path
    out: Path
    layer_decoder: Path | None = None
    cache: Path | None = None
    rope: str = "4d"
    lora_rank: int = 0  # 0: full fine-tune (FSDP / ZeRO-3 at scale); > 0: LoRA adapters on one GPU
    lora_alpha: float | None = None
    steps: int = 1000
    batch_size: int = 1  # per process
    lr: float = 1e-4
    weight_decay: float = 0.0
    warmup: int = 0
    grad_clip: float = 1.0
    guidance_scale: float = 1.0
    logit_normal_std: float = 1.0
    mixed_precision: str | None = None  # None: the accelerate launch config's (ACCELERATE_MIXED_PRECISION), else "no"
    gradient_checkpointing: bool = False
    max_layers: int = 4
    resolution: int = TRAINED_SIDE  # the paper trains within 512 px; the dmdl engine's `resolution` default
    bucket_tokens: int = 256
    seed: int = 0
    log_every: int = 10
    save_every: int = 500
    keep_checkpoints: int = 2
    val_every: int = 0
    sample_every: int = 0
    sample_steps: int = 20
    resume: bool = False
    num_workers: int = 0

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


HELP = {
    "data": "TDL folder (python -m engine.data.build writes one; its splits.json holds posters out for validation)",
    "base": "HunyuanVideo-I2V diffusers folder (or a DMDL folder to continue from)",
    "out": "run folder: latent cache, checkpoints, log.jsonl, samples, the final DMDL folder in OUT/dmdl",
    "layer_decoder": "trained RGBA decoder (python -m engine.dmdl.train decoder); needed for sample videos "
                     "and for the editor-ready OUT/dmdl folder",
    "cache": "latent cache folder (default OUT/cache); runs on the same data and base share it (ablations)",
    "rope": "Table 4 ablation: 3d, 3d-mask (3D-RoPE + isolation mask) or 4d (the paper's 4D-RoPE)",
    "lora_rank": "train LoRA adapters of this rank (peft) instead of every weight: one GPU",
    "lora_alpha": "LoRA scale numerator (default: the rank)",
    "batch_size": "samples per process per step; a sample is one poster's layers (or one group)",
    "mixed_precision": "bf16/fp16 autocast with fp32 master weights, or no (default: the accelerate launch "
                       "config's mixed_precision, else no)",
    "gradient_checkpointing": "recompute block activations in the backward pass (memory for time)",
    "max_layers": "layers per sample at most; a poster with more is split",
    "resolution": f"longest side in pixels of a sample's canvas (the union of its layers' motion boxes): larger "
                  f"ones are scaled down as the dmdl engine scales them (default {TRAINED_SIDE}, the paper's; "
                  "never enlarged)",
    "bucket_tokens": "batches hold samples whose token counts round up to the same multiple of this",
    "val_every": "validation loss every N steps (0: only at the end)",
    "sample_every": "sample videos of the validation posters every N steps (0: never)",
    "resume": "continue from the newest checkpoint in OUT: same step, optimizer and RNG state",
}


def build_parser(prog: str) -> argparse.ArgumentParser:
    """argparse from the TrainOptions table: a field is one flag (underscores become dashes)."""
    parser = argparse.ArgumentParser(prog=prog, description="Fine-tune DMDL's transformer on a TDL folder.")
    for field in fields(TrainOptions):
        flag = "--" + field.name.replace("_", "-")
        default, kind = field.default, field.type
        extra: dict[str, Any] = {"help": HELP.get(field.name)}
        if field.name in ("data", "base", "out"):
            parser.add_argument(flag, type=Path, required=True, **extra)
        elif field.name in ("layer_decoder", "cache"):
            parser.add_argument(flag, type=Path, default=None, **extra)
        elif field.name == "rope":
            parser.add_argument(flag, choices=sorted(ROPE_MODES), default=default, **extra)
        elif field.name == "mixed_precision":
            parser.add_argument(flag, choices=MIXED_PRECISION, default=None, **extra)
        elif isinstance(default, bool):
            parser.add_argument(flag, action="store_true", **extra)
        elif field.name == "lora_alpha":
            parser.add_argument(flag, type=float, default=None, **extra)
        else:
            parser.add_argument(flag, type={"int": int, "float": float}[kind], default=default, **extra)
    return parser


def launch_mixed_precision(options: TrainOptions) -> str:
    """The run's mixed precision: the option when given, else what `accelerate launch` passes
    on from its config file (as accelerate itself reads it), else none. Under ZeRO-3 this is
    also what DeepSpeed's bf16/fp16 section is filled from."""
    chosen = options.mixed_precision or os.environ.get("ACCELERATE_MIXED_PRECISION", "no").lower()
    if chosen not in MIXED_PRECISION:
        raise ValueError(f"Mixed precision must be one of {', '.join(MIXED_PRECISION)}, not {chosen!r}.")
    return chosen


def parse_args(argv: list[str] | None, prog: str = "python -m engine.dmdl.train") -> TrainOptions:
    return TrainOptions(**vars(build_parser(prog).parse_args(argv)))
