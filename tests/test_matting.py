"""The gray-background matte, scored where the truth is known: preset clips laid over gray."""

from __future__ import annotations

import functools
import itertools
import shutil

import numpy as np
import pytest

from benchmarks.matting import CASES, truth_clips
from engine.core.poster import PosterError
from engine.motion.i2v import I2VAnimator
from engine.motion.matting import (
    GRAY, MATTING_METHODS, MODEL_CONTEXT, TRIMAP_BAND, Palette, available_methods, matte, matte_quality, over_gray,
    trimap,
)
from engine.motion.matting_model import MODEL_ENV, MattingModel, matting_model
from tests.helpers import matting_tiny


@functools.cache
def clips() -> dict[str, list[np.ndarray]]:
    return dict(truth_clips(frames=6))


def scores(method: str) -> dict[str, dict[str, float]]:
    result = {}
    for name, true in clips().items():
        matted = list(matte([over_gray(f) for f in true], true[0], method))
        result[name] = matte_quality(true[1:], matted[1:])
    return result


def test_every_sample_case_is_scored():
    assert len(clips()) == len(CASES)


def test_palette_matte_recovers_every_sample_layer():
    for name, score in scores("palette").items():
        assert score["alpha_iou"] >= 0.95, (name, score)
        assert score["alpha_sad"] <= 0.03, (name, score)
        assert score["rgba_psnr"] >= 25.0, (name, score)


def test_color_to_alpha_is_exact_on_saturated_type_and_loses_muted_foliage():
    score = scores("color_to_alpha")
    assert score["balloon/Title"]["rgba_psnr"] >= 40.0, score["balloon/Title"]
    # muted greens sit close to the gray: the least alpha makes the leaves half transparent
    assert score["flower/Leaves"]["alpha_iou"] < 0.5, score["flower/Leaves"]


def test_palette_beats_color_to_alpha_on_muted_colours():
    palette, least = scores("palette"), scores("color_to_alpha")
    for name in ("flower/Leaves", "flower/Bloom", "ocean/Seaweed Left", "balloon/Balloon"):
        assert palette[name]["rgba_psnr"] > least[name]["rgba_psnr"] + 5, name


@pytest.mark.parametrize("method", list(MATTING_METHODS))
def test_frame_zero_is_the_static_layer_and_clear_gray_is_transparent(method, request):
    if MATTING_METHODS[method].needs:
        request.getfixturevalue("learned")
    static = next(iter(clips().values()))[0]
    gray = np.full(static.shape[:2] + (3,), round(GRAY * 255), np.uint8)
    noisy = np.clip(gray.astype(int) + np.random.default_rng(0).integers(-2, 3, gray.shape), 0, 255).astype(np.uint8)
    out = list(matte([over_gray(static), noisy], static, method))
    assert np.array_equal(out[0], static)
    assert out[1][..., 3].max() == 0 and out[1][..., :3].max() == 0


def test_frames_are_matted_one_at_a_time():
    static = next(iter(clips().values()))[0]
    pulled = []

    def frames():
        for index in itertools.count():
            pulled.append(index)
            yield over_gray(static)

    stream = matte(frames(), static)
    next(stream), next(stream)
    assert pulled == [0, 1]


def test_bad_inputs_are_explained():
    static = np.zeros((8, 8, 4), np.uint8)
    with pytest.raises(PosterError, match="same size"):
        list(matte([np.zeros((8, 9, 3), np.uint8)], static))
    with pytest.raises(PosterError, match="no matting method called 'magic'.*palette"):
        matte([], static, "magic")


# --- the learned method: ViTMatte from I2V_MATTING_MODEL (a tiny random one here) ------------


@pytest.fixture(scope="module")
def vitmatte_folder(tmp_path_factory) -> str:
    return str(matting_tiny.vitmatte(tmp_path_factory.mktemp("vitmatte")))


@pytest.fixture
def learned(vitmatte_folder, monkeypatch) -> str:
    monkeypatch.setenv(MODEL_ENV, vitmatte_folder)
    return vitmatte_folder


def test_vitmatte_is_offered_only_when_configured(vitmatte_folder, monkeypatch):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert list(available_methods()) == ["palette", "color_to_alpha"]
    spec = {s.name: s for s in I2VAnimator(device="cpu").param_specs()}["matting"]
    assert spec.choices == ("palette", "color_to_alpha")
    with pytest.raises(PosterError, match="must be one of palette, color_to_alpha"):
        I2VAnimator(device="cpu").resolve_params({"matting": "vitmatte"})
    with pytest.raises(PosterError, match=f"needs a model: set {MODEL_ENV}"):
        matte([], np.zeros((4, 4, 4), np.uint8), "vitmatte")
    monkeypatch.setenv(MODEL_ENV, vitmatte_folder)
    spec = {s.name: s for s in I2VAnimator(device="cpu").param_specs()}["matting"]
    assert spec.choices == ("palette", "color_to_alpha", "vitmatte") and spec.default == "palette"
    assert spec.menu()[-1] == ("ViTMatte (learned)", "vitmatte")
    assert I2VAnimator(device="cpu").resolve_params({"matting": "ViTMatte"})[0]["matting"] == "vitmatte"


def test_a_bad_vitmatte_folder_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(PosterError, match="which is not a folder"):
        matte([], np.zeros((4, 4, 4), np.uint8), "vitmatte")
    monkeypatch.setenv(MODEL_ENV, str(tmp_path))
    with pytest.raises(PosterError, match="holds no model"):
        matte([], np.zeros((4, 4, 4), np.uint8), "vitmatte")
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(PosterError, match="a 'bert', not a ViTMatte"):
        matte([], np.zeros((4, 4, 4), np.uint8), "vitmatte")


def test_trimap_erodes_the_sure_regions_and_leaves_a_band():
    alpha = np.zeros((20, 20), np.float32)
    alpha[5:15, 5:15] = 1.0
    regions = trimap(alpha, band=2)
    assert set(np.unique(regions)) == {0, 128, 255}
    assert (regions[7:13, 7:13] == 255).all() and (regions[6, 6:14] == 128).all(), "foreground shrinks by 2"
    assert (regions[:3] == 0).all() and (regions[3:5, 5:15] == 128).all(), "background shrinks by 2"
    assert (trimap(np.ones((6, 6)), band=2) == 255).all(), "the layer's border is not an edge"


def test_vitmatte_decides_only_the_unknown_band_and_unpremultiplies_from_gray(learned, monkeypatch):
    static = np.zeros((120, 140, 4), np.uint8)
    static[50:70, 60:84] = (220, 40, 30, 255)
    frame = over_gray(np.roll(static, 3, axis=1))
    seen = []
    original = MattingModel.alpha
    monkeypatch.setattr(MattingModel, "alpha", lambda self, image, tri: seen.append(tri.shape) or original(self, image, tri))
    out = list(matte([over_gray(static), frame], static, "vitmatte"))
    assert seen == [(20 + 2 * (TRIMAP_BAND + MODEL_CONTEXT), 24 + 2 * (TRIMAP_BAND + MODEL_CONTEXT))], \
        "the model sees the band and its context, not the whole box"
    assert np.array_equal(out[0], static), "frame 0 is the static layer exactly"
    palette = list(matte([over_gray(static), frame], static, "palette"))[1]
    difference = frame.astype(np.float32) / 255.0 - GRAY
    regions = trimap(Palette.of_layer(static).matte(difference))
    sure = regions != 128
    assert np.array_equal(out[1][sure], palette[sure]), "the sure regions keep the closed-form matte"
    band = out[1][regions == 128]
    assert band.shape[0] > 0 and not np.array_equal(band, palette[regions == 128]), "the model decides the band"
    y, x = np.argwhere((regions == 128) & (out[1][..., 3] > 20))[0]
    a = out[1][y, x, 3] / 255.0
    expected = np.clip(GRAY + difference[y, x] / a, 0, 1) * 255
    assert np.abs(out[1][y, x, :3] - expected).max() <= 2, "colour un-premultiplied from the gray"


def test_vitmatte_loads_once_and_scores_on_the_truth(learned):
    model = matting_model(learned)
    assert matting_model() is model, "one model per folder, shared"
    case = "balloon/Title"
    true = clips()[case]
    matted = list(matte([over_gray(f) for f in true[:3]], true[0], "vitmatte"))
    score = matte_quality(true[1:3], matted[1:])
    # random weights: only the band is wrong, the sure regions hold the floor
    assert score["alpha_iou"] >= 0.85 and score["alpha_sad"] <= 0.08, score


def test_the_result_cache_tells_learned_matting_models_apart(vitmatte_folder, tmp_path, monkeypatch):
    from engine.motion.result_cache import model_identity
    from engine.motion.service import GENERATIVE

    spec = GENERATIVE["i2v"]
    monkeypatch.setenv("I2V_MODEL", str(tmp_path))
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert spec.model() == model_identity(tmp_path), "without a matting model the key is the video model's"
    monkeypatch.setenv(MODEL_ENV, vitmatte_folder)
    with_vitmatte = spec.model()
    assert with_vitmatte != model_identity(tmp_path) and MODEL_ENV in spec.env, "Ray replicas get it too"
    other = tmp_path / "other-vitmatte"
    shutil.copytree(vitmatte_folder, other)
    monkeypatch.setenv(MODEL_ENV, str(other))
    assert spec.model() != with_vitmatte, "another matting model is another result"
