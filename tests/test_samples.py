"""The sample posters: the script regenerates the committed PSDs exactly, and they are real,
layered posters that psd-tools reads."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from psd_tools import PSDImage
from psd_tools.constants import BlendMode

from tests.helpers.paths import ASSETS_DIR

EXPECTED = {
    "balloon": {"Sky", "Sun", "Balloon", "Small Balloon", "Cloud Left", "Title", "Subtitle", "Badge", "Paper Texture"},
    "flower": {"Wall", "Arch", "Stem", "Leaves", "Bloom", "Pot", "Butterfly", "Title", "Badge", "Paper Texture"},
    "ocean": {"Water", "Sand", "Fish", "Small Fish", "Seaweed Left", "Bubbles", "Title", "Badge", "Paper Texture"},
}


def load_script():
    spec = importlib.util.spec_from_file_location("make_samples", ASSETS_DIR / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    return {path.stem: path for path in load_script().write_samples(folder)}


def test_script_regenerates_the_committed_posters_exactly(regenerated):
    assert set(regenerated) == set(EXPECTED)
    for name, path in regenerated.items():
        committed = ASSETS_DIR / "samples" / f"{name}.psd"
        assert committed.read_bytes() == path.read_bytes(), f"{name}.psd differs: rerun assets/make_samples.py"
    total = sum((ASSETS_DIR / "samples" / f"{name}.psd").stat().st_size for name in EXPECTED)
    assert total < 6.5e6


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_posters_are_layered_like_a_designers_file(regenerated, name):
    psd = PSDImage.open(regenerated[name])
    assert psd.size == (1080, 1350)
    leaves = [layer for layer in psd.descendants() if not layer.is_group()]
    groups = [layer for layer in psd.descendants() if layer.is_group()]
    assert EXPECTED[name] <= {layer.name for layer in leaves}
    assert groups and all(len(group) >= 2 for group in groups)
    modes = {layer.blend_mode for layer in leaves}
    assert {BlendMode.MULTIPLY, BlendMode.SCREEN, BlendMode.OVERLAY} <= modes
    assert any(layer.opacity < 255 for layer in leaves)
    for layer in leaves:  # every layer is cropped to its content, and inside the canvas
        left, top, right, bottom = layer.bbox
        assert 0 <= left < right <= 1080 and 0 <= top < bottom <= 1350
    title = next(layer for layer in leaves if layer.name == "Title")
    assert title.width < 1080 and title.height < 300
    composite = np.asarray(psd.composite().convert("RGB"), np.float32)
    assert composite.std() > 20  # a real picture, not a flat fill
