"""Compositor: blend math equals psd-tools', animated frames equal a full recomposite."""

from __future__ import annotations

import numpy as np
import pytest
from psd_tools.composite import blend as psd_blend
from psd_tools.constants import BlendMode

from engine import Box, Layer, Poster, PosterError, render_static
from engine.render.compositor import render
from engine.render.compositor import iter_frames, poster_stream
from engine.core.stream import stack
from engine.core.clip import LayerClip, clip_index, place_static
from engine.core.poster import BLEND_MODES


def random_layer(rng, layer_id: int, box: Box, mode: str = "normal", opacity: float = 1.0) -> Layer:
    pixels = rng.integers(0, 256, (box.h, box.w, 4), dtype=np.uint8)
    pixels[rng.random((box.h, box.w)) < 0.2, 3] = 255
    pixels[rng.random((box.h, box.w)) < 0.1, 3] = 0
    return Layer(id=layer_id, name=f"L{layer_id}", pixels=pixels, box=box, blend_mode=mode, opacity=opacity)


def reference_composite(layers: list[tuple[np.ndarray, Box, float, str]], width: int, height: int) -> np.ndarray:
    """Straight-form compositing exactly as psd_tools' Compositor._apply_source writes it, on a
    white transparent canvas (its default backdrop), then quantised like composite_pil."""
    color = np.ones((height, width, 3), np.float32)
    alpha_b = np.zeros((height, width, 1), np.float32)
    for pixels, box, opacity, mode in layers:
        src = np.zeros((height, width, 4), np.float32)
        clipped = box.clamp_to(width, height)
        dx, dy = clipped.x - box.x, clipped.y - box.y
        src[clipped.y:clipped.bottom, clipped.x:clipped.right] = pixels[dy:dy + clipped.h, dx:dx + clipped.w] / 255.0
        cs, shape = src[..., :3], src[..., 3:4]
        alpha = shape * opacity
        fn = psd_blend.BLEND_FUNC[BlendMode[mode.upper()]]
        color_t = (shape - alpha) * alpha_b * color + alpha * ((1 - alpha_b) * cs + alpha_b * fn(color.copy(), cs))
        new_alpha = alpha_b + alpha - alpha_b * alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            color = np.where(new_alpha > 0, ((1 - shape) * alpha_b * color + color_t) / new_alpha, 1.0)
        color = np.clip(color, 0, 1)
        alpha_b = new_alpha
    out = np.concatenate([color, alpha_b], axis=-1)
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


def premultiplied(image: np.ndarray) -> np.ndarray:
    image = image.astype(np.float64)
    return np.concatenate([image[..., :3] * image[..., 3:] / 255.0, image[..., 3:]], axis=-1)


@pytest.mark.parametrize("mode", BLEND_MODES)
def test_every_blend_mode_matches_psd_tools_formula(mode):
    rng = np.random.default_rng(BLEND_MODES.index(mode))
    layers = [
        random_layer(rng, 1, Box(0, 0, 24, 20)),
        random_layer(rng, 2, Box(4, 3, 18, 15), "normal", 0.8),
        random_layer(rng, 3, Box(-3, 5, 20, 20), mode, 0.7),
    ]
    poster = Poster(24, 20, layers)
    ours = render_static(poster)
    expected = reference_composite([(l.pixels, l.box, l.opacity, l.blend_mode) for l in layers], 24, 20)
    # compared premultiplied: colour under zero alpha is meaningless on both sides
    difference = np.abs(premultiplied(ours) - premultiplied(expected))
    if mode == "hard_mix":  # it thresholds: one float ulp flips a channel between 0 and 255
        assert np.mean(difference > 1.01) < 0.002
    elif mode in ("normal", "dissolve"):  # all source-over: Pillow's 8-bit path, rounding per layer
        assert difference.max() <= 2.0
    else:
        assert difference.max() <= 1.01


def test_8bit_source_over_path_agrees_with_the_float_path():
    rng = np.random.default_rng(11)
    layers = [random_layer(rng, i, Box(i * 3 - 4, i * 2 - 3, 30, 26), "normal", 0.5 + i / 20) for i in range(1, 8)]
    normal_only = render_static(Poster(40, 32, layers))
    invisible_multiply = Layer(id=99, name="m", pixels=np.zeros((4, 4, 4), np.uint8), box=Box(0, 0, 4, 4),
                               blend_mode="multiply")
    float_path = render_static(Poster(40, 32, layers + [invisible_multiply]))
    difference = np.abs(premultiplied(normal_only) - premultiplied(float_path))
    assert difference.max() <= 3.0 and difference.mean() < 0.5


def test_normal_over_matches_pil_alpha_composite(tiny_poster):
    from PIL import Image

    canvas = Image.new("RGBA", (tiny_poster.width, tiny_poster.height), (0, 0, 0, 0))
    for layer in tiny_poster.layers:
        placed = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        placed.paste(Image.fromarray(layer.pixels, "RGBA"), (layer.box.x, layer.box.y))
        canvas = Image.alpha_composite(canvas, placed)
    assert np.abs(render_static(tiny_poster).astype(int) - np.asarray(canvas).astype(int)).max() <= 1


def test_hidden_and_transparent_layers_do_not_render(tiny_poster):
    before = render_static(tiny_poster)
    tiny_poster.layers[1].visible = False
    hidden = render_static(tiny_poster)
    tiny_poster.layers[1].visible = True
    tiny_poster.layers[1].opacity = 0.0
    transparent = render_static(tiny_poster)
    assert not np.array_equal(before, hidden)
    np.testing.assert_array_equal(hidden, transparent)


def animated_poster(rng) -> tuple[Poster, list[LayerClip]]:
    """Static and animated layers interleaved, with non-normal static layers above animated ones."""
    layers = [
        random_layer(rng, 1, Box(0, 0, 64, 48)),
        random_layer(rng, 2, Box(5, 5, 20, 14)),  # animated
        random_layer(rng, 3, Box(10, 8, 30, 20), "multiply", 0.9),
        random_layer(rng, 4, Box(30, 20, 16, 16), "normal", 0.6),  # animated
        random_layer(rng, 5, Box(0, 30, 64, 10), "screen"),
        random_layer(rng, 6, Box(40, 2, 20, 20)),
        random_layer(rng, 7, Box(44, 30, 10, 10), "overlay"),  # animated, far from the others
    ]
    poster = Poster(64, 48, layers)
    clips = []
    for layer_id, box, count in [(2, Box(0, 0, 32, 24), 5), (4, Box(24, 16, 28, 28), 3), (7, Box(42, 28, 16, 16), 4)]:
        layer = poster.layer(layer_id)
        frames = rng.integers(0, 256, (count, box.h, box.w, 4), dtype=np.uint8)
        frames[0] = place_static(layer, box)
        clips.append(LayerClip(layer_id=layer_id, box=box, frames=frames))
    return poster, clips


def naive_frame(poster: Poster, clips: dict[int, LayerClip], index: int) -> np.ndarray:
    layers = []
    for layer in poster.layers:
        clip = clips.get(layer.id)
        if clip is None:
            layers.append(layer)
        else:
            layers.append(Layer(id=layer.id, name=layer.name, pixels=clip.frame(index), box=clip.box,
                                opacity=layer.opacity, blend_mode=layer.blend_mode))
    return render_static(Poster(poster.width, poster.height, layers))


def test_animated_frames_equal_a_full_recomposite_of_each_frame():
    poster, clips = animated_poster(np.random.default_rng(7))
    frames = render(poster, clips)
    assert frames.shape == (5, 48, 64, 4) and frames.dtype == np.uint8
    by_id = {clip.layer_id: clip for clip in clips}
    for index in range(5):
        expected = naive_frame(poster, by_id, index)
        assert np.abs(frames[index].astype(int) - expected.astype(int)).max() <= 1, index
    # frame 0 of every clip is the static layer in place, so frame 0 is the static poster
    assert np.abs(frames[0].astype(int) - render_static(poster).astype(int)).max() <= 1


def test_only_the_motion_boxes_change_between_frames():
    poster, clips = animated_poster(np.random.default_rng(3))
    frames = render(poster, {clip.layer_id: clip for clip in clips}, frames=6)
    outside = np.ones((48, 64), bool)
    for clip in clips:
        outside[clip.box.y:clip.box.bottom, clip.box.x:clip.box.right] = False
    static = render_static(poster)
    for frame in frames:
        np.testing.assert_array_equal(frame[outside], static[outside])
    assert not np.array_equal(frames[1], frames[2])


def test_streaming_frames_equal_render_and_clips_loop():
    poster, clips = animated_poster(np.random.default_rng(5))
    all_frames = render(poster, clips, frames=11)
    streamed = [frame.copy() for frame in iter_frames(poster, clips, frames=11)]  # one reused buffer: copy
    assert len(streamed) == 11
    for a, b in zip(all_frames, streamed):
        np.testing.assert_array_equal(a, b)
    # the 3-frame clip of layer 4 loops: frames 1 and 6 (mod 5 and 3 differ) are compared via the naive path
    by_id = {clip.layer_id: clip for clip in clips}
    assert np.abs(all_frames[10].astype(int) - naive_frame(poster, by_id, 10).astype(int)).max() <= 1


def test_without_clips_one_static_frame(tiny_poster):
    frames = render(tiny_poster)
    assert frames.shape == (1, 48, 64, 4)
    np.testing.assert_array_equal(frames[0], render_static(tiny_poster))


def test_bad_clip_arguments_are_designer_errors(tiny_poster):
    clip = LayerClip(layer_id=99, box=Box(0, 0, 4, 4), frames=np.zeros((2, 4, 4, 4), np.uint8))
    with pytest.raises(PosterError, match="no layer with id 99"):
        render(tiny_poster, [clip])
    good = LayerClip(layer_id=2, box=Box(8, 8, 16, 16), frames=np.zeros((2, 16, 16, 4), np.uint8))
    with pytest.raises(PosterError, match="belongs to layer 2"):
        render(tiny_poster, {3: good})
    with pytest.raises(PosterError, match="two animations"):
        render(tiny_poster, [good, good])
    with pytest.raises(PosterError, match="at least 1"):
        render(tiny_poster, [good], frames=0)


@pytest.mark.parametrize("opaque_background", [True, False])
def test_normal_only_posters_take_the_8bit_path_and_match_the_float_formula(opaque_background):
    """All-normal stacks are drawn by Pillow into shared memory (a masked paste over an opaque
    backdrop, alpha_composite over a transparent one); every frame must still be right."""
    rng = np.random.default_rng(21)
    layers = [random_layer(rng, 1, Box(0, 0, 64, 48))]
    if opaque_background:
        layers[0].pixels[..., 3] = 255
    layers += [random_layer(rng, i, Box(i * 6, i * 4, 24, 20), "normal", 0.6 + i / 20) for i in range(2, 8)]
    poster = Poster(64, 48, layers)
    clips = []
    for layer_id, box in [(3, Box(8, 4, 40, 32)), (6, Box(30, 16, 34, 30))]:
        frames = rng.integers(0, 256, (4, box.h, box.w, 4), dtype=np.uint8)
        frames[0] = place_static(poster.layer(layer_id), box)
        clips.append(LayerClip(layer_id=layer_id, box=box, frames=frames))
    frames = render(poster, clips)
    by_id = {clip.layer_id: clip for clip in clips}
    for index in range(4):
        sources = []
        for layer in layers:
            clip = by_id.get(layer.id)
            pixels, box = (clip.frame(index), clip.box) if clip else (layer.pixels, layer.box)
            sources.append((pixels, box, layer.opacity, "normal"))
        expected = reference_composite(sources, 64, 48)
        difference = np.abs(premultiplied(frames[index]) - premultiplied(expected))
        assert difference.max() <= 3.0, index
    assert not np.array_equal(frames[1], frames[2])


def test_render_fills_a_given_buffer_and_checks_it():
    poster, clips = animated_poster(np.random.default_rng(9))
    buffer = np.full((5, 48, 64, 4), 7, np.uint8)
    result = render(poster, clips, out=buffer)
    assert result is buffer
    np.testing.assert_array_equal(buffer, render(poster, clips))
    with pytest.raises(PosterError, match="shape"):
        render(poster, clips, out=np.zeros((4, 48, 64, 4), np.uint8))


def test_iter_frames_draws_every_frame_into_one_reused_buffer():
    poster, clips = animated_poster(np.random.default_rng(5))
    buffers = {id(frame) for frame in iter_frames(poster, clips, frames=6)}
    assert len(buffers) == 1


def test_poster_stream_can_be_iterated_twice_and_knows_its_shape():
    poster, clips = animated_poster(np.random.default_rng(7))
    stream = poster_stream(poster, clips, frames=7, fps=12)
    assert stream.shape == (7, 48, 64, 4) and stream.fps == 12
    first = stack(stream)
    np.testing.assert_array_equal(first, stack(stream))
    np.testing.assert_array_equal(first, render(poster, clips, frames=7))


def test_poster_stream_refuses_bad_clips_before_any_frame():
    poster, clips = animated_poster(np.random.default_rng(7))
    with pytest.raises(PosterError, match="two animations"):
        poster_stream(poster, clips + clips[:1])


@pytest.mark.parametrize("background_alpha, expected", [(255, True), (200, False)])
def test_stream_opacity_is_known_without_a_pass(background_alpha, expected):
    rng = np.random.default_rng(3)
    background = random_layer(rng, 1, Box(0, 0, 32, 24))
    background.pixels[..., 3] = background_alpha
    sprite = random_layer(rng, 2, Box(8, 6, 10, 8))
    frames = rng.integers(0, 256, (3, 12, 14, 4), dtype=np.uint8)
    frames[0] = place_static(sprite, Box(6, 4, 14, 12))
    poster = Poster(32, 24, [background, sprite])
    stream = poster_stream(poster, [LayerClip(2, Box(6, 4, 14, 12), frames)])
    assert stream.opaque is expected
    assert all((frame[..., 3] == 255).all() for frame in stream) is expected


@pytest.mark.parametrize("loop_mode, order", [
    ("loop", [0, 1, 2, 0, 1, 2, 0, 1]),
    ("pingpong", [0, 1, 2, 1, 0, 1, 2, 1]),
    ("hold", [0, 1, 2, 2, 2, 2, 2, 2]),
])
def test_loop_modes_decide_which_clip_frame_the_timeline_shows(loop_mode, order):
    poster, clips = animated_poster(np.random.default_rng(5))
    clip = next(c for c in clips if c.frame_count == 3)
    clip.loop_mode = loop_mode
    assert [clip_index(t, 3, loop_mode) for t in range(8)] == order
    frames = [frame.copy() for frame in iter_frames(poster, [clip], frames=8)]
    for t, k in enumerate(order):
        np.testing.assert_array_equal(frames[t], frames[k])
    assert not np.array_equal(frames[1], frames[2])


def test_an_unknown_loop_mode_is_refused():
    with pytest.raises(PosterError, match="Loop mode"):
        LayerClip(1, Box(0, 0, 2, 2), np.zeros((2, 2, 2, 4), np.uint8), loop_mode="bounce")


def test_preview_is_drawn_at_preview_size_and_looks_like_the_full_render_shrunk():
    from PIL import Image

    rng = np.random.default_rng(13)
    width, height = 240, 160
    background = Layer(1, "bg", np.dstack([np.linspace(0, 255, width * height).reshape(height, width).astype(np.uint8)] * 3
                                           + [np.full((height, width), 255, np.uint8)]), Box(0, 0, width, height))
    sprite_pixels = np.zeros((40, 60, 4), np.uint8)
    sprite_pixels[..., 0], sprite_pixels[..., 3] = 230, 255
    sprite = Layer(2, "sprite", sprite_pixels, Box(90, 60, 60, 40))
    box = Box(70, 40, 100, 80)
    frames = np.zeros((4, box.h, box.w, 4), np.uint8)
    for t in range(4):
        frames[t, 20:60, 20 + 5 * t : 80 + 5 * t] = sprite_pixels
    frames[0] = place_static(sprite, box)
    poster = Poster(width, height, [background, sprite])
    clip = LayerClip(2, box, frames)
    small = [frame.copy() for frame in iter_frames(poster, [clip], scale=0.5)]
    assert small[0].shape == (80, 120, 4)
    for t, full in enumerate(iter_frames(poster, [clip])):
        shrunk = np.asarray(Image.fromarray(full, "RGBA").resize((120, 80), Image.Resampling.BILINEAR))
        assert np.abs(shrunk.astype(int) - small[t].astype(int)).mean() < 2.0
    assert not np.array_equal(small[0], small[3])
    with pytest.raises(PosterError, match="scale"):
        next(iter_frames(poster, [clip], scale=1.5))


def test_no_production_module_renders_a_whole_video_at_once():
    """render() allocates every frame; the editor, CLI and exporters must stream instead."""
    import ast

    from tests.helpers.paths import REPO_ROOT

    offenders = []
    for path in [*(REPO_ROOT / "engine").rglob("*.py"), *(REPO_ROOT / "app").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "engine.render.compositor":
                if any(alias.name == "render" for alias in node.names):
                    offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []
