"""LoRA through peft: adapters on the attention projections, saved alone, applied at load.

A 13B full fine-tune needs ~200 GB of optimizer state (sharded over many GPUs by FSDP or
ZeRO-3); LoRA trains a few million adapter weights on one GPU. What is saved is only the
adapter (`LORA_WEIGHTS` in the transformer folder, diffusers' LoRA format) beside the base
model's config and links to its weights: `DMDLTransformer.from_pretrained` finds the file,
applies the adapter and merges it into the weights, so the editor's `dmdl` engine loads
the folder unchanged and samples at full speed.
"""

from __future__ import annotations

from pathlib import Path

import torch

#: HunyuanVideo's attention projections, in the dual-stream and single-stream blocks
#: (the token refiner's are left frozen: it reads text only).
LORA_TARGETS = r".*(transformer_blocks|single_transformer_blocks)\.\d+\.attn\.(to_q|to_k|to_v|to_out\.0|add_q_proj|add_k_proj|add_v_proj|to_add_out)"
ADAPTER_NAME = "dmdl"


def add_lora(transformer, rank: int, alpha: float | None = None) -> int:
    """Freeze the transformer and give it trainable LoRA adapters; returns their parameter count."""
    from peft import LoraConfig

    transformer.requires_grad_(False)
    config = LoraConfig(r=rank, lora_alpha=alpha or rank, target_modules=LORA_TARGETS, init_lora_weights="gaussian")
    transformer.add_adapter(config, adapter_name=ADAPTER_NAME)
    trainable = [p for p in transformer.parameters() if p.requires_grad]
    for parameter in trainable:  # adapters train in fp32 whatever the base's dtype (master weights)
        parameter.data = parameter.data.float()
    return sum(p.numel() for p in trainable)


def adapter_state(transformer) -> dict[str, torch.Tensor]:
    """The adapter's weights only (what a checkpoint and the final folder keep)."""
    from peft import get_peft_model_state_dict

    return get_peft_model_state_dict(transformer, adapter_name=ADAPTER_NAME)


def load_adapter_state(transformer, state: dict[str, torch.Tensor]) -> None:
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(transformer, state, adapter_name=ADAPTER_NAME)
    if getattr(result, "unexpected_keys", None):
        raise RuntimeError(f"The LoRA checkpoint does not fit this model: {result.unexpected_keys[:3]}")


def save_adapter(transformer, folder: Path, weight_name: str) -> None:
    transformer.save_lora_adapter(folder, adapter_name=ADAPTER_NAME, weight_name=weight_name)
