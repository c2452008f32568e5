"""Shared fixtures: where the repository, the sample posters and the PSD corpus live."""

from __future__ import annotations

import numpy as np
import pytest

from engine.core.poster import Box, Layer, LayerKind, Poster

from tests.helpers.layers import solid_layer
from tests.helpers.paths import ASSETS_DIR, CORPUS_DIR, REPO_ROOT, corpus_files  # noqa: F401


@pytest.fixture
def tiny_poster() -> Poster:
    """A 64×48 poster: opaque background, a half-transparent square, a text-like bar."""
    return Poster(
        width=64,
        height=48,
        name="tiny",
        layers=[
            solid_layer(1, "Background", Box(0, 0, 64, 48), (30, 60, 90, 255)),
            solid_layer(2, "Sun", Box(8, 8, 16, 16), (250, 200, 40, 200)),
            solid_layer(3, "Title", Box(20, 30, 30, 8), (255, 255, 255, 255), kind=LayerKind.TEXT, text="HI"),
        ],
    )
