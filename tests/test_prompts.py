"""Free-text motion prompts map offline to presets and parameters."""

from __future__ import annotations

import pytest

from engine.motion.presets import PRESETS
from engine.motion.presets.prompts import PromptMatch, default_preset, params_from_prompt, preset_for_prompt
from engine.core.poster import LayerKind

TEXT, PIXEL = LayerKind.TEXT, LayerKind.PIXEL

PROMPT_TABLE = [
    ("the seal bobs its head", PIXEL, "bob"),
    ("the duck nods up and down", PIXEL, "bob"),
    ("headline moves up and down", TEXT, "bob"),
    ("title waves gently", TEXT, "text_wave"),
    ("the letters ripple like a stadium wave", TEXT, "text_wave"),
    ("wavy text", TEXT, "text_wave"),
    ("the words rock back and forth", TEXT, "wave_rotate"),
    ("wave-like rotation of the title", TEXT, "wave_rotate"),
    ("types itself out letter by letter", TEXT, "typewriter"),
    ("typewriter effect", TEXT, "typewriter"),
    ("the logo fades in and out", PIXEL, "fade"),
    ("the stars blink", PIXEL, "fade"),
    ("the car slides in from the left", PIXEL, "slide_in"),
    ("the subtitle enters from the right", TEXT, "slide_in"),
    ("the balloon floats", PIXEL, "float"),
    ("a jellyfish drifting in the water", PIXEL, "float"),
    ("the palm tree sways in the breeze", PIXEL, "sway"),
    ("grass swaying slowly in the wind", PIXEL, "sway"),
    ("the lamp swings like a pendulum", PIXEL, "sway"),
    ("the heart pulses", PIXEL, "breathe"),
    ("the monster breathes slowly", PIXEL, "breathe"),
    ("the ball bounces 3 times", PIXEL, "bounce"),
    ("the frog jumps", PIXEL, "bounce"),
    ("the phone shakes wildly", PIXEL, "shake"),
    ("the cat trembles with fear", PIXEL, "shake"),
    ("the wheel spins clockwise", PIXEL, "spin"),
    ("the vinyl record rotates", PIXEL, "spin"),
    ("the flag flutters in the wind", PIXEL, "flag_wave"),
    ("the banner waves", PIXEL, "flag_wave"),
    ("the red cloth waves gently", PIXEL, "flag_wave"),
    ("the pudding wobbles like jelly", PIXEL, "jelly"),
    ("the slime jiggles", PIXEL, "jelly"),
    ("the sun zooms in", PIXEL, "zoom"),
    ("the poster grows bigger", PIXEL, "zoom"),
    ("the bird flies away", PIXEL, "fly_away"),
    ("the rocket takes off", PIXEL, "fly_away"),
    ("the ghost floats up and down", PIXEL, "float"),
    ("the kangaroo bounces up and down", PIXEL, "bounce"),
    ("the dog wags its tail", PIXEL, "sway"),
    ("the cat waves its paw", PIXEL, "sway"),
    ("the robot marches", PIXEL, "bob"),
    ("the sun rises slowly", PIXEL, "float"),  # rising, without leaving or arriving, loops in place
    ("the sun rises into view", PIXEL, "slide_in"),
    ("the balloon drifts up gently", PIXEL, "float"),
    ("the balloon rises gently", PIXEL, "float"),
    ("the balloon drifts up and away", PIXEL, "fly_away"),
    ("the balloon rises and leaves the poster", PIXEL, "fly_away"),
    ("the leaf falls", PIXEL, "fly_away"),
    ("the car drives in from the left", PIXEL, "slide_in"),
    ("the ball rolls to the left", PIXEL, "fly_away"),
    ("the hand waves", PIXEL, "sway"),
    ("the boat rocks on the sea", PIXEL, "sway"),
    ("letters rock side to side", TEXT, "wave_rotate"),
    ("the leaves rustle", PIXEL, "sway"),
    ("the car drives away to the right", PIXEL, "fly_away"),
    ("the fish swims", PIXEL, "float"),
    ("the letters dance", TEXT, "wave_rotate"),
    ("the puppet dances", PIXEL, "sway"),
    ("the price tag pops", PIXEL, "zoom"),
    ("gentle waves ripple across the water", PIXEL, "ripple"),
    ("the lake surface ripples", PIXEL, "ripple"),
    ("the sun sets slowly", PIXEL, "travel"),
    ("the headline slams in", TEXT, "pop_in"),
    ("the text glitches", TEXT, "shake"),
    ("camera slowly zooms in", PIXEL, "push_in"),
]


@pytest.mark.parametrize(("prompt", "kind", "expected"), PROMPT_TABLE)
def test_prompt_table(prompt, kind, expected):
    match = preset_for_prompt(prompt, kind)
    assert isinstance(match, PromptMatch)
    assert match.preset == expected, f"{prompt!r} -> {match.preset}"
    assert match.message == ""
    PRESETS[match.preset].validate(match.params)  # implied parameters always fit the preset


def test_table_is_big_and_covers_every_contract_preset():
    assert len(PROMPT_TABLE) >= 30
    assert {row[2] for row in PROMPT_TABLE} >= {
        "bob", "wave_rotate", "text_wave", "typewriter", "fade", "slide_in", "float", "sway", "breathe",
        "bounce", "shake", "spin", "flag_wave", "jelly", "zoom", "fly_away",
    }


def test_a_setting_sun_goes_down():
    assert preset_for_prompt("the sun sets slowly behind the hills", PIXEL).params["direction"] == "down"


def test_adverbs_tune_amplitude():
    default = PRESETS["text_wave"].params["amplitude"].default
    assert preset_for_prompt("title waves gently", TEXT).params["amplitude"] < default
    assert preset_for_prompt("title waves wildly", TEXT).params["amplitude"] > default
    assert preset_for_prompt("the tree sways very gently", PIXEL).params["amplitude"] < 0.25
    assert "amplitude" not in preset_for_prompt("the tree sways", PIXEL).params


def test_speed_and_counts_tune_cycles():
    bob_default = PRESETS["bob"].params["cycles"].default
    assert preset_for_prompt("the seal bobs slowly", PIXEL).params["cycles"] < bob_default
    assert preset_for_prompt("the seal bobs quickly", PIXEL).params["cycles"] > bob_default
    assert preset_for_prompt("the ball bounces 3 times", PIXEL).params["cycles"] == 3
    assert preset_for_prompt("the ball bounces twice", PIXEL).params["cycles"] == 2
    assert preset_for_prompt("the ball bounces five times", PIXEL).params["cycles"] == 5
    assert preset_for_prompt("the ball bounces 40 times", PIXEL).params["cycles"] == 8


def test_directions_are_understood():
    assert preset_for_prompt("the car slides in from the left", PIXEL).params["direction"] == "right"
    assert preset_for_prompt("the title slides in from the top", TEXT).params["direction"] == "down"
    assert preset_for_prompt("the bird flies away to the left", PIXEL).params["direction"] == "left"
    assert preset_for_prompt("the balloon flies off upward", PIXEL).params["direction"] == "up"
    assert preset_for_prompt("the wheel spins counterclockwise", PIXEL).params["direction"] == "left"
    assert preset_for_prompt("typed out right to left", TEXT).params["direction"] == "left"
    # "up and down" describes a motion, not a direction
    assert "direction" not in preset_for_prompt("the fish bobs up and down", PIXEL).params


def test_other_wording_parameters():
    assert preset_for_prompt("the lamp hangs and swings", PIXEL).params["pivot"] == "top"
    assert preset_for_prompt("the flower sways from its base", PIXEL).params["pivot"] == "bottom"
    assert preset_for_prompt("the logo zooms out", PIXEL).params["mode"] == "out"
    assert preset_for_prompt("the bird flies away and stays gone", PIXEL).params["loop"] is False
    assert preset_for_prompt("the phone shakes up and down", PIXEL).params["axis"] == "vertical"
    assert preset_for_prompt("letters bob one after another", TEXT).params["stagger"] > 0
    assert preset_for_prompt("the title fades gently", TEXT).params["depth"] < 1.0
    assert preset_for_prompt("the fish bobs steadily", PIXEL).params["easing"] == "linear"
    assert preset_for_prompt("the sun rises into view", PIXEL).params["direction"] == "up"
    assert preset_for_prompt("the leaf falls", PIXEL).params["direction"] == "down"
    assert preset_for_prompt("the car drives away", PIXEL).params["direction"] == "right"  # travel reads left to right
    assert "direction" not in preset_for_prompt("the balloon drifts up gently", PIXEL).params  # float stays in place


def test_unknown_prompts_fall_back_by_layer_kind_and_say_so():
    for prompt in ("do your thing", "something cool", ""):
        text = preset_for_prompt(prompt, TEXT)
        art = preset_for_prompt(prompt, PIXEL)
        assert (text.preset, art.preset) == ("bob", "float")
        assert "bob" in text.message and "float" in art.message
    assert default_preset(None) == "float"
    assert preset_for_prompt("do your thing wildly", PIXEL).params["amplitude"] == 0.9


def test_wave_means_text_wave_for_type_and_cloth_for_art():
    assert preset_for_prompt("it waves", TEXT).preset == "text_wave"
    assert preset_for_prompt("it waves", PIXEL).preset == "flag_wave"


def test_explicit_preset_keeps_only_parameters_it_has():
    params = params_from_prompt("bounce wildly 3 times upward", "spin")
    assert params == {"cycles": 3}  # spin has no amplitude, and "up" is not a spin direction
    params = params_from_prompt("sway wildly 3 times", "sway")
    assert params == {"amplitude": 0.9, "cycles": 3}
    assert params_from_prompt("", "bob") == {}
