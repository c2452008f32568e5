"""The TDL dataset format, the bucketing loader and the synthetic generator."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from engine.data.buckets import BucketBatchSampler, ClipDataset, bucketed_loader
from engine.data.synthetic import DriftAnimator, generate, shape_poster
from engine.data.tdl import TDLDataset, TDLSample, read_sample, write_poster
from engine.core.clip import place_static
from engine.motion.base import MotionRequest
from engine.core.poster import Box, PosterError


def make_sample(layer_id: int, box: Box, frames: int = 5, seed: int = 0) -> TDLSample:
    rng = np.random.default_rng(seed)
    static_box = Box(box.x + 2, box.y + 2, box.w - 4, box.h - 4)
    return TDLSample(
        poster="p",
        layer_id=layer_id,
        name=f"layer {layer_id}/odd:name",
        prompt="the star twinkles",
        motion_box=box,
        static_box=static_box,
        static=rng.integers(0, 256, (static_box.h, static_box.w, 4), dtype=np.uint8),
        frames=rng.integers(0, 256, (frames, box.h, box.w, 4), dtype=np.uint8),
        kind="text",
        fps=12,
        meta={"preset": "bob", "params": {"amplitude": 0.5}},
    )


def test_writer_and_reader_round_trip_every_field(tmp_path):
    samples = [make_sample(3, Box(16, 32, 32, 16), seed=1), make_sample(7, Box(0, 0, 16, 24), frames=9, seed=2)]
    write_poster(tmp_path, "Summer Sale!", 128, 96, samples, group_prompt="everything dances")
    dataset = TDLDataset(tmp_path)
    assert len(dataset) == 2
    (poster_key,) = dataset.posters
    assert dataset.posters[poster_key]["group_prompt"] == "everything dances"
    assert dataset.posters[poster_key]["width"] == 128
    assert dataset.poster_groups() == {poster_key: [0, 1]}
    assert [ref.shape for ref in dataset.refs] == [(5, 16, 32), (9, 24, 16)]
    for original, loaded in zip(samples, dataset):
        assert np.array_equal(loaded.frames, original.frames)
        assert np.array_equal(loaded.static, original.static)
        for name in ("layer_id", "name", "prompt", "motion_box", "static_box", "kind", "fps", "meta"):
            assert getattr(loaded, name) == getattr(original, name)


def test_reader_names_what_is_missing(tmp_path):
    with pytest.raises(PosterError, match="not a TDL dataset"):
        TDLDataset(tmp_path)
    (layer_dir,) = write_poster(tmp_path, "p", 64, 64, [make_sample(1, Box(0, 0, 16, 16))])
    (layer_dir / "frames" / "00002.png").unlink()
    with pytest.raises(PosterError, match="should have 5 frames but has 4"):
        read_sample(layer_dir)


def test_sample_refuses_frames_that_do_not_fit_the_box():
    good = make_sample(1, Box(0, 0, 16, 16))
    with pytest.raises(PosterError, match="motion box is 24×16"):
        TDLSample(**{**good.__dict__, "motion_box": Box(0, 0, 24, 16)})


def test_bucket_batches_hold_one_shape_each_and_cover_everything():
    shapes = [(5, 16, 16), (5, 32, 16), (5, 16, 16), (9, 16, 16), (5, 16, 16), (5, 32, 16)]
    sampler = BucketBatchSampler(shapes, batch_size=2, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 4
    assert sorted(i for batch in batches for i in batch) == list(range(len(shapes)))
    for batch in batches:
        assert len({shapes[i] for i in batch}) == 1 and len(batch) <= 2


def test_loader_stacks_variable_sized_samples_per_bucket(tmp_path):
    boxes = [Box(0, 0, 16, 16), Box(16, 0, 32, 16), Box(0, 16, 16, 16), Box(32, 32, 32, 16)]
    write_poster(tmp_path, "p", 128, 128, [make_sample(i, box, seed=i) for i, box in enumerate(boxes)])
    loader = bucketed_loader(ClipDataset(TDLDataset(tmp_path)), batch_size=4, shuffle=False)
    shapes = sorted((tuple(frames.shape), len(b)) for frames, b, _ in loader)
    assert shapes == [((2, 5, 16, 16, 4), 2), ((2, 5, 16, 32, 4), 2)]


def test_drift_animator_keeps_frame_zero_and_stays_in_the_box():
    poster = shape_poster("p", random.Random(0), layers=1)
    layer = poster.layers[0]
    box = layer.box.expand(8, 8, 8, 8).snap_out(16)
    clip = DriftAnimator().animate([MotionRequest(layer=layer, box=box, frames=9, seed=4)])[0]
    assert clip.frames.shape == (9, box.h, box.w, 4)
    assert np.array_equal(clip.frames[0], place_static(layer, box))
    assert not np.array_equal(clip.frames[4], clip.frames[0])  # it moves


def test_generator_fills_a_dataset_the_reader_and_loader_accept(tmp_path):
    count = generate(tmp_path / "tdl", posters=3, frames=5, seed=2, source="shapes", animator=DriftAnimator())
    dataset = TDLDataset(tmp_path / "tdl")
    assert len(dataset) == count == 9
    assert len(dataset.poster_groups()) == 3
    for sample in dataset:
        box = sample.motion_box
        assert box.contains(sample.static_box)
        assert all(v % 16 == 0 for v in box.as_tuple())
        assert sample.frames.shape[0] == 5 and sample.prompt
        assert sample.frames[..., 3].any()
        dx, dy = sample.static_box.x - box.x, sample.static_box.y - box.y
        region = sample.frames[0, dy : dy + sample.static_box.h, dx : dx + sample.static_box.w]
        assert np.array_equal(region, sample.static)
    record = json.loads((dataset.refs[0].path / "sample.json").read_text())
    assert record["meta"]["engine"] == "drift"
    with pytest.raises(PosterError, match="4k\\+1"):
        generate(tmp_path / "bad", posters=1, frames=6)


def test_generator_animates_sample_poster_layers_with_random_presets(tmp_path):
    from engine.motion.presets import PRESETS

    count = generate(tmp_path / "tdl", posters=2, frames=5, seed=5, source="samples", layers_per_poster=2)
    dataset = TDLDataset(tmp_path / "tdl")
    assert len(dataset) == count == 4
    presets = set()
    for sample in dataset:
        assert sample.meta["engine"] == "presets"
        preset = PRESETS[sample.meta["preset"]]
        assert preset.validate(sample.meta["params"]) == sample.meta["params"]
        assert sample.prompt.endswith(preset.label.lower())
        dx, dy = sample.static_box.x - sample.motion_box.x, sample.static_box.y - sample.motion_box.y
        region = sample.frames[0, dy : dy + sample.static_box.h, dx : dx + sample.static_box.w]
        assert np.array_equal(region, sample.static)  # frame 0 is the static layer in place
        presets.add(preset.name)
    assert len(presets) > 1
