"""Where a pipeline's weights wait between uses, for GPUs smaller than the checkpoint.

A DMDL checkpoint is HunyuanVideo-I2V's 13B transformer plus its text encoders, VAE and the
RGBA decoder: about 60 GB in bf16, more than most cards hold. diffusers (through
accelerate) can keep the weights in CPU memory and move to the GPU only what runs: one
whole model at a time ("model", about the transformer's size on the GPU, little slower)
or one layer at a time ("sequential", smallest, many times slower); with either the VAE
also works in tiles. This module is the one list of those modes and the one place that
applies them; it imports torch only when a pipeline is placed.
"""

from __future__ import annotations

from typing import Any

from engine.dmdl.errors import DMDLError

#: none: every weight on the device; model: one model at a time; sequential: one layer at a time.
OFFLOAD_MODES = ("none", "model", "sequential")


def offload_from_env(variable: str, value: str | None) -> str:
    """An offload variable's text as a mode: empty or "0"/"false" mean "none", "1"/"true"
    mean "model"; anything else must be one of OFFLOAD_MODES (a DMDLError naming `variable`)."""
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return "none"
    if text in ("1", "true", "yes", "on"):
        return "model"
    if text not in OFFLOAD_MODES:
        raise DMDLError(f"{variable} must be one of {', '.join(OFFLOAD_MODES)}; got {text!r}.")
    return text


def free_memory() -> None:
    """Return a dropped pipeline's memory now: its offload hooks keep references until a
    collection, and CUDA keeps freed blocks cached until asked to give them back."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def check_offload(mode: str) -> str:
    """`mode` if it is one of OFFLOAD_MODES, else a DMDLError saying which are."""
    if mode not in OFFLOAD_MODES:
        raise DMDLError(f"Offload must be one of {', '.join(OFFLOAD_MODES)}; got {mode!r}.")
    return mode


def place(pipe: Any, device: Any, offload: str = "none") -> Any:
    """Put a diffusers pipeline on `device` with `offload`; returns the pipeline.

    With offload the components' own `.device` is the CPU (or "meta") until their hooks
    run, so a pipeline must build its inputs on `pipe._execution_device`.
    """
    check_offload(offload)
    if offload == "sequential" and str(device).split(":")[0] == "cpu":
        # accelerate's layer-by-layer hooks fail when the execution device is the CPU itself
        # (and there is nothing to save: the weights are in CPU memory already).
        raise DMDLError(
            "Offloading layer by layer needs a GPU: on the CPU the weights are in CPU memory already; "
            "set offload to 'none'."
        )
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    vae = getattr(pipe, "vae", None)
    if offload != "none" and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
    return pipe


__all__ = ["OFFLOAD_MODES", "check_offload", "place"]
