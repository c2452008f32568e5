"""Our static render of an imported PSD matches psd-tools' composite of it (>= 40 dB PSNR).

Compared premultiplied RGBA (see benchmarks.fidelity_metrics): alpha errors count like colour errors
and the colour of fully transparent pixels is ignored. The reference is
PSDImage.composite(ignore_preview=True), i.e. psd-tools compositing the layers, never the
preview Photoshop stored.
"""

from __future__ import annotations

import csv

import pytest

from engine import ImportLimits, load_psd, render_static
from benchmarks.fidelity_metrics import psd_tools_render, psnr
from engine.core.poster import BLEND_MODES
from tests.helpers.paths import ASSETS_DIR, CORPUS_DIR
from tests.helpers.psd_factory import load_once, write_layered_psd

MIN_PSNR = 40.0
IN_PROCESS = ImportLimits(isolate=False)


def composited_corpus_files():
    with (CORPUS_DIR / "manifest.tsv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [CORPUS_DIR / row["local_path"] for row in rows if row["composite_ok"] == "y"]


#: Files with layer styles psd-tools does not draw (drop shadows, glows, bevels, and the
#: effects it does not list): our render follows Photoshop there, so these are measured
#: against Photoshop's own preview instead (tests/test_layer_styles.py, issue 17).
STYLED_BEYOND_PSD_TOOLS = {"masks.psd", "layer_effects.psd", "slices.psd"}
CORPUS = [path for path in composited_corpus_files() if path.name not in STYLED_BEYOND_PSD_TOOLS]
SAMPLES = sorted(ASSETS_DIR.glob("samples/*.psd"))


def assert_faithful(path) -> None:
    ours = render_static(load_once(path))
    score = psnr(ours, psd_tools_render(path))
    assert score >= MIN_PSNR, f"{path.name}: {score:.1f} dB"


@pytest.mark.parametrize("path", CORPUS + SAMPLES, ids=[p.name for p in CORPUS + SAMPLES])
def test_real_file_matches_psd_tools(path):
    assert_faithful(path)


@pytest.mark.parametrize("start", range(0, len(BLEND_MODES), 9))
def test_layered_psd_with_every_blend_mode_matches_psd_tools(tmp_path, start):
    modes = tuple(mode for mode in BLEND_MODES[start : start + 9])
    assert_faithful(write_layered_psd(tmp_path / "modes.psd", modes))


def test_psnr_detects_a_wrong_render(tmp_path):
    path = write_layered_psd(tmp_path / "wrong.psd")
    poster = load_psd(path, IN_PROCESS)
    poster.layers[1].opacity = 0.2  # the sun, much fainter than in the file
    assert psnr(render_static(poster), psd_tools_render(path)) < MIN_PSNR
