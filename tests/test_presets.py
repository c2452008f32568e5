"""The procedural preset engine: identity, confinement, loops, motion, validation, halo-free
sampling, determinism, groups and the engine registry."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

import engine
from engine.motion import Animator, available_engines, get_engine
from engine.core.clip import place_static
from engine.motion.base import MotionRequest
from engine.motion.presets import PRESETS, ParamSpec, Preset, PresetAnimator, motion_times
from engine.motion.presets.resample import FramePlan, PixelGrid, render_motion
from engine.motion.presets.transforms import affine_forward
from engine.core.poster import Box, Layer, LayerKind, PosterError

CONTRACT_IDS = (
    "bob", "wave_rotate", "text_wave", "typewriter", "fade", "slide_in", "float", "sway", "breathe",
    "bounce", "shake", "spin", "flag_wave", "jelly", "zoom", "fly_away",
)
#: Presets that hide the layer on purpose (fades, reveals, exits, entrances, flicker), or
#: draw over it (particles): alpha mass is not kept.
VISIBILITY_PRESETS = {"typewriter", "fade", "slide_in", "fly_away", "pop_in", "flicker", "particles"}
#: Presets that change the layer's size on purpose (a flap squashes the width).
SCALING_PRESETS = {"breathe", "zoom", "flutter"}
#: Presets that move the picture inside its own frame and crop there (camera, surface,
#: particles, light): a hard-edged layer keeps its hard edge, and light changes colour.
FRAMED_PRESETS = {"ripple", "caustics", "shimmer", "push_in", "pan", "particles"}
#: Presets whose travel distance is the box margin itself, so a bigger box changes them.
MARGIN_TRAVEL_PRESETS = {"slide_in", "fly_away"}

FRAMES = 24
LAYER_BOX = Box(40, 36, 60, 24)
MOTION_BOX = Box(0, 0, 140, 96)
ROOMY_BOX = Box(-40, -40, 220, 176)


def text_pixels(text: str, size: int, box_w: int, box_h: int, colour=(250, 215, 60, 255)) -> np.ndarray:
    """Anti-aliased type rendered by Pillow's built-in scalable font, cropped to its ink."""
    font = ImageFont.load_default(size)
    image = Image.new("RGBA", (box_w * 3, box_h * 3), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((4, 4), text, font=font, fill=colour)
    image = image.crop(image.getbbox()).resize((box_w, box_h), Image.Resampling.LANCZOS)
    pixels = np.array(image)
    pixels[pixels[..., 3] == 0, :3] = 0
    return pixels


@functools.lru_cache(maxsize=None)
def title_layer() -> Layer:
    pixels = text_pixels("Wave me", 40, LAYER_BOX.w, LAYER_BOX.h)
    return Layer(id=7, name="Title", pixels=pixels, box=LAYER_BOX, kind=LayerKind.TEXT, text="Wave me")


def white_layer(box: Box = LAYER_BOX) -> Layer:
    """Opaque white with a hard edge: the worst case for dark fringes after resampling."""
    pixels = np.full((box.h, box.w, 4), 255, dtype=np.uint8)
    return Layer(id=3, name="White", pixels=pixels, box=box)


def request(preset: str, box: Box = MOTION_BOX, layer: Layer | None = None, **kw) -> MotionRequest:
    params = {"preset": preset, **kw.pop("params", {})}
    return MotionRequest(layer=layer or title_layer(), box=box, params=params, frames=kw.pop("frames", FRAMES), **kw)


@functools.lru_cache(maxsize=None)
def clip_of(preset: str, box: Box = MOTION_BOX):
    return PresetAnimator().animate([request(preset, box)])[0]


def alpha_mass(frames: np.ndarray) -> np.ndarray:
    return frames[..., 3].reshape(frames.shape[0], -1).sum(axis=1, dtype=np.int64)


def step_sizes(frames: np.ndarray) -> np.ndarray:
    """Mean absolute change from each frame to the next, including last -> first."""
    f = frames.astype(np.int16)
    looped = np.concatenate((f, f[:1]))
    return np.abs(np.diff(looped, axis=0)).mean(axis=(1, 2, 3))


def test_registry_has_every_contract_preset_with_parameters():
    assert set(CONTRACT_IDS) <= set(PRESETS)
    for name, preset in PRESETS.items():
        assert isinstance(preset, Preset) and preset.name == name
        assert preset.label and preset.description
        assert preset.params, name
        for spec in preset.params.values():
            assert isinstance(spec, ParamSpec)
            assert spec.kind in {"float", "int", "choice", "bool"}
            if spec.kind in {"float", "int"}:
                assert spec.min <= spec.default <= spec.max
            if spec.kind == "choice":
                assert spec.default in spec.choices
        assert preset.validate({}) == preset.defaults()


def test_shared_parameters_mean_the_same_everywhere():
    for preset in PRESETS.values():
        for name, spec in preset.params.items():
            if name == "amplitude":
                assert (spec.kind, spec.min, spec.max) == ("float", 0.0, 1.0)
            if name == "cycles":
                assert (spec.kind, spec.min, spec.max) == ("int", 1, 8)
            if name == "easing":
                assert set(spec.choices) == {"linear", "sine", "ease_in", "ease_out", "ease_in_out"}
            if name in ("pivot", "direction"):
                assert set(spec.choices) <= {"center", "bottom", "top", "left", "right", "up", "down"}
            if name == "phase":
                assert (spec.min, spec.max) == (0.0, 1.0)
            if name == "loop":
                assert spec.kind == "bool"


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_frame_zero_is_the_static_layer_and_shapes_are_right(preset):
    clip = clip_of(preset)
    assert clip.frames.shape == (FRAMES, MOTION_BOX.h, MOTION_BOX.w, 4)
    assert clip.frames.dtype == np.uint8
    assert clip.box == MOTION_BOX and clip.layer_id == 7 and clip.engine == "presets" and clip.preset == preset
    static = place_static(title_layer(), MOTION_BOX)
    if preset == "particles":  # drawn over the layer and already falling on frame 0 (see particles.py)
        changed = np.any(clip.frames[0] != static, axis=-1)
        assert changed.any() and (clip.frames[0][..., 3] >= static[..., 3]).all()  # only covered, never moved
        bare = PresetAnimator().animate([request(preset, params={"preroll": False})])[0]
        np.testing.assert_array_equal(bare.frames[0], static)
    else:
        np.testing.assert_array_equal(clip.frames[0], static)
    assert clip.params == PRESETS[preset].validate(clip.params)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_something_actually_moves(preset):
    frames = clip_of(preset).frames.astype(np.int16)
    change = np.abs(frames[1:] - frames[0]).max(axis=(1, 2, 3))
    assert change.max() >= 100, f"{preset} barely changes the layer"
    assert (change > 0).sum() >= FRAMES // 3, f"{preset} moves in too few frames"


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_loops_are_seamless(preset):
    clip = clip_of(preset)
    steps = step_sizes(clip.frames)
    seam = steps[-1]  # last frame -> frame 0
    assert seam <= 1.2 * steps[:-1].max() + 1e-9
    assert seam <= 3.0 * np.median(steps[:-1]) + 0.05, f"{preset} jumps at the loop seam"


def build_motion(preset: str, times: np.ndarray, layer: Layer | None = None, box: Box = MOTION_BOX):
    from engine.motion.presets.stage import Stage

    spec = PRESETS[preset]
    layer = layer or title_layer()
    static = place_static(layer, box)
    stage = Stage.from_static(static, seed=0)
    return static, spec.build(stage, spec.validate({}), times)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_motion_is_continuous_at_the_rest_pose(preset):
    """Resampled at u = 0 the motion reproduces the static layer, and a hair later it has
    barely changed: no jump hides behind the exact copy of frame 0."""
    static, motion = build_motion(preset, np.array([0.0, 1e-5]))
    motion.still = np.zeros(2, dtype=bool)  # force resampling of the rest pose too
    frames = render_motion(static, motion)
    rest = static
    if motion.rests_at_start:
        assert np.abs(frames[0].astype(np.int16) - static).max() <= 1
    else:  # pre-rolled particles are drawn over frame 0 already: continuity is to that frame
        rest = frames[0]
    # a newly touched pixel may show alpha 1 with its full colour: compare what is seen
    assert np.abs(as_seen(frames[1]) - as_seen(rest)).max() <= 2


def as_seen(rgba: np.ndarray) -> np.ndarray:
    """Premultiplied colour and alpha: what a compositor actually shows."""
    rgba = rgba.astype(np.float64)
    return np.concatenate((rgba[..., :3] * rgba[..., 3:] / 255.0, rgba[..., 3:]), axis=-1)


@pytest.mark.parametrize("preset", sorted(set(PRESETS) - MARGIN_TRAVEL_PRESETS))
def test_content_is_not_cut_off_by_the_box(preset):
    """The same motion rendered in a box with much more room shows exactly as much of the
    layer: nothing was cut at the motion box's edges."""
    tight, roomy = clip_of(preset), clip_of(preset, ROOMY_BOX)
    assert not any("reduced" in m or "no room" in m or "shrinks" in m for m in tight.messages), tight.messages
    np.testing.assert_allclose(alpha_mass(tight.frames), alpha_mass(roomy.frames), rtol=0.002, atol=255)


@pytest.mark.parametrize("preset", sorted(set(PRESETS) - VISIBILITY_PRESETS - SCALING_PRESETS))
def test_moving_presets_keep_the_layer_mass(preset):
    mass = alpha_mass(clip_of(preset).frames)
    np.testing.assert_allclose(mass, mass[0], rtol=0.05)


@pytest.mark.parametrize("preset", sorted(MARGIN_TRAVEL_PRESETS))
def test_entering_and_leaving_layers_stay_whole(preset):
    """While clearly visible, an entering or leaving layer is never cut: its ink keeps
    (nearly) its full width and height."""
    frames = clip_of(preset).frames
    static = frames[0, ..., 3]
    full_w = np.ptp(np.flatnonzero(static.any(axis=0)))
    full_h = np.ptp(np.flatnonzero(static.any(axis=1)))
    checked = 0
    for frame in frames:
        alpha = frame[..., 3]
        if alpha.max() < 160:
            continue
        checked += 1
        assert np.ptp(np.flatnonzero(alpha.any(axis=0))) >= 0.85 * full_w - 2
        assert np.ptp(np.flatnonzero(alpha.any(axis=1))) >= 0.85 * full_h - 2
    assert checked >= 4


def test_entering_layer_travels_from_the_edge_behind_it():
    clip = PresetAnimator().animate([request("slide_in", params={"direction": "right", "amplitude": 1.0})])[0]
    lefts = [np.flatnonzero(f[..., 3].any(axis=0))[0] for f in clip.frames if f[..., 3].max() > 0]
    assert min(lefts) <= 0.2 * (LAYER_BOX.x - MOTION_BOX.x)  # starts near the box's left edge
    assert lefts[-1] == LAYER_BOX.x - MOTION_BOX.x  # and settles in place


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_no_dark_halo_after_sub_pixel_motion(preset):
    """A white layer on transparent black keeps white edges: resampling is premultiplied."""
    params = {"shading": False} if "shading" in PRESETS[preset].params else {}
    clip = PresetAnimator().animate([request(preset, layer=white_layer(), params=params)])[0]
    visible = clip.frames[..., 3] > 0
    if preset in FRAMED_PRESETS:  # cropped at its own frame: no partly covered edge to check
        if preset not in {"shimmer", "caustics", "particles"}:  # light darkens white on purpose; so does snow on white
            assert clip.frames[..., :3][visible].min() >= 254
        assert (clip.frames[..., :3][~visible] == 0).all()
        return
    assert (clip.frames[..., 3][visible] < 255).any(), "no partly covered edge pixels were produced"
    assert clip.frames[..., :3][visible].min() >= 254
    assert (clip.frames[..., :3][~visible] == 0).all(), "fully transparent pixels must carry no colour"


def naive_straight_alpha_shift(rgba: np.ndarray, dx: float) -> np.ndarray:
    """What resampling straight (not premultiplied) RGBA would give: the classic halo bug."""
    image = torch.from_numpy(rgba).float().permute(2, 0, 1)[None]
    h, w = rgba.shape[:2]
    theta = torch.tensor([[[1.0, 0.0, -2.0 * dx / w], [0.0, 1.0, 0.0]]])
    grid = torch.nn.functional.affine_grid(theta, (1, 4, h, w), align_corners=False)
    out = torch.nn.functional.grid_sample(image, grid, align_corners=False)
    return out[0].permute(1, 2, 0).round().to(torch.uint8).numpy()


def test_sampler_shifts_and_rotates_white_without_fringes_or_jaggies():
    layer = white_layer(Box(20, 20, 30, 20))
    static = place_static(layer, Box(0, 0, 70, 60))
    naive = naive_straight_alpha_shift(static, 0.37)
    assert naive[..., :3][naive[..., 3] > 0].min() < 200  # the check below can fail

    grid = PixelGrid(60, 70)
    forward = affine_forward((35.0, 30.0), angle=np.array([0.0, np.radians(7.0)]), tx=np.array([0.37, 0.37]))
    inverse = np.linalg.inv(forward)[:, :2, :]
    frames = render_motion(static, FramePlan(2, source=grid.affine_source(inverse)))
    rotated = frames[1]
    visible = rotated[..., 3] > 0
    assert rotated[..., :3][visible].min() >= 254
    edge = (rotated[..., 3] > 0) & (rotated[..., 3] < 255)
    assert edge.sum() >= 60, "a rotated hard edge must be anti-aliased, not stair-stepped"


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_cropped_rendering_equals_full_box_rendering(preset):
    """The speed-up that resamples only where the content can land changes no pixel."""
    static, motion = build_motion(preset, motion_times(FRAMES, 0, True))
    np.testing.assert_array_equal(render_motion(static, motion, crop=True), render_motion(static, motion, crop=False))


@pytest.mark.parametrize("preset", ["sway", "typewriter", "flag_wave"])
def test_rendering_in_bands_equals_rendering_whole_frames(preset, monkeypatch):
    """Large boxes are resampled in bands of rows to bound memory; no pixel may change."""
    from engine.motion.presets import resample as sampling

    static, motion = build_motion(preset, motion_times(FRAMES, 0, True))
    whole = render_motion(static, motion)
    monkeypatch.setattr(sampling, "_CHUNK_PIXELS", 700)  # a few rows per band
    np.testing.assert_array_equal(render_motion(static, motion), whole)


def test_a_late_start_holds_the_static_layer_first():
    clip = PresetAnimator().animate([request("bob", start=5)])[0]
    static = place_static(title_layer(), MOTION_BOX)
    for i in range(6):
        np.testing.assert_array_equal(clip.frames[i], static)
    assert not np.array_equal(clip.frames[7], static)
    assert clip.frames.shape[0] == FRAMES


def test_same_seed_same_clip_and_seed_changes_shake():
    first = PresetAnimator().animate([request("shake", seed=11)])[0].frames
    again = PresetAnimator().animate([request("shake", seed=11)])[0].frames
    other = PresetAnimator().animate([request("shake", seed=12)])[0].frames
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize(
    ("preset", "params", "named"),
    [
        ("bob", {"amplitude": 1.5}, "amplitude"),
        ("bob", {"amplitude": "lots"}, "amplitude"),
        ("bob", {"amplitude": float("nan")}, "amplitude"),
        ("sway", {"cycles": 0}, "cycles"),
        ("sway", {"cycles": 2.5}, "cycles"),
        ("spin", {"easing": "bouncy"}, "easing"),
        ("sway", {"pivot": "elbow"}, "pivot"),
        ("fly_away", {"direction": "sideways"}, "direction"),
        ("float", {"phase": -0.1}, "phase"),
        ("zoom", {"loop": "maybe"}, "loop"),
        ("bob", {"speed": 2}, "speed"),
    ],
)
def test_bad_parameters_are_named_in_a_poster_error(preset, params, named):
    with pytest.raises(PosterError, match=f"'{named}'") as caught:
        PresetAnimator().animate([request(preset, params=params)])[0]
    assert preset in str(caught.value)


def test_out_of_range_message_states_the_allowed_range():
    with pytest.raises(PosterError, match="from 0 to 1"):
        PRESETS["bob"].validate({"amplitude": 3})
    assert PRESETS["bob"].validate({"cycles": 3.0, "loop": "false"})["cycles"] == 3


def test_unknown_preset_is_a_poster_error_with_a_suggestion():
    with pytest.raises(PosterError, match="Did you mean 'bounce'"):
        PresetAnimator().animate([request("bounse")])[0]


def test_a_box_without_room_keeps_the_layer_still_and_says_so():
    layer = title_layer()
    clip = PresetAnimator().animate([request("bob", box=layer.box)])[0]
    assert all(np.array_equal(frame, layer.pixels) for frame in clip.frames)
    assert any("no room" in message for message in clip.messages)


def test_a_tight_box_shrinks_the_motion_instead_of_cutting_the_layer():
    tight = Box(LAYER_BOX.x - 40, LAYER_BOX.y - 2, LAYER_BOX.w + 80, LAYER_BOX.h + 4)
    clip = PresetAnimator().animate([request("bob", box=tight, params={"amplitude": 1.0})])[0]
    assert any("reduced" in message for message in clip.messages)
    mass = alpha_mass(clip.frames)
    np.testing.assert_allclose(mass, mass[0], rtol=0.01)


def test_fully_transparent_layer_gives_a_still_clip_and_a_message():
    layer = Layer(id=1, name="Ghost", pixels=np.zeros((10, 10, 4), np.uint8), box=Box(5, 5, 10, 10))
    clip = PresetAnimator().animate([MotionRequest(layer=layer, box=Box(0, 0, 20, 20), params={"preset": "spin"}, frames=6)])[0]
    assert not clip.frames.any()
    assert any("transparent" in message for message in clip.messages)


def test_prompt_picks_the_preset_and_unknown_prompts_say_so():
    animator = PresetAnimator()
    waved = animator.animate([MotionRequest(layer=title_layer(), box=MOTION_BOX, prompt="the title waves gently", frames=8)])[0]
    assert waved.preset == "text_wave" and waved.params["amplitude"] < 0.5
    # issue 15: the clip says what was understood (motion, parameters, the words that chose them)
    assert waved.messages == ["Understood: Text wave ('text_wave') from 'waves'; amplitude 0.25 from 'gently'."]
    unknown = animator.animate([MotionRequest(layer=title_layer(), box=MOTION_BOX, prompt="do your thing", frames=8)])[0]
    assert unknown.preset == "bob" and "bob" in unknown.messages[0]
    blob = Layer(id=2, name="Blob", pixels=title_layer().pixels, box=LAYER_BOX)
    nothing = animator.animate([MotionRequest(layer=blob, box=MOTION_BOX, frames=8)])[0]
    assert nothing.preset == "float" and nothing.messages


def test_explicit_preset_wins_and_prompt_adverbs_still_tune_it():
    clip = PresetAnimator().animate([request("sway", prompt="bob wildly 3 times", frames=8)])[0]
    assert clip.preset == "sway"
    assert clip.params["amplitude"] == 0.9 and clip.params["cycles"] == 3
    explicit = PresetAnimator().animate([request("sway", prompt="wildly", params={"amplitude": 0.2}, frames=8)])[0]
    assert explicit.params["amplitude"] == 0.2  # explicit parameters beat the prompt's adverbs


def test_group_shares_preset_and_parameters_with_a_deliberate_stagger():
    letters = [
        Layer(id=10 + i, name=f"L{i}", pixels=title_layer().pixels, box=Box(40, 36, 60, 24), kind=LayerKind.TEXT)
        for i in range(3)
    ]
    requests = [MotionRequest(layer=layer, box=MOTION_BOX, frames=FRAMES) for layer in letters]
    clips = PresetAnimator().animate(requests, group_prompt="the letters bob one after another")
    assert [c.preset for c in clips] == ["bob"] * 3
    assert [c.layer_id for c in clips] == [10, 11, 12]
    phases = [c.params["phase"] for c in clips]
    assert phases == pytest.approx([0.0, 0.15, 0.30])
    for clip in clips:
        assert {k: v for k, v in clip.params.items() if k != "phase"} == {
            k: v for k, v in clips[0].params.items() if k != "phase"
        }
        np.testing.assert_array_equal(clip.frames[0], clips[0].frames[0])
    assert not np.array_equal(clips[0].frames, clips[1].frames)

    together = PresetAnimator().animate(requests, group_prompt="the letters bob")
    for clip in together[1:]:
        np.testing.assert_array_equal(clip.frames, together[0].frames)


def test_group_stagger_delays_one_shot_motions_in_order():
    words = [
        Layer(id=20 + i, name=f"W{i}", pixels=title_layer().pixels, box=LAYER_BOX, kind=LayerKind.TEXT)
        for i in range(8)
    ]
    requests = [MotionRequest(layer=w, box=MOTION_BOX, frames=FRAMES, params={"stagger": 0.2}) for w in words]
    clips = PresetAnimator().animate(requests, group_prompt="type out")
    assert [c.preset for c in clips] == ["typewriter"] * 8
    assert [c.params["phase"] for c in clips] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.9, 0.9])
    assert PRESETS["typewriter"].phase_is_delay and not PRESETS["bob"].phase_is_delay


def test_group_says_when_a_layer_s_own_parameters_give_way():
    first = MotionRequest(layer=title_layer(), box=MOTION_BOX, frames=4, params={"amplitude": 0.3})
    other = Layer(id=8, name="Second", pixels=title_layer().pixels, box=LAYER_BOX, kind=LayerKind.TEXT)
    second = MotionRequest(layer=other, box=MOTION_BOX, frames=4, params={"amplitude": 0.9})
    clips = PresetAnimator().animate([first, second], group_prompt="bob")
    assert [c.params["amplitude"] for c in clips] == [0.3, 0.3]
    assert any("'Second'" in m for m in clips[1].messages)


def test_group_needs_layers():
    with pytest.raises(PosterError, match="at least one layer"):
        PresetAnimator().animate([], group_prompt="bob")


def test_engine_registry_and_public_shortcut():
    animator = get_engine("presets")
    assert isinstance(animator, Animator) and animator.name == "presets"
    engines = available_engines()
    assert engines["presets"][0] is True
    assert set(engines) >= {"presets", "dmdl"}
    assert all(isinstance(reason, str) and reason for _, reason in engines.values())
    with pytest.raises(PosterError, match="no motion engine called 'warp9'"):
        get_engine("warp9")
    assert engine.PRESETS is PRESETS
    assert engine.PresetAnimator is PresetAnimator and engine.get_engine is get_engine
    assert engine.available_engines is available_engines
    assert engine.preset_for_prompt("the flag flutters", LayerKind.PIXEL).preset == "flag_wave"
    clip = engine.animate(request("float", frames=4))
    assert clip.frames.shape[0] == 4


def test_one_frame_clip_is_just_the_static_layer():
    clip = PresetAnimator().animate([request("spin", frames=1)])[0]
    np.testing.assert_array_equal(clip.frames[0], place_static(title_layer(), MOTION_BOX))


def test_one_shot_ends_on_its_end_pose():
    gone = PresetAnimator().animate([request("fly_away", params={"loop": False})])[0]
    assert gone.frames[-1, ..., 3].max() == 0  # it has flown away
    back = PresetAnimator().animate([request("bob", params={"loop": False})])[0]
    np.testing.assert_array_equal(back.frames[-1], back.frames[0])
