"""The command line as a designer's script would run it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers.paths import ASSETS_DIR, REPO_ROOT
from tests.helpers.video_decode import decode

BALLOON = ASSETS_DIR / "samples" / "balloon.psd"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", *map(str, args)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )


def test_layers_lists_paint_order_as_json():
    result = run_cli("layers", BALLOON, "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert (listing["width"], listing["height"]) == (1080, 1350)
    names = [row["name"] for row in listing["layers"]]
    assert names[0] == "Sky" and "Balloon" in names
    assert names.index("Balloon Shadow") < names.index("Balloon")


def test_animate_writes_a_video_of_the_requested_length(tmp_path: Path):
    out = tmp_path / "balloon.webm"
    result = run_cli("animate", BALLOON, "--layer", "Balloon", "--prompt", "floats gently",
                     "--frames", "9", "--fps", "12", "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "planned by heuristic" in result.stderr
    frames = decode(out, decoder="libvpx-vp9")
    assert frames.shape == (9, 1350, 1080, 4)
    assert (frames[0] != frames[4]).any(), "the balloon should move"


def test_animate_group_with_a_box_free_plan_writes_a_layered_bundle(tmp_path: Path):
    out = tmp_path / "bundle.zip"
    result = run_cli("animate", BALLOON, "--layer", "Cloud Left", "--layer", "Cloud Low",
                     "--prompt", "drift slowly to the right", "--frames", "5", "--out", out, "--quiet",
                     "--loop", "pingpong")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
    animated = [layer["name"] for layer in manifest["layers"] if layer.get("animated")]
    assert sorted(animated) == ["Cloud Left", "Cloud Low"]
    assert {layer["motion"]["loop_mode"] for layer in manifest["layers"] if layer.get("animated")} == {"pingpong"}


def test_animate_help_lists_every_export_format():
    from engine.export import FORMATS

    result = run_cli("animate", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for export_format in FORMATS:
        assert f" {export_format.key}" in text and all(e in text for e in export_format.endings if e)


def _animated(out: Path) -> dict[str, dict]:
    with zipfile.ZipFile(out) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
    return {layer["name"]: layer["motion"] for layer in manifest["layers"] if layer.get("animated")}


def test_joint_mode_gives_each_layer_its_own_prompt(tmp_path: Path):
    """One --prompt per --layer: each layer moves after its own words, in one engine call."""
    out = tmp_path / "joint.zip"
    result = run_cli("animate", BALLOON, "--layer", "Balloon", "--prompt", "bobs up and down",
                     "--layer", "Cloud Low", "--prompt", "spins", "--frames", "5", "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("planned by heuristic") == 2  # one plan per layer and prompt
    animated = _animated(out)
    assert (animated["Balloon"]["preset"], animated["Cloud Low"]["preset"]) == ("bob", "spin")


def test_group_mode_shares_one_prompt_and_checked_engine_params(tmp_path: Path):
    out = tmp_path / "group.zip"
    result = run_cli("animate", BALLOON, "--layer", "Cloud Left", "--layer", "Cloud Low", "--prompt", "bobs",
                     "--param", "amplitude=0.8", "--param", "stagger=0.25", "--frames", "5", "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    animated = _animated(out)
    assert {layer["preset"] for layer in animated.values()} == {"bob"}
    assert {layer["params"]["amplitude"] for layer in animated.values()} == {0.8}
    assert sorted(layer["params"]["phase"] for layer in animated.values()) == [0.0, 0.25]  # staggered group


@pytest.mark.parametrize(
    "args, words",
    [
        (["animate", BALLOON, "--layer", "Moon", "--prompt", "x", "--out", "o.mp4"], "no layer named"),
        (["animate", BALLOON, "--layer", "Balloon", "--out", "o.mp4"], "--prompt"),
        (["animate", BALLOON, "--layer", "Balloon", "--preset", "float", "--box", "900,900,400,400",
          "--out", "o.mp4"], "leaves the"),
        (["animate", BALLOON, "--layer", "Balloon", "--preset", "float", "--box", "400,400,100,100",
          "--out", "o.mp4"], "does not contain the whole layer"),
        (["animate", BALLOON, "--layer", "Balloon", "--preset", "float", "--out", "o.doc"], "extension"),
        (["layers", "missing.psd"], "missing.psd"),
        (["animate", BALLOON, "--layer", "Balloon", "--prompt", "floats", "--param", "steps=30",
          "--out", "o.mp4"], "has no parameter 'steps'"),
        (["animate", BALLOON, "--layer", "Balloon", "--preset", "bob", "--param", "amplitude=3",
          "--out", "o.mp4"], "must be a number from 0 to 1"),
        (["animate", BALLOON, "--layer", "Balloon", "--layer", "Sun", "--prompt", "a", "--prompt", "b",
          "--prompt", "c", "--out", "o.mp4"], "one --prompt per --layer"),
        (["animate", BALLOON, "--layer", "Balloon", "--prompt", "x", "--engine", "warp9", "--out", "o.mp4"],
         "no motion engine called 'warp9'"),
    ],
)
def test_bad_input_exits_3_with_a_sentence_and_no_traceback(args, words, tmp_path: Path):
    args = [str(tmp_path / a) if a in ("o.mp4", "o.doc") else a for a in args]
    result = run_cli(*args)
    assert result.returncode == 3, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_option_is_a_usage_error():
    result = run_cli("animate", BALLOON, "--frobnicate")
    assert result.returncode == 2


def test_animate_writes_several_formats_with_export_options(tmp_path: Path):
    from PIL import Image

    result = run_cli("animate", BALLOON, "--layer", "Balloon", "--prompt", "floats gently", "--frames", "4",
                     "--fps", "12", "--out", tmp_path / "balloon.mp4", "--format", "gif,mp4", "--size", "half",
                     "--export-fps", "6", "--plays", "1", "--quality", "draft", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "GIF: about" in result.stderr
    gif, mp4 = tmp_path / "balloon.gif", tmp_path / "balloon.mp4"
    assert f"{gif}  (" in result.stdout and f"{mp4}  (" in result.stdout
    with Image.open(gif) as image:
        assert image.size == (540, 675) and image.n_frames == 2 and "loop" not in image.info
    assert decode(mp4).shape == (2, 676, 540, 4)  # 675 rows padded to even for H.264
    refused = run_cli("animate", BALLOON, "--layer", "Balloon", "--prompt", "floats", "--fps", "12",
                      "--export-fps", "24", "--out", tmp_path / "fast.gif", "--quiet")
    assert refused.returncode == 3 and "at most 12" in refused.stderr
