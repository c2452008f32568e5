"""The paper's ablations in the evaluation harness: Table 4's wiring, Table 5's runner, and
the intervals both print (engine.eval.stats, rope_ablation, decoder_ablation).

Models are tiny and random, budgets a few steps: what is tested is that three variants
really are three different models, that the tables have their rows, intervals and the
paper's columns, and that an interval is the one its formula gives.
"""

from __future__ import annotations

import math

import pytest
import torch

from engine.core.poster import PosterError
from engine.data.synthetic import generate as make_synthetic
from engine.dmdl.autoencoder import tiny_vae
from engine.eval.__main__ import main as eval_main
from engine.eval.decoder_ablation import (
    ROUND_TRIP, TRANSPARENT, DecoderAblation, DecoderBudget, SampleScores, decoder_table, run_decoder_ablation,
    verdict,
)
from engine.eval.paper import PUBLISHED_ROPE_ABLATION
from engine.eval.rope_ablation import ROPE_VARIANTS, parse_checkpoints, rope_transformer
from engine.eval.stats import bootstrap_interval, paired_difference, t_interval
from tests.helpers.dmdl_tiny import HUNYUAN_I2V_TINY, one_thread, place, random_prompt, run, latent  # noqa: F401
from engine.dmdl.packing import pack_layers


@pytest.fixture(scope="module")
def tdl(tmp_path_factory):
    root = tmp_path_factory.mktemp("tdl-ablation")
    make_synthetic(root, posters=3, frames=5, seed=2, layers_per_poster=2)
    return root


# --- intervals ----------------------------------------------------------------------------


def test_t_interval_of_known_values():
    # mean 3, s = sqrt(2.5), t(0.975, 4) = 2.776445105: half-width 2.776445105 * sqrt(2.5) / sqrt(5)
    interval = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.7764451051977934 * math.sqrt(2.5) / math.sqrt(5)
    assert interval.mean == pytest.approx(3.0)
    assert (interval.low, interval.high) == pytest.approx((3.0 - half, 3.0 + half))
    assert interval.format(2) == "3.00 ± 1.96"
    assert t_interval([2.0]).format(2) == "2.00"  # one seed: no interval claimed


def test_paired_difference_sees_a_steady_lead_that_overlapping_intervals_hide():
    a, b = [10.0, 12.0, 14.0], [9.5, 11.4, 13.6]  # a wins every pair by ~0.5
    assert t_interval(a).low < t_interval(b).high  # the two intervals overlap...
    difference = paired_difference(a, b)
    assert difference.mean == pytest.approx(0.5)
    assert difference.excludes_zero() and difference.low > 0  # ...yet the lead is certain
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 2.0])


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean():
    values = [float(v) for v in range(20)]
    first, second = bootstrap_interval(values, seed=3), bootstrap_interval(values, seed=3)
    assert first == second
    assert first.mean == pytest.approx(9.5) and first.low < 9.5 < first.high
    assert first.high - first.low < 8  # the standard error is ~1.3: the interval is about ±2.6
    assert bootstrap_interval([4.0] * 5).half_width == 0.0


# --- Table 4 ------------------------------------------------------------------------------


def test_three_rope_variants_are_three_differently_wired_models_with_the_same_weights():
    models = {key: rope_transformer(HUNYUAN_I2V_TINY, key, seed=0).eval() for key in ROPE_VARIANTS}
    configs = {key: (m.config.rope_layer_spacing, m.config.layer_isolation) for key, m in models.items()}
    assert configs["3d"] == (0.0, False) and configs["3d-mask"] == (0.0, True)
    assert configs["4d"][0] > 0 and configs["4d"][1] is False
    weights = [m.state_dict() for m in models.values()]
    assert all(torch.equal(weights[0][k], w[k]) for w in weights[1:] for k in weights[0])

    # two layers on the same box, each with its own prompt: the wiring changes the prediction
    layers = [latent(2, 2, 2, seed=1), latent(2, 2, 2, seed=2)]
    packed = pack_layers([layers], [[place(0, 0, 0), place(1, 0, 0)]])
    owner = torch.tensor([[0, 0, 0, 1, 1, 1]])
    prompt = random_prompt(batch=1, length=6, seed=4, owner=owner)
    outputs = {key: run(m, packed, prompt) for key, m in models.items()}
    for a, b in (("3d", "3d-mask"), ("3d", "4d"), ("3d-mask", "4d")):
        assert not torch.allclose(outputs[a], outputs[b], atol=1e-5), (a, b)


def test_checkpoint_arguments_are_checked():
    assert parse_checkpoints(["4d=/runs/a", "3d=/runs/b"]) == [("4d", "/runs/a"), ("3d", "/runs/b")]
    for bad in (["5d=/x"], ["4d"], ["4d=/a", "4d=/b"]):
        with pytest.raises(PosterError):
            parse_checkpoints(bad)


def test_rope_ablation_through_the_harness_writes_table_4(tdl, tmp_path, monkeypatch, capsys):
    from tests.helpers.dmdl_tiny import tiny_dmdl_folder

    monkeypatch.setenv("DMDL_DEVICE", "cpu")
    argv = ["--data", str(tdl), "--ablation", "rope", "--out", str(tmp_path / "out"), "--quiet",
            "--param", "dmdl.steps=1"]
    for key, (_, config) in ROPE_VARIANTS.items():
        argv += ["--checkpoint", f"{key}={tiny_dmdl_folder(tmp_path, f'dmdl-{key}', **config)}"]
    assert eval_main(argv) == 0
    text = (tmp_path / "out" / "tables.md").read_text()
    assert "Table 4" in text and "(joint setting" in text
    rows = [line for line in text.splitlines() if line.startswith("| 3D-RoPE") or line.startswith("| 4D-RoPE")]
    assert [r.split(" | ")[0].strip("| ") for r in rows] == ["3D-RoPE", "3D-RoPE+AM", "4D-RoPE"]
    for row, (name, published) in zip(rows, PUBLISHED_ROPE_ABLATION.items()):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[-3:] == [f"{published['PSNR']:.2f}", f"{published['SSIM']:.3f}", f"{published['LPIPS']:.3f}"]
        assert "[" in cells[3]  # our PSNR carries its bootstrap interval
    assert eval_main(["--data", str(tdl), "--ablation", "rope", "--engine", "presets",
                      "--checkpoint", "4d=/x", "--out", str(tmp_path / "bad")]) == 2
    assert "no --engine" in capsys.readouterr().err


# --- Table 5 ------------------------------------------------------------------------------


def test_decoder_ablation_runner_writes_means_intervals_and_the_transparent_baseline(tdl, tmp_path):
    vae_dir = tmp_path / "vae"
    tiny_vae(0).save_pretrained(vae_dir)
    budget = DecoderBudget(steps=2, lr=1e-3, batch_size=2, config="tiny", val_posters=1)
    result = run_decoder_ablation(tdl, vae_dir, tmp_path / "runs", ["SM", "EE"], [0, 1], budget,
                                  log=lambda line: None)
    assert sorted(result.runs) == ["EE", "SM"] and all(sorted(r) == [0, 1] for r in result.runs.values())
    per_seed = [result.runs["SM"][s].mean_psnr for s in (0, 1)]
    assert result.interval("SM", "PSNR") == t_interval(per_seed)
    assert per_seed[0] != per_seed[1]  # the seeds really are different runs
    floor = result.references[TRANSPARENT]
    assert len(floor.psnr) == result.samples == len(result.runs["SM"][0].psnr)

    text = decoder_table(result)
    assert "2 seeds" in text and "t over seeds" in text
    for label in ("| ViT+SM |", "| ViT+EE |", "| (all transparent) |", "| (encoder round trip) |"):
        assert label in text
    sm_row = next(line for line in text.splitlines() if line.startswith("| ViT+SM |"))
    assert "±" in sm_row and "29.83" in sm_row  # mean ± interval, paper column beside it
    assert verdict(result).startswith("inconclusive")  # two random-ish steps reconstruct nothing

    again = run_decoder_ablation(tdl, vae_dir, tmp_path / "runs", ["SM"], [1], budget, log=pytest.fail)
    assert again.runs["SM"][1].psnr == result.runs["SM"][1].psnr  # resumed: read back, not retrained


def _ablation(means: dict[str, list[float]], round_trip: float) -> DecoderAblation:
    """A hand-made Table 5 result: per variant, one PSNR per seed (the same on both clips)."""
    result = DecoderAblation([0, 1, 2], DecoderBudget(), samples=2)
    result.references[TRANSPARENT] = SampleScores([14.0, 14.0], [0.7, 0.7])
    result.references[ROUND_TRIP] = SampleScores([round_trip] * 2, [0.9, 0.9])
    for variant, per_seed in means.items():
        result.runs[variant] = {s: SampleScores([v, v], [0.8, 0.8]) for s, v in enumerate(per_seed)}
    return result


def test_the_verdict_needs_an_encoder_that_carries_the_layers_then_follows_the_paired_intervals():
    ordered = {"SM": [20.0, 20.5, 21.0], "SE": [19.0, 19.4, 20.1], "EE": [18.0, 18.5, 19.0]}
    assert verdict(_ablation(ordered, round_trip=14.04)).startswith("inconclusive: the frozen encoder")
    assert verdict(_ablation(ordered, round_trip=22.0)) == "reproduces: SM > SE > EE with 95 % confidence"
    swapped = {**ordered, "SM": [18.9, 19.3, 20.0]}
    assert verdict(_ablation(swapped, round_trip=22.0)).startswith("does not reproduce: SM < SE")
    noisy = {**ordered, "SM": [21.0, 18.0, 20.5]}
    assert verdict(_ablation(noisy, round_trip=22.0)).startswith("inconclusive: SM vs SE")
    idle = {**ordered, "EE": [13.5, 14.2, 14.1]}
    assert "EE do not beat all-transparent" in verdict(_ablation(idle, round_trip=22.0))
