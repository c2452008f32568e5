"""Every real PSD of the shared corpus imports, or fails with one designer-readable error."""

from __future__ import annotations

import numpy as np
import pytest

from engine import ImportLimits, Poster, PosterError, load_psd
from engine.core.poster import BLEND_MODES
from tests.helpers.paths import CORPUS_DIR, corpus_files
from tests.helpers.psd_factory import load_once

FILES = corpus_files()


def test_the_corpus_is_there():
    assert len(FILES) >= 20, f"expected the PSD corpus at {CORPUS_DIR}"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_file_imports_or_explains(path):
    try:
        poster = load_once(path)  # the default: header checks, isolated child, limits
    except PosterError as error:
        message = str(error)
        assert path.name in message and "Traceback" not in message and message.endswith(".")
        return
    assert isinstance(poster, Poster) and poster.layers
    ids = [layer.id for layer in poster.layers]
    assert len(ids) == len(set(ids))
    for layer in poster.layers:
        assert layer.pixels.dtype == np.uint8 and layer.pixels.shape == (layer.box.h, layer.box.w, 4)
        assert poster.canvas.contains(layer.box) or layer.box.is_empty
        assert layer.blend_mode in BLEND_MODES and 0.0 <= layer.opacity <= 1.0
        if layer.box.area:
            # cropped tight: the outermost rows and columns hold something visible
            alpha = layer.pixels[..., 3]
            assert alpha[0].any() and alpha[-1].any() and alpha[:, 0].any() and alpha[:, -1].any()
    assert all(isinstance(note, str) and note.endswith(".") for note in poster.unsupported)


def test_a_tight_layer_limit_is_reported_for_a_real_file():
    path = CORPUS_DIR / "layervault__psd.rb/spec/files/slices.psd"
    with pytest.raises(PosterError, match="39 layers, over the limit of 10"):
        load_psd(path, ImportLimits(max_layers=10))
