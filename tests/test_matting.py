"""The gray-background matte, scored where the truth is known: preset clips laid over gray."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from benchmarks.matting import CASES, truth_clips
from engine.core.poster import PosterError
from engine.motion.matting import GRAY, MATTING_METHODS, matte, matte_quality, over_gray


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
def test_frame_zero_is_the_static_layer_and_clear_gray_is_transparent(method):
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
