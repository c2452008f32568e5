"""`python -m engine.dmdl.train`: TDL -> cached latents -> training -> a folder the editor animates with.

Everything runs the real code on tiny random weights (tests/helpers/dmdl_train_tiny): the
decoder part, the transformer part (full, LoRA, resumed), and two CPU processes under
`accelerate launch` with FSDP, whose losses must equal one process's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from engine.core.poster import Box
from engine.dmdl.train import main
from engine.dmdl.transformer import LORA_WEIGHTS, DMDLTransformer
from engine.motion.base import MotionRequest
from engine.motion.dmdl_engine import DMDLAnimator
from tests.helpers.dmdl_tiny import one_thread  # noqa: F401 (autouse fixture)
from tests.helpers.dmdl_train_tiny import tiny_base, tiny_tdl
from tests.helpers.layers import solid_layer
from tests.helpers.paths import REPO_ROOT


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("dmdl-train")
    return tiny_base(root / "base"), tiny_tdl(root / "tdl")


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def losses(run: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in records(run) if "loss" in r}


def common(inputs, out: Path, *extra: str) -> list[str]:
    base, tdl = inputs
    return ["--data", str(tdl), "--base", str(base), "--out", str(out), "--log-every", "1", *extra]


@pytest.fixture(scope="module")
def decoder(inputs, tmp_path_factory) -> Path:
    """The RGBA decoder, trained (briefly) by the same launcher's decoder part, Table 5's EE layout."""
    base, tdl = inputs
    out = tmp_path_factory.mktemp("decoder")
    assert main(["decoder", "--data", str(tdl), "--base", str(base), "--out", str(out), "--steps", "2",
                 "--decoder", "ee", "--log-every", "1", "--mixed-precision", "bf16", "--gradient-checkpointing"]) == 0
    cached = list((out / "latents").glob("*/*.safetensors"))
    assert cached and all(load_file(p)["latent"].shape[0] == 16 for p in cached)  # on disk, one file per clip
    return out / "decoder"


def test_trains_saves_and_the_editor_animates_with_the_result(inputs, decoder, tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert main(common(inputs, run, "--steps", "30", "--lr", "3e-3", "--rope", "3d-mask", "--layer-decoder",
                       str(decoder), "--val-every", "30", "--sample-every", "30", "--sample-steps", "2")) == 0
    curve = [r["val_loss"] for r in records(run) if "val_loss" in r]
    assert len(curve) == 2 and curve[1] < 0.9 * curve[0], curve  # fixed-noise validation loss falls
    assert len(losses(run)) == 30

    config = json.loads((run / "transformer" / "config.json").read_text())
    assert config["_class_name"] == "DMDLTransformer"
    assert (config["rope_layer_spacing"], config["layer_isolation"]) == (0.0, True)  # the ablation, recorded
    [sample] = (run / "samples" / "step-0000030").glob("layer-0.png")
    with Image.open(sample) as animation:
        assert animation.mode == "RGBA" and animation.n_frames == 5

    monkeypatch.setenv("DMDL_CHECKPOINT", str(run / "dmdl"))
    monkeypatch.setenv("DMDL_DEVICE", "cpu")
    monkeypatch.delenv("DMDL_OFFLOAD", raising=False)
    sun = solid_layer(2, "Sun", Box(20, 10, 12, 12), (250, 200, 40, 200))
    request = MotionRequest(layer=sun, box=Box(16, 0, 32, 32), prompt="the sun rises", frames=5, params={"steps": 2})
    [clip] = DMDLAnimator().animate([request])
    frames = np.asarray(clip.frames)
    assert clip.engine == "dmdl" and frames.shape == (5, 32, 32, 4)
    assert frames[1:].any() and not np.array_equal(frames[1], frames[4])  # generated motion, not a still


def test_resume_continues_from_the_same_step_with_the_same_losses(inputs, tmp_path):
    run = tmp_path / "run"
    args = common(inputs, run, "--steps", "6", "--save-every", "3", "--keep-checkpoints", "3", "--lr", "3e-3",
                  "--batch-size", "2")
    assert main(args) == 0
    straight = losses(run)
    # interrupt after step 3: only what existed then is left
    for stale in ("checkpoints/step-0000006", "transformer"):
        subprocess.run(["rm", "-rf", str(run / stale)], check=True)
    (run / "log.jsonl").write_text("")
    assert main([*args, "--resume"]) == 0
    resumed = losses(run)
    assert sorted(resumed) == [4, 5, 6]
    for step in resumed:
        assert resumed[step] == pytest.approx(straight[step], rel=1e-6, abs=1e-7), step


def test_lora_saves_only_the_adapter_and_the_folder_loads_merged(inputs, tmp_path):
    base, _ = inputs
    run = tmp_path / "run"
    assert main(common(inputs, run, "--steps", "2", "--lora-rank", "4", "--lr", "1e-2", "--save-every", "1",
                       "--mixed-precision", "bf16", "--gradient-checkpointing")) == 0
    folder = run / "transformer"
    adapter = load_file(folder / LORA_WEIGHTS)
    assert adapter and all("lora" in key for key in adapter)
    assert (folder / "diffusion_pytorch_model.safetensors").is_symlink()  # the base's weights, not a copy
    checkpoint = run / "checkpoints" / "step-0000002"
    assert (checkpoint / "adapter.safetensors").is_file() and not list(checkpoint.glob("model*.safetensors"))

    trained = DMDLTransformer.from_pretrained(folder)
    pretrained = DMDLTransformer.from_pretrained(base / "transformer")
    assert not any("lora" in name for name, _ in trained.named_parameters())  # merged at load
    q = "transformer_blocks.0.attn.to_q.weight"
    assert not torch.equal(trained.state_dict()[q], pretrained.state_dict()[q])
    norm = "norm_out.linear.weight"  # frozen parts are untouched
    assert torch.equal(trained.state_dict()[norm], pretrained.state_dict()[norm])


def test_two_processes_with_fsdp_match_one_process(inputs, tmp_path):
    single, cache = tmp_path / "single", tmp_path / "cache"
    assert main(common(inputs, single, "--steps", "2", "--batch-size", "2", "--lr", "3e-3", "--cache", str(cache))) == 0
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
              str(REPO_ROOT / "configs" / "accelerate" / "fsdp_cpu_2proc.yaml"), "-m", "engine.dmdl.train",
              *common(inputs, tmp_path / "fsdp", "--steps", "2", "--batch-size", "1", "--lr", "3e-3", "--cache", str(cache))]
    result = subprocess.run(launch, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 process(es)" in result.stdout
    sharded, alone = losses(tmp_path / "fsdp"), losses(single)
    assert sorted(sharded) == [1, 2]
    for step in (1, 2):  # step 2 follows an FSDP optimizer step: the gradients were right too
        assert sharded[step] == pytest.approx(alone[step], rel=1e-4), (step, sharded, alone)
    assert (tmp_path / "fsdp" / "transformer" / "diffusion_pytorch_model.safetensors").is_file()
