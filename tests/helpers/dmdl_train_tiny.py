"""A tiny HunyuanVideo-I2V base and a synthetic TDL folder for the trainer's tests and benchmark.

The base is laid out as diffusers saves the real checkpoint (tests/helpers/dmdl_tiny), with a
transformer that reads the tiny VAE's 16 latent channels, so VAE -> transformer -> decoder
chain end to end. The TDL folder is engine.data.synthetic's (soft shapes, procedural drift):
splits.json keeps one poster out for validation and, for the fitting checks, one training
poster in validation too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from diffusers import HunyuanVideoTransformer3DModel

from engine.data.synthetic import DriftAnimator, generate
from engine.data.tdl import TDLDataset, write_splits
from tests.helpers.dmdl_tiny import HUNYUAN_I2V_TINY, hunyuan_i2v_checkpoint, perturb

LATENT_CHANNELS = 16
#: The words of the synthetic prompts ("disc-2: drifts gently"): known to the tiny encoders,
#: the layers of a poster get different prompts, so training runs per-layer modulation.
SYNTHETIC_WORDS = ("disc", "ring", "box", "drifts", "1", "2", "3")


def tiny_base(directory: Path, **transformer) -> Path:
    """A HunyuanVideo-I2V-shaped folder whose transformer matches its VAE (16 channels);
    `transformer` overrides its size (the benchmark's small configuration)."""
    hunyuan_i2v_checkpoint(directory, SYNTHETIC_WORDS)
    shutil.rmtree(directory / "transformer")
    torch.manual_seed(0)
    config = {**HUNYUAN_I2V_TINY, "in_channels": LATENT_CHANNELS, "out_channels": LATENT_CHANNELS, **transformer}
    perturb(HunyuanVideoTransformer3DModel(**config)).save_pretrained(directory / "transformer")
    return directory


def tiny_tdl(directory: Path, posters: int = 4, frames: int = 5, source: str = "shapes") -> Path:
    """Synthetic posters of soft shapes drifting; the last poster is held out, the first
    training poster is validated on as well (so the validation loss shows fitting)."""
    generate(directory, posters=posters, frames=frames, seed=0, source=source, animator=DriftAnimator())
    names = sorted(TDLDataset(directory).poster_groups())
    write_splits(directory, {"train": names[:-1], "val": [names[0], names[-1]]})
    return directory
