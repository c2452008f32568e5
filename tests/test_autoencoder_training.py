"""Training the decoder: the command, checkpoints and resume, and that it really learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.data.tdl import TDLDataset, TDLSample, write_poster
from engine.dmdl import LayerDecoder, LayerEncoder
from engine.dmdl.autoencoder import to_float_rgba
from engine.dmdl.metrics import rgba_psnr
from engine.dmdl.train_decoder import TrainOptions, checkpoints, main, train
from engine.core.poster import Box


def moving_disc(frames: int, size: int, colour, start, velocity, radius: float, edge: float = 3.0) -> np.ndarray:
    """A disc gliding across a transparent square, with a soft edge `edge` px wide."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    clip = np.zeros((frames, size, size, 4), dtype=np.float32)
    for t in range(frames):
        distance = np.hypot(xx - start[0] - velocity[0] * t, yy - start[1] - velocity[1] * t)
        alpha = np.clip((radius - distance) / edge + 0.5, 0, 1)
        clip[t, ..., :3] = np.array(colour) * (alpha[..., None] > 0)
        clip[t, ..., 3] = alpha
    return (clip * 255 + 0.5).astype(np.uint8)


def write_discs(root: Path, posters: int = 2, per_poster: int = 2, frames: int = 5, size: int = 32) -> None:
    rng = np.random.default_rng(0)
    for p in range(posters):
        samples = []
        for i in range(per_poster):
            clip = moving_disc(
                frames, size, rng.uniform(0.1, 1.0, 3), rng.uniform(0.35, 0.65, 2) * size, rng.uniform(-2, 2, 2), rng.uniform(0.2, 0.3) * size
            )
            box = Box(32 * i, 32 * p, size, size)
            samples.append(
                TDLSample(f"p{p}", i + 1, f"disc {i}", "the disc glides", box, box, clip[0], clip, meta={"preset": "glide"})
            )
        write_poster(root, f"poster-{p}", 128, 128, samples)


def test_command_saves_safetensors_checkpoints_and_resumes(tmp_path, capsys):
    write_discs(tmp_path / "data", posters=2, per_poster=1)
    run = tmp_path / "run"
    common = ["--data", str(tmp_path / "data"), "--out", str(run), "--tiny-vae", "--log-every", "1", "--batch-size", "1"]
    assert main([*common, "--steps", "2", "--save-every", "1", "--variant", "EE"]) == 0
    assert [path.name for path in checkpoints(run)] == ["checkpoint-0000001", "checkpoint-0000002"]
    assert (run / "checkpoint-0000002" / "decoder" / "diffusion_pytorch_model.safetensors").exists()
    first = LayerDecoder.from_pretrained(run / "decoder", low_cpu_mem_usage=False)
    assert first.config.variant == "EE" and first.config.hidden_size == 128

    assert main([*common, "--steps", "3", "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "resumed from checkpoint-0000002 at step 2" in printed
    assert "step 3/3" in printed and "| validation | 1 |" in printed
    assert checkpoints(run)[-1].name == "checkpoint-0000003"
    resumed = LayerDecoder.from_pretrained(run / "decoder", low_cpu_mem_usage=False)
    assert resumed.config.variant == "EE"  # resume keeps the checkpoint's architecture
    assert not torch.equal(resumed.linear_out.weight, first.linear_out.weight)  # and trains on


def test_command_explains_a_missing_dataset(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "none"), "--out", str(tmp_path / "run"), "--tiny-vae"]) == 2
    assert "not a TDL dataset" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_decoder_overfits_a_handful_of_clips_to_30_db(tmp_path):
    write_discs(tmp_path / "data", posters=2, per_poster=2, size=24)
    options = TrainOptions(
        data=tmp_path / "data", out=tmp_path / "run", steps=1500, batch_size=8, lr=2e-3,
        val_posters=0, log_every=25, save_every=0, target_psnr=31.0,
    )
    result = train(options, log=lambda line: None)
    assert result.step < 1500, "did not reach the target within the step budget"
    # check independently: reload what was saved and decode through the public API
    encoder = LayerEncoder.from_pretrained(tmp_path / "run" / "vae")
    decoder = LayerDecoder.from_pretrained(result.decoder_dir, low_cpu_mem_usage=False)
    dataset = TDLDataset(tmp_path / "data")
    samples = list(dataset)
    latents = [encoder.encode(sample.frames) for sample in samples]
    decoded = decoder.decode(latents, [sample.motion_box for sample in samples])
    scores = [rgba_psnr(clip, to_float_rgba(sample.frames)) for clip, sample in zip(decoded, samples)]
    assert min(scores) >= 30.0, scores
