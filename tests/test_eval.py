"""The evaluation harness (engine.eval): metric sanity, and the whole loop on a synthetic TDL.

Feature networks are random and made here (tests/helpers/eval_tiny.py), so the numbers
mean nothing in absolute terms; what is tested is what makes a metric trustworthy:
identical clips score perfectly, a shifted or blurred clip scores worse on every metric,
two runs with one seed agree, and a second run resumes from the cache.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from scipy import ndimage

from engine.core.poster import PosterError
from engine.data.synthetic import generate as make_synthetic
from engine.data.tdl import TDLDataset, TDLSample, write_poster, write_splits
from engine.eval.__main__ import main as eval_main
from engine.eval.fvd import I3DFeatures, frechet_distance
from engine.eval.generate import ClipCache, EngineSpec
from engine.eval.harness import evaluate
from engine.eval.lpips import LPIPS
from engine.dmdl.metrics import over_gray
from engine.eval.metrics import score_clip
from tests.helpers import i2v_tiny
from tests.helpers.dmdl_tiny import one_thread  # noqa: F401 (autouse fixture)
from tests.helpers.eval_tiny import random_lpips_backbone, tiny_i3d


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval-nets")
    lpips_path, i3d_path = random_lpips_backbone(folder / "alex.pth"), tiny_i3d(folder / "i3d.pt")
    return LPIPS.from_file(lpips_path), I3DFeatures(i3d_path), lpips_path, i3d_path


@pytest.fixture(scope="module")
def tdl(tmp_path_factory):
    root = tmp_path_factory.mktemp("tdl")
    make_synthetic(root, posters=4, frames=5, seed=1, layers_per_poster=2)
    return root


def _clip(seed: int = 0, frames: int = 5, size: int = 72) -> np.ndarray:
    """A textured disc moving right: RGBA uint8 (T, size, size, 4)."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.random((size, size, 3)), sigma=(2, 2, 0))
    texture = (255 * (noise - noise.min()) / np.ptp(noise)).astype(np.uint8)
    yy, xx = np.mgrid[:size, :size]
    out = np.zeros((frames, size, size, 4), np.uint8)
    for t in range(frames):
        disc = (xx - 24 - 3 * t) ** 2 + (yy - 36) ** 2 < 18**2
        out[t, ..., :3] = texture
        out[t, ..., 3] = np.where(disc, 255, 0)
    return out


def _shift(clip: np.ndarray, pixels: int) -> np.ndarray:
    return np.roll(clip, pixels, axis=2)


def _noisy(clip: np.ndarray, seed: int) -> np.ndarray:
    """The clip with ±2 levels of noise on colour and alpha: barely different."""
    noise = np.random.default_rng(seed).integers(-2, 3, clip.shape)
    return np.clip(clip.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def _blur(clip: np.ndarray) -> np.ndarray:
    return ndimage.uniform_filter(clip.astype(np.float32), size=(1, 5, 5, 1)).round().astype(np.uint8)


def test_identical_clips_score_perfectly(nets):
    lpips, i3d, _, _ = nets
    clip = _clip()
    score = score_clip(clip, clip, lpips)
    assert math.isinf(score.psnr) and score.ssim == pytest.approx(1.0) and score.lpips == pytest.approx(0.0, abs=1e-6)
    features = np.concatenate([i3d(over_gray(_clip(s)).permute(0, 3, 1, 2)[None]) for s in range(4)])
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("damage", [lambda c: _shift(c, 3), _blur], ids=["shifted 3 px", "blurred"])
def test_a_damaged_clip_ranks_worse_on_every_metric(nets, damage):
    lpips, i3d, _, _ = nets
    clips = [_clip(s) for s in range(4)]
    near = [_noisy(c, s) for s, c in enumerate(clips)]  # a barely changed clip: the yardstick
    far = [damage(c) for c in clips]
    for clip, a, b in zip(clips, near, far):
        good, bad = score_clip(a, clip, lpips), score_clip(b, clip, lpips)
        assert bad.psnr < good.psnr and bad.ssim < good.ssim and bad.lpips > good.lpips

    def feats(batch):
        return np.concatenate([i3d(over_gray(c).permute(0, 3, 1, 2)[None]) for c in batch])

    reference = feats(clips)
    assert frechet_distance(feats(far), reference) > frechet_distance(feats(near), reference)


def test_transparent_pixels_count_as_gray_whatever_colour_they_hide():
    clip = _clip()
    hidden = clip.copy()
    hidden[..., :3][clip[..., 3] == 0] = 0  # change only colour under alpha 0
    assert math.isinf(score_clip(hidden, clip).psnr)


def test_lpips_backbone_errors_are_clear(tmp_path):
    with pytest.raises(PosterError, match="EVAL_LPIPS_BACKBONE"):
        LPIPS.from_file(tmp_path / "missing.pth")
    with pytest.raises(PosterError, match="EVAL_I3D"):
        I3DFeatures(tmp_path / "missing.pt")


def test_presets_tables_csv_sheets_and_resume(tdl, nets, tmp_path, capsys):
    _, _, lpips_path, i3d_path = nets
    out = tmp_path / "eval"
    argv = ["--data", str(tdl), "--engine", "presets", "--setting", "layer", "--setting", "poster",
            "--split", "all", "--out", str(out), "--lpips", str(lpips_path), "--i3d", str(i3d_path), "--quiet"]
    assert eval_main(argv) == 0
    tables = (out / "tables.md").read_text()
    assert "Table 1, layer by layer" in tables and "Table 1, poster" in tables
    assert "| presets | 8 |" in tables and "FramePack (paper) | — | 151.42" in tables
    rows = list(csv.DictReader((out / "samples.csv").open()))
    assert len(rows) == 16 and {r["setting"] for r in rows} == {"layer", "poster"}
    assert all(r["generated_now"] == "True" for r in rows if r["setting"] == "layer")
    assert len(list((out / "worst").glob("*.png"))) == 6
    first = {(r["setting"], r["poster"], r["layer_id"]): (r["psnr"], r["lpips"]) for r in rows}

    assert eval_main(argv) == 0  # second run: from the cache, same numbers
    again = list(csv.DictReader((out / "samples.csv").open()))
    assert all(r["generated_now"] == "False" for r in again)
    assert {(r["setting"], r["poster"], r["layer_id"]): (r["psnr"], r["lpips"]) for r in again} == first


def test_group_and_joint_settings_call_the_engine_once_per_poster(tmp_path, monkeypatch):
    static = np.zeros((8, 8, 4), np.uint8)
    static[2:6, 2:6] = (200, 40, 40, 255)
    samples = [TDLSample("p", i, f"dot {i}", "floats gently", (10 * i, 0, 16, 16), (10 * i + 4, 4, 8, 8), static,
                         np.repeat(np.pad(static, ((4, 4), (4, 4), (0, 0)))[None], 5, axis=0)) for i in range(2)]
    write_poster(tmp_path, "p", 40, 20, samples, group_prompt="the dots float together")
    write_poster(tmp_path, "q", 40, 20, [samples[0]])
    write_splits(tmp_path, {"val": ["p", "q"]})
    dataset = TDLDataset(tmp_path)
    calls: list[tuple[int, str | None]] = []
    from engine.motion.registry import get_engine

    engine = get_engine("presets")
    real = engine.animate

    def counting(requests, **kwargs):
        calls.append((len(requests), kwargs.get("group_prompt")))
        return real(requests, **kwargs)

    monkeypatch.setattr(engine, "animate", counting)
    indices = dataset.split_indices("val")
    group = evaluate(dataset, [EngineSpec("presets")], "group", indices, ClipCache(tmp_path / "c"), show_progress=False)
    assert calls == [(2, "the dots float together")], "only the poster with a group prompt, in one call"
    assert group.summaries[0].samples == 2
    calls.clear()
    evaluate(dataset, [EngineSpec("presets")], "joint", indices, ClipCache(tmp_path / "c"), show_progress=False)
    assert sorted(calls) == [(1, None), (2, None)]


def test_tiny_i2v_engine_beside_presets(tdl, tmp_path, monkeypatch):
    folder = i2v_tiny.BUILDERS["LTXImageToVideoPipeline"](tmp_path / "ltx")
    monkeypatch.setenv("I2V_MODEL", str(folder))
    dataset = TDLDataset(tdl)
    specs = [EngineSpec("presets"),
             EngineSpec("i2v", (("resolution", i2v_tiny.TINY_RESOLUTION), ("steps", 1)))]
    result = evaluate(dataset, specs, "layer", dataset.split_indices("val"), ClipCache(tmp_path / "c"),
                      show_progress=False)
    by_engine = {s.engine: s for s in result.summaries}
    assert set(by_engine) == {"presets", "i2v (resolution=32, steps=1)"}
    assert all(s.samples == 2 for s in result.summaries)
    # a random tiny model cannot beat the engine that made the data
    assert by_engine["presets"].metrics["PSNR"] > by_engine["i2v (resolution=32, steps=1)"].metrics["PSNR"]


def test_split_rules(tdl, tmp_path):
    dataset = TDLDataset(tdl)
    val, train = dataset.split_indices("val"), dataset.split_indices("train")
    assert val and train and not set(val) & set(train) and len(val) + len(train) == len(dataset)
    assert {dataset.refs[i].poster for i in val}.isdisjoint({dataset.refs[i].poster for i in train})
    with pytest.raises(PosterError, match="Unknown split"):
        dataset.split_indices("test")
