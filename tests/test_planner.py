"""The offline planner and the public planning API (no network: OPENAI_* unset)."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.planning import LLMSettings, Plan, boxes_for_preset, plan, planner_status
from engine.planning.geometry import allowed_region, fit_motion_box, fit_problem, margins
from engine.motion.presets import PRESETS
from engine.planning.heuristic import checked_params, swept_boxes, with_placement_defaults
from engine.core.poster import Box, LayerKind, Poster, PosterError
from tests.helpers.layers import solid_layer

GRID = 16


@pytest.fixture(autouse=True)
def no_llm(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def poster() -> Poster:
    """A 1024×768 poster whose layers sit on the 16-px grid, away from the edges."""
    return Poster(
        width=1024,
        height=768,
        name="planner",
        layers=[
            solid_layer(1, "Background", Box(0, 0, 1024, 768), (20, 30, 40, 255)),
            solid_layer(2, "Cat", Box(432, 320, 160, 128), (200, 120, 40, 255)),
            solid_layer(3, "Bird", Box(192, 320, 96, 96), (40, 40, 40, 255)),
            solid_layer(4, "Title", Box(352, 160, 320, 64), (255, 255, 255, 255), kind=LayerKind.TEXT, text="SALE"),
            solid_layer(5, "Subtitle", Box(352, 576, 320, 48), (255, 255, 255, 255), kind=LayerKind.TEXT, text="today"),
            solid_layer(6, "Corner", Box(960, 16, 64, 64), (255, 0, 0, 255)),
            solid_layer(7, "Overhang", Box(-40, 600, 120, 100), (0, 255, 0, 255)),
        ],
    )


def growth(plan_: Plan, poster: Poster, layer: str) -> tuple[int, int, int, int]:
    """left, top, right, bottom growth of a layer's planned box past its static box."""
    box = Box(*plan_.boxes[layer])
    return margins(box, poster.layer(layer).box)


def motion_growth(plan_: Plan, poster: Poster) -> dict[str, tuple[int, int, int, int]]:
    """Growth of each layer's swept motion (inside the canvas) before grid snapping.

    Snapping to 16 px rounds small motions up on every side, which hides their shape;
    the planned boxes must contain these sweeps, and the sweeps show the direction.
    """
    statics = [poster.layer(i).box for i in plan_.layer_ids]
    swept = swept_boxes(statics, poster.canvas, plan_.preset, plan_.params)
    result = {}
    for name, layer_id, static, reach in zip(plan_.layer_names, plan_.layer_ids, statics, swept):
        inside = reach.intersection(allowed_region(poster.canvas, static))
        assert plan_.layer_boxes[layer_id].contains(inside)
        result[name] = margins(inside, static)
    return result


def expands(pattern: str, grown: tuple[int, int, int, int]) -> bool:
    """Whether growth (l, t, r, b) has the expected shape."""
    left, top, right, bottom = grown
    return {
        "up": top > 0 and top > max(bottom, left, right),
        "down": bottom > 0 and bottom > max(top, left, right),
        "left": left > 0 and left > max(right, top, bottom),
        "right": right > 0 and right > max(left, top, bottom),
        "sides": left == right > max(top, bottom),
        "vertical": top == bottom > max(left, right),
        "up_and_down": min(top, bottom) > max(left, right),
        "around": left == right > 0 and top == bottom > 0,
        "none": grown == (0, 0, 0, 0),
    }[pattern]


# (layers, prompt, expected preset, expected expansion of every layer)
PROMPT_TABLE = [
    ("Cat", "the cat jumps", "bounce", "up"),
    ("Cat", "the cat bounces happily", "bounce", "up"),
    ("Cat", "the cat hops wildly", "bounce", "up"),
    ("Cat", "the cat jumps to the right", "bounce", "up"),
    ("Cat", "the frog leaps", "bounce", "up"),
    ("Cat", "the tree sways gently in the wind", "sway", "sides"),
    ("Cat", "the flower sways", "sway", "sides"),
    ("Cat", "the grass rustles in the breeze", "sway", "sides"),
    ("Cat", "the lamp swings like a pendulum", "sway", "sides"),
    ("Cat", "the sign dangles", "sway", "sides"),
    ("Cat", "the hand waves", "sway", "sides"),
    ("Cat", "the boat rocks on the sea", "sway", "sides"),
    ("Cat", "the cat moves side to side", "sway", "sides"),
    ("Cat", "the phone shakes", "shake", "sides"),
    ("Cat", "the ground trembles violently", "shake", "sides"),
    ("Cat", "the wheel spins fast", "spin", "around"),
    ("Cat", "the star rotates slowly", "spin", "around"),
    ("Cat", "the heart pulses", "breathe", "around"),
    ("Cat", "the lantern glows and breathes", "breathe", "around"),
    ("Cat", "the logo zooms in", "zoom", "around"),
    ("Cat", "the badge pops and grows", "zoom", "around"),
    ("Cat", "the car drives in from the left", "slide_in", "left"),
    ("Cat", "the card slides in from the right", "slide_in", "right"),
    ("Cat", "the sun slides in from the top", "slide_in", "up"),
    ("Cat", "the boat enters from the bottom", "slide_in", "down"),
    ("Cat", "the bird flies away to the right", "fly_away", "right"),
    ("Cat", "the bird flies away", "fly_away", "up"),
    ("Cat", "the plane flies off to the left", "fly_away", "left"),
    ("Cat", "the leaf falls", "fly_away", "down"),
    ("Cat", "the rain drops down", "fly_away", "down"),
    ("Cat", "the rocket takes off", "fly_away", "up"),
    ("Cat", "the balloon floats up and away", "fly_away", "up"),
    ("Cat", "the ball rolls to the left", "fly_away", "left"),
    ("Cat", "the car drives away", "fly_away", "right"),
    ("Cat", "the ghost floats gently", "float", "vertical"),
    ("Cat", "the cloud hovers", "float", "vertical"),
    ("Cat", "the buoy bobs up and down", "bob", "vertical"),
    ("Cat", "the flag waves in the wind", "flag_wave", "up_and_down"),  # its ripple lifts more than it sinks
    ("Cat", "the curtain flutters", "flag_wave", "up_and_down"),
    ("Cat", "the balloon drifts up gently", "float", "vertical"),  # stays on the poster: a loopable hover
    ("Cat", "the balloon rises gently", "float", "vertical"),
    ("Cat", "the sun rises slowly", "float", "vertical"),
    ("Cat", "the sun rises into view", "slide_in", "down"),
    ("Cat", "the balloon drifts up and away", "fly_away", "up"),
    ("Cat", "the ghost floats up and down", "float", "vertical"),
    ("Cat", "the kangaroo bounces up and down", "bounce", "up"),
    ("Cat", "the fish swims", "float", "vertical"),
    ("Cat", "the dog wags its tail", "sway", "sides"),
    ("Cat", "the puppet dances", "sway", "sides"),
    ("Cat", "the robot marches", "bob", "vertical"),
    ("Cat", "something mysterious happens", "float", "vertical"),
    ("Title", "the title waves gently", "text_wave", "vertical"),
    ("Title", "the headline ripples", "text_wave", "vertical"),
    ("Title", "the title bobs", "bob", "vertical"),
    ("Title", "letters rock side to side", "wave_rotate", "sides"),
    ("Title", "wave-like rotation along the title", "wave_rotate", "sides"),
    ("Title", "the text appears letter by letter", "typewriter", "none"),
    ("Title", "typewriter effect", "typewriter", "none"),
    ("Title", "the headline fades in", "fade", "none"),
    ("Title", "the title slides in from the left", "slide_in", "left"),
    ("Title", "the letters dance", "wave_rotate", "sides"),
    ("Title", "make it special", "bob", "vertical"),
    (["Cat", "Bird"], "the two birds fly together to the right", "fly_away", "right"),
    (["Cat", "Bird"], "both float gently", "float", "vertical"),
    (["Cat", "Bird"], "they jump together", "bounce", "up"),
    (["Cat", "Bird"], "the pair falls", "fly_away", "down"),
    (["Title", "Subtitle"], "the words wave", "text_wave", "vertical"),
    (["Title", "Subtitle"], "the lines slide in from the right", "slide_in", "right"),
    (["Title", "Subtitle"], "both fade out", "fade", "none"),
]


def _layers(entry) -> list[str]:
    return [entry] if isinstance(entry, str) else list(entry)


@pytest.mark.parametrize("layers, prompt, preset, pattern", PROMPT_TABLE, ids=[row[1] for row in PROMPT_TABLE])
def test_heuristic_reads_the_prompt_and_expands_the_right_way(poster, layers, prompt, preset, pattern):
    (result,) = plan(poster, [(layers, prompt)])
    assert result.source == "heuristic" and result.message is None
    assert result.preset == preset, result.rationale
    for name, grown in motion_growth(result, poster).items():
        assert expands(pattern, grown), (name, grown, result.rationale)
    assert result.rationale and "\n" not in result.rationale


def test_the_prompt_table_is_large_and_has_groups():
    assert len(PROMPT_TABLE) >= 40
    assert sum(1 for row in PROMPT_TABLE if not isinstance(row[0], str)) >= 5


@pytest.mark.parametrize("layers, prompt", [(row[0], row[1]) for row in PROMPT_TABLE[::3]])
def test_every_heuristic_box_is_on_the_grid_inside_the_canvas_and_holds_the_layer(poster, layers, prompt):
    (result,) = plan(poster, [(layers, prompt)])
    for name in _layers(layers):
        static, box = poster.layer(name).box, Box(*result.boxes[name])
        assert box.contains(static)
        assert poster.canvas.contains(box)
        assert box.x % GRID == 0 and box.y % GRID == 0
        assert box.right % GRID == 0 or box.right == poster.width
        assert box.bottom % GRID == 0 or box.bottom == poster.height
        checked_params(result.preset, result.params)  # raises if the registry would refuse them


def test_amplitude_words_scale_the_box(poster):
    gentle, normal, wild = plan(
        poster, [("Cat", "the tree sways gently"), ("Cat", "the tree sways"), ("Cat", "the tree sways wildly")]
    )
    sides = [motion_growth(p, poster)["Cat"][0] for p in (gentle, normal, wild)]
    assert sides[0] < sides[1] < sides[2]
    assert gentle.params["amplitude"] < wild.params["amplitude"]
    assert "amplitude" not in normal.params


def test_speed_words_set_cycles(poster):
    fast, slow = plan(poster, [("Cat", "the wheel spins quickly"), ("Cat", "the wheel spins slowly")])
    assert fast.params["cycles"] > slow.params["cycles"]


def test_group_travel_expands_every_layer_the_same_way(poster):
    (result,) = plan(poster, [(["Cat", "Bird"], "the two birds fly together to the right")])
    cat, bird = Box(*result.boxes["Cat"]), Box(*result.boxes["Bird"])
    assert cat.right == bird.right == poster.width
    assert growth(result, poster, "Cat")[:2] == growth(result, poster, "Bird")[:2] == (0, 0)
    assert result.params["direction"] == "right"


def test_group_jump_lifts_every_layer_by_the_same_height(poster):
    (result,) = plan(poster, [(["Cat", "Bird"], "they bounce together")])
    grown = motion_growth(result, poster)
    assert grown["Cat"][1] == grown["Bird"][1] > 0  # the same jump height for both


def test_boxes_are_clamped_at_the_canvas_edge(poster):
    (result,) = plan(poster, [("Corner", "jumps wildly")])
    box = Box(*result.boxes["Corner"])
    assert box.y == 0 and box.right == poster.width
    assert box.contains(poster.layer("Corner").box)


def test_a_layer_hanging_off_the_canvas_keeps_its_whole_box(poster):
    (result,) = plan(poster, [("Overhang", "spins")])
    box = Box(*result.boxes["Overhang"])
    assert box.contains(poster.layer("Overhang").box)
    assert box.x == -40  # never wider than the layer past the canvas
    assert box.bottom <= poster.height and box.y >= 0


def test_a_canvas_off_the_grid_clamps_after_snapping():
    odd = Poster(width=1000, height=750, layers=[solid_layer(1, "Ball", Box(900, 300, 90, 90), (1, 2, 3, 255))])
    (result,) = plan(odd, [("Ball", "flies away to the right")])
    box = Box(*result.boxes["Ball"])
    assert box.right == 1000 and box.contains(odd.layer("Ball").box)


def test_the_heuristic_is_deterministic(poster):
    requests = [(row[0], row[1]) for row in PROMPT_TABLE]
    first = [(p.boxes, p.preset, p.params, p.rationale) for p in plan(poster, requests)]
    second = [(p.boxes, p.preset, p.params, p.rationale) for p in plan(poster, requests)]
    assert first == second


def test_requests_accept_names_ids_single_strings_and_mappings(poster):
    by_name, by_id, by_mapping = plan(
        poster, [("Cat", "jumps"), ([2, 3], "jumps together"), {"layers": "Bird", "prompt": "jumps"}]
    )
    assert set(by_name.boxes) == {"Cat"} and by_name.layer_ids == (2,)
    assert set(by_id.boxes) == {"Cat", "Bird"}
    assert by_mapping.layer_ids == (3,)
    assert engine.plan is plan


@pytest.mark.parametrize(
    "requests, words",
    [
        ([("Moon", "jumps")], "no layer named 'Moon'"),
        ([("Cat", "   ")], "Type a motion prompt"),
        ([((), "jumps")], "at least one layer"),
        ([(["Cat", "cat"], "jumps")], "listed twice"),
        ([("Cat",)], "(layers, prompt)"),
        ([("Cat", 5)], "text prompt"),
        (("Cat", "jumps"), "(layers, prompt)"),
        ("Cat", "list of planning requests"),
    ],
)
def test_bad_requests_get_a_sentence(poster, requests, words):
    with pytest.raises(PosterError) as info:
        plan(poster, requests)
    assert words in str(info.value)


def test_boxes_for_a_hand_picked_preset(poster):
    boxes = boxes_for_preset(poster, "Cat", "fly_away", {"direction": "left"})
    assert boxes[2].x == 0 and boxes[2].contains(poster.layer("Cat").box)
    assert boxes_for_preset(poster, ["Title"], "fade")[4] == poster.layer("Title").box
    with pytest.raises(PosterError, match="not a known preset"):
        boxes_for_preset(poster, "Cat", "teleport")
    with pytest.raises(PosterError, match="amplitude"):
        boxes_for_preset(poster, "Cat", "bounce", {"amplitude": 7})


def test_planner_status_names_the_active_planner():
    assert planner_status(LLMSettings()) == ("offline heuristic", "offline heuristic: set OPENAI_API_KEY to use an LLM")
    name, sentence = planner_status(LLMSettings(api_key="sk-test"))
    assert name == "GPT-4o at api.openai.com" and name in sentence
    name, _ = planner_status(LLMSettings(base_url="http://localhost:11434/v1", model="llava"))
    assert name == "llava at localhost:11434"
    assert planner_status()[0] == "offline heuristic"  # nothing in the environment


@pytest.mark.parametrize(
    "env, words",
    [({"OPENAI_TIMEOUT": "soon"}, "OPENAI_TIMEOUT"), ({"OPENAI_MAX_RETRIES": "-1"}, "OPENAI_MAX_RETRIES"), ({"OPENAI_TIMEOUT": "0"}, "at least")],
)
def test_bad_settings_get_a_sentence(env, words):
    with pytest.raises(PosterError) as info:
        LLMSettings.from_env(env)
    assert words in str(info.value)


def test_settings_come_from_the_environment():
    settings = LLMSettings.from_env(
        {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://h:1/v1", "OPENAI_MODEL": "m", "OPENAI_TIMEOUT": "2.5", "OPENAI_MAX_RETRIES": "0"}
    )
    assert settings == LLMSettings("k", "http://h:1/v1", "m", 2.5, 0) and settings.enabled
    assert not LLMSettings.from_env({"OPENAI_API_KEY": "  "}).enabled


CONTRACT_PRESET_IDS = {
    "bob", "wave_rotate", "text_wave", "typewriter", "fade", "slide_in", "float", "sway",
    "breathe", "bounce", "shake", "spin", "flag_wave", "jelly", "zoom", "fly_away",
}


def test_the_catalogue_holds_every_contract_preset_and_checks_ranges():
    assert CONTRACT_PRESET_IDS <= set(PRESETS)
    assert checked_params("bounce", {"amplitude": 0.9, "cycles": 3}) == {"amplitude": 0.9, "cycles": 3}
    for bad in ({"amplitude": 3.0}, {"cycles": 0}, {"direction": "sideways"}, {"amplitude": float("nan")}):
        with pytest.raises(PosterError):
            checked_params("bounce", bad)
    with pytest.raises(PosterError, match="not a known preset"):
        checked_params("teleport", {})


def test_the_planner_is_public_on_the_engine_package():
    assert engine.planner_status is planner_status
    assert engine.boxes_for_preset is boxes_for_preset


def test_the_llm_thumbnail_renders_blend_modes_and_layers_that_hang_off_the_canvas():
    from engine.planning.thumbnail import annotated_thumbnail, poster_thumbnail

    hanging = Poster(
        width=1024,
        height=512,
        layers=[
            solid_layer(1, "Paper", Box(0, 0, 1024, 512), (255, 255, 255, 255)),
            solid_layer(2, "Red", Box(-100, -100, 300, 300), (255, 0, 0, 255), opacity=0.5),
            solid_layer(3, "Hidden", Box(600, 200, 100, 100), (0, 0, 255, 255), visible=False),
            solid_layer(4, "Yellow", Box(800, 200, 100, 100), (255, 255, 0, 255)),
            solid_layer(5, "Cyan", Box(800, 200, 100, 100), (0, 255, 255, 255), blend_mode="multiply"),
        ],
    )
    base = poster_thumbnail(hanging)
    assert base.size == (512, 256)
    red = base.getpixel((20, 20))[:3]
    assert red[0] == 255 and 120 <= red[1] == red[2] <= 136  # half-opaque red over white
    assert base.getpixel((325, 125))[:3] == (255, 255, 255)  # the hidden layer is not drawn
    assert base.getpixel((425, 125))[:3] == (0, 255, 0)  # blend modes apply: yellow × cyan
    marked = annotated_thumbnail(base, hanging, [2])
    assert marked.getpixel((3, 3)) != base.getpixel((3, 3))  # its label sits on the picture


@pytest.mark.parametrize(
    "prompt, direction",
    [
        ("slides in from the left", "right"),
        ("slides in from the top", "down"),
        ("slides in to the left", "left"),
        ("slides in", "right"),
        ("flies away to the left", "left"),
        ("flies away from the bottom", "up"),
        ("falls", "down"),
        ("drifts to the right", "right"),
    ],
)
def test_direction_is_the_way_the_layer_travels(poster, prompt, direction):
    (result,) = plan(poster, [("Cat", prompt)])
    assert result.params["direction"] == direction


def test_spin_about_a_chosen_pivot_sweeps_around_that_pivot(poster):
    centre = boxes_for_preset(poster, "Cat", "spin", {"pivot": "center"})[2]
    bottom = boxes_for_preset(poster, "Cat", "spin", {"pivot": "bottom"})[2]
    assert bottom.h > centre.h and bottom.bottom > centre.bottom


@pytest.fixture(scope="module")
def ocean() -> Poster:
    from engine.psd.load import load_psd
    from tests.helpers.paths import ASSETS_DIR

    return load_psd(ASSETS_DIR / "samples" / "ocean.psd")


def test_plans_for_a_real_sample_poster(ocean):
    """The ocean sample read by psd-tools: groups travel together, plants sway, type waves."""
    fish, seaweed, bubbles, title = plan(
        ocean,
        [
            (["Fish", "Small Fish"], "the fish swim together to the right"),
            (["Seaweed Left", "Seaweed Right"], "the seaweed sways gently"),
            ("Bubbles", "bubbles rise up and away"),  # plain "rise" floats in place
            ("Title", "the title waves"),
        ],
    )
    for result in (fish, seaweed, bubbles, title):
        assert result.source == "heuristic"
        for layer_id, box in result.layer_boxes.items():
            assert box.contains(ocean.layer(layer_id).box) and ocean.canvas.contains(box)
    assert {box[0] + box[2] for box in fish.boxes.values()} == {ocean.width}
    # The seaweed stands on the poster's bottom edge. Issue 15: it used to stay still there
    # (its base corners would dip off the canvas); rooted on the poster's edge it may cross
    # that edge (the poster crops it), so it sways and the plan gives it room sideways.
    assert all(expands("sides", motion_growth(seaweed, ocean)[name]) for name in ("Seaweed Left", "Seaweed Right"))
    for name in ("Seaweed Left", "Seaweed Right"):
        assert not _room_messages(ocean, name, "sway", {"amplitude": 0.25}), name
    assert bubbles.preset == "fly_away" and bubbles.boxes["Bubbles"][1] == 0
    assert title.preset == "text_wave"  # a rasterised title still reads as lettering by its name


def test_progress_is_reported_as_plans_are_ready(poster):
    calls = []
    plan(poster, [("Cat", "jumps"), ("Bird", "spins"), ("Title", "waves")], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


@pytest.fixture(scope="module")
def small_poster() -> Poster:
    """A small canvas keeps animating every preset fast; the layer sits on the grid."""
    return Poster(width=256, height=192, layers=[solid_layer(1, "Ball", Box(112, 80, 48, 32), (200, 60, 60, 255))])


def _reach_of_motion(poster: Poster, preset: str, params: dict) -> Box:
    """Where the preset engine really moves the layer when the whole canvas is its room."""
    from engine.motion.base import MotionRequest
    from engine.motion.presets import PresetAnimator

    request = MotionRequest(layer=poster.layers[0], box=poster.canvas, params={"preset": preset, **params}, frames=13)
    clip = PresetAnimator().animate([request])[0]
    assert not any("tight" in m or "no room" in m for m in clip.messages)
    ys, xs = np.nonzero(clip.frames[..., 3].max(axis=0))
    return Box(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


@pytest.mark.parametrize("amplitude", [0.5, 1.0])
@pytest.mark.parametrize("preset", sorted(CONTRACT_PRESET_IDS))
def test_the_planned_box_holds_what_the_preset_engine_draws(small_poster, preset, amplitude):
    """Animate with the real preset engine in an unbounded box: every pixel it draws must
    fall inside the box the planner gives that preset (1 px of resampling blur allowed),
    so the motion plays in full."""
    params = {"amplitude": amplitude} if "amplitude" in PRESETS[preset].params else {}
    planned = boxes_for_preset(small_poster, "Ball", preset, params)[1]
    reach = _reach_of_motion(small_poster, preset, with_placement_defaults(preset, params))
    assert planned.expand(1, 1, 1, 1).contains(reach), (planned, reach)


#: Every message a preset gives when its box made it shrink or drop a motion.
ROOM_WORDS = ("reduced", "no room", "too small")


def _room_messages(poster: Poster, layer: str, preset: str, params: dict) -> list[str]:
    """Animate `layer` with the box the planner gives `preset`; the messages about room."""
    from engine.motion.base import MotionRequest
    from engine.motion.presets import PresetAnimator

    target = poster.layer(layer)
    box = boxes_for_preset(poster, layer, preset, params)[target.id]
    request = MotionRequest(layer=target, box=box, params={"preset": preset, **params}, frames=9)
    clip = PresetAnimator().animate([request])[0]
    return [m for m in clip.messages if any(word in m for word in ROOM_WORDS)]


@pytest.fixture(scope="module")
def roomy_poster() -> Poster:
    """Wide, tall and square layers well away from the canvas edges (off the grid too)."""
    return Poster(width=640, height=480, layers=[
        solid_layer(1, "Wide", Box(251, 203, 110, 34), (200, 60, 60, 255)),
        solid_layer(2, "Tall", Box(301, 181, 30, 90), (60, 200, 60, 255)),
        solid_layer(3, "Square", Box(290, 210, 52, 52), (60, 60, 200, 255)),
    ])


@pytest.mark.parametrize("amplitude", [0.25, 0.5, 1.0])
@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_planned_box_never_makes_the_preset_shrink_its_motion(roomy_poster, preset, amplitude):
    """The planner and the preset engine measure a motion's room with one computation, so
    animating in the box the planner gives never says the box was too tight."""
    params = {"amplitude": amplitude} if "amplitude" in PRESETS[preset].params else {}
    for layer in ("Wide", "Tall", "Square"):
        assert _room_messages(roomy_poster, layer, preset, params) == [], (layer, preset, amplitude)


def test_a_layer_at_the_canvas_edge_may_legitimately_be_reduced():
    """The box cannot leave the canvas, so a jump from the top edge has to shrink and says so."""
    edge = Poster(width=320, height=240, layers=[solid_layer(1, "Top", Box(120, 0, 64, 48), (9, 9, 9, 255))])
    box = boxes_for_preset(edge, "Top", "bounce", {"amplitude": 1.0})[1]
    assert box.y == 0
    (message,) = _room_messages(edge, "Top", "bounce", {"amplitude": 1.0})
    assert "reduced" in message or "no room" in message


def test_a_flight_plans_all_the_room_it_flies_a_share_of():
    """fly_away travels a share (2 x amplitude) of the room its box gives, so the planned box
    takes all the room to the canvas edge: a gentle flight goes half way, not a quarter."""
    sky = Poster(width=320, height=480, layers=[solid_layer(1, "Bird", Box(128, 320, 64, 48), (9, 9, 9, 255))])
    box = boxes_for_preset(sky, "Bird", "fly_away", {"direction": "up", "amplitude": 0.25})[1]
    assert box.y == 0 and box.bottom == 368


def test_the_balloon_sample_drifts_in_full_in_its_planned_box():
    """The designer's report: 'the balloon drifts up gently and sways' on the balloon sample
    was reduced in the box the editor planned; a planned box must let it play in full."""
    from engine.motion.base import MotionRequest
    from engine.motion.presets import PresetAnimator
    from engine.psd.load import load_psd
    from tests.helpers.paths import ASSETS_DIR

    poster = load_psd(ASSETS_DIR / "samples" / "balloon.psd")
    prompt = "the balloon drifts up gently and sways"
    for name in ("Balloon", "Small Balloon"):
        (result,) = plan(poster, [(name, prompt)])
        layer = poster.layer(name)
        request = MotionRequest(layer=layer, box=result.layer_boxes[layer.id], prompt=prompt,
                                params={"preset": result.preset, **result.params}, frames=12)
        messages = PresetAnimator().animate([request])[0].messages
        assert not [m for m in messages if any(word in m for word in ROOM_WORDS)], (name, messages)


def test_layers_sharing_a_prompt_play_in_full_in_their_planned_boxes(roomy_poster):
    from engine.motion.base import MotionRequest
    from engine.motion.presets import PresetAnimator

    for prompt in ("they sway wildly", "they jump together", "they spin", "the words wave wildly"):
        (result,) = plan(roomy_poster, [(["Wide", "Tall", "Square"], prompt)])
        requests = [
            MotionRequest(layer=roomy_poster.layer(i), box=result.layer_boxes[i],
                          params={"preset": result.preset, **result.params}, frames=9)
            for i in result.layer_ids
        ]
        for clip in PresetAnimator().animate(requests, group_prompt=prompt):
            assert not [m for m in clip.messages if any(word in m for word in ROOM_WORDS)], (prompt, clip.messages)


# --------------------------------------------------------------------------- the one box rule


def test_motion_box_never_smaller_than_layer_nor_off_canvas() -> None:
    canvas, layer = Box(0, 0, 100, 80), Box(40, 30, 20, 10)
    assert fit_motion_box(Box(45, 32, 5, 5), layer, canvas) == layer
    assert fit_motion_box(Box(30, 20, 200, 200), layer, canvas) == Box(30, 20, 70, 60)
    assert fit_motion_box(Box(-50, -50, 120, 100), layer, canvas) == Box(0, 0, 70, 50)
    hanging = Box(90, 70, 30, 30)  # a layer that itself hangs over the corner keeps its extent
    assert fit_motion_box(Box(80, 60, 10, 10), hanging, canvas) == Box(80, 60, 40, 40)


def test_the_planners_grid_is_the_same_rule_snapped_to_tokens() -> None:
    canvas, layer = Box(0, 0, 100, 80), Box(41, 30, 20, 10)
    assert fit_motion_box(Box(35, 25, 30, 20), layer, canvas, grid=16) == Box(32, 16, 48, 32)
    assert fit_motion_box(Box(70, 60, 30, 20), Box(70, 60, 30, 20), canvas, grid=16) == Box(64, 48, 36, 32)  # clamped after snapping
    hanging = Box(90, 70, 30, 30)
    assert fit_motion_box(hanging, hanging, canvas, grid=16) == Box(80, 64, 40, 36)


def test_fit_problem_names_the_broken_part_of_the_rule() -> None:
    canvas, layer = Box(0, 0, 100, 80), Box(40, 30, 20, 10)
    assert fit_problem(Box(30, 20, 40, 30), layer, canvas) is None
    assert fit_problem(Box(30, 20, 90, 30), layer, canvas) == "leaves the canvas"
    assert fit_problem(Box(45, 20, 40, 30), layer, canvas) == "does not contain the whole layer"
    assert fit_problem(Box(80, 60, 40, 40), Box(90, 70, 30, 30), canvas) is None  # the layer's own overhang is allowed
