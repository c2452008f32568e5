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
from engine.data.tdl import TDLDataset
from engine.dmdl.autoencoder import latent_frame_count
from engine.dmdl.resample import frames_to_generated
from engine.dmdl.train import main
from engine.dmdl.train.cache import plan_units
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


def test_samples_are_scaled_as_the_engine_scales_layers_before_caching(inputs, tmp_path):
    """The synthetic posters are 128×96 with units spanning up to 64 px: at --resolution 48
    every unit is scaled (one factor) until its boxes' union fits 48 px, boxes snapped out to
    the token lattice, and its latents are cached at that size; at the default (512, the
    paper's) they are trained as stored. The two caches are kept apart."""
    base, tdl_folder = inputs
    cache = tmp_path / "cache"
    for side in (48, 512):
        assert main(common(inputs, tmp_path / f"run-{side}", "--steps", "1", "--resolution", str(side),
                           "--cache", str(cache))) == 0
    folders = [f for f in cache.iterdir() if f.is_dir()]
    assert len(folders) == 2  # the resolution is part of the cache key
    tdl = TDLDataset(tdl_folder)
    for side in (48, 512):
        specs = plan_units(tdl, tdl.split_indices("train"), 4, side)
        matching = [f for f in folders if all(cached_at_training_scale(f, spec, tdl) for spec in specs)]
        assert len(matching) == 1, side
        for spec in specs:
            generated = [b.generated for b in spec.boxes]
            if side == 512:
                assert all(b.scale == 1.0 and b.generated == b.poster for b in spec.boxes)
                sample = tdl.load(spec.indices[0])
                assert np.array_equal(frames_to_generated(sample.frames, spec.boxes[0]), sample.frames)
                continue
            assert all(b.scale < 1.0 for b in spec.boxes)
            left, top = min(g.x for g in generated), min(g.y for g in generated)
            assert max(g.right for g in generated) - left <= side and max(g.bottom for g in generated) - top <= side
            assert left >= 0 and top >= 0
            for b in spec.boxes:  # each layer's box, scaled, lies inside its generated box
                p, g, s = b.poster, b.generated, b.scale
                assert g.x <= p.x * s and g.y <= p.y * s and g.right >= p.right * s and g.bottom >= p.bottom * s
            index, box = spec.indices[0], spec.boxes[0]
            original = tdl.load(index).frames
            scaled = frames_to_generated(original, box)
            coverage = scaled[..., 3].astype(float).sum() / original[..., 3].astype(float).sum()
            assert coverage == pytest.approx(box.scale**2, rel=0.1)  # drawn smaller, not cropped


def cached_at_training_scale(folder: Path, spec, tdl: TDLDataset) -> bool:
    """Does `folder` hold `spec`'s unit with latents and placements at its generated boxes?"""
    from safetensors import safe_open

    path = folder / f"{spec.name}.safetensors"
    if not path.is_file():
        return False
    with safe_open(path, "pt") as handle:
        placements = json.loads(handle.metadata()["placements"])
    tensors = load_file(path)
    for slot, (index, box) in enumerate(zip(spec.indices, spec.boxes)):
        g = box.generated
        frames = latent_frame_count(tdl.refs[index].frames)
        if tuple(tensors[f"latent.{slot}"].shape[1:]) != (frames, g.h // 8, g.w // 8):
            return False
        if placements[slot] != [slot, g.y // 16, g.x // 16]:
            return False
    return True
