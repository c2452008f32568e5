"""LayerClip sources: frames in memory, rendered on demand, or (test_clipstore) read from a file.

A clip must look the same however it is read: frame i is bit for bit the same whether the
frames are read in order, backwards or at random, and a lazy clip holds only a few chunks.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.core.clip import LayerClip, LazySource, place_static
from engine.core.poster import Box, Layer, PosterError
from engine.core.stream import FrameStream, stack
from engine.motion.presets import PresetAnimator
from tests.helpers.motion import animate_one, preset_request


def sprite_layer() -> Layer:
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    pixels[..., 3] = 255
    return Layer(id=5, name="Sprite", pixels=pixels, box=Box(30, 30, 40, 30))


def preset_clip(preset: str = "sway", frames: int = 30, start: int = 0) -> LayerClip:
    request = preset_request(preset, layer=sprite_layer(), box=Box(0, 0, 100, 90), frames=frames,
                             seed=2, start=start)
    return animate_one(PresetAnimator(), request)


def test_a_preset_clip_is_lazy_and_reads_the_same_in_any_order():
    clip = preset_clip()
    assert isinstance(clip.source, LazySource)
    in_order = [clip.frame(i).copy() for i in range(clip.frame_count)]
    fresh = preset_clip()
    order = np.random.default_rng(0).permutation(clip.frame_count)
    for i in [*order, *reversed(range(clip.frame_count))]:
        np.testing.assert_array_equal(fresh.frame(int(i)), in_order[int(i)])
    assert len(fresh.source._cache) <= 2  # a bounded cache, never the whole clip


def test_held_frames_are_the_static_layer_itself():
    clip = preset_clip(start=4)
    static = place_static(sprite_layer(), Box(0, 0, 100, 90))
    for i in range(5):
        np.testing.assert_array_equal(clip.frame(i), static)
    assert not np.array_equal(clip.frame(6), static)
    with pytest.raises(ValueError):
        clip.frame(0)[0, 0, 0] = 1  # shared frames are read-only


def test_lazy_source_renders_each_chunk_once_while_it_is_cached():
    calls = []

    def render(start: int, stop: int, out: np.ndarray) -> None:
        calls.append((start, stop))
        for k in range(stop - start):
            out[k] = start + k + 1

    still = np.zeros((4, 4, 4), np.uint8)
    source = LazySource(10, still, render, hold=1)
    clip = LayerClip(1, Box(0, 0, 4, 4), source)
    values = [int(frame[0, 0, 0]) for frame in clip.iter_frames()]
    assert values == list(range(10))
    assert calls == [(0, 9)]  # one chunk: small frames render together
    assert int(clip.frame(12)[0, 0, 0]) == 2  # loops on the timeline


def test_frame_stream_checks_what_it_yields():
    frames = np.zeros((3, 4, 5, 4), np.uint8)
    stream = FrameStream(lambda: iter(frames[:2]), 3, 5, 4)
    with pytest.raises(PosterError, match="ended after 2"):
        stack(stream)
    wrong = FrameStream(lambda: iter(frames), 3, 4, 4)
    with pytest.raises(PosterError, match="render the poster again"):
        stack(wrong)
    with pytest.raises(PosterError, match="no frames"):
        FrameStream(lambda: iter(()), 0, 4, 4)


def test_a_clip_stream_follows_the_loop_mode():
    frames = np.arange(3, dtype=np.uint8)[:, None, None, None] * np.ones((3, 2, 2, 4), np.uint8)
    clip = LayerClip(1, Box(0, 0, 2, 2), frames, loop_mode="pingpong")
    shown = [int(f[0, 0, 0]) for f in FrameStream.of_clip(clip, 7)]
    assert shown == [0, 1, 2, 1, 0, 1, 2]
