"""Shared fixtures: where the repository, the sample posters and the PSD corpus live."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from engine.poster import Box, Layer, LayerKind, Poster

REPO_ROOT = Path(__file__).resolve().parents[1]
ASSETS_DIR = REPO_ROOT / "assets"
# CI checks the repository out with ../shared beside it; the corpus is read there, never copied.
CORPUS_DIR = REPO_ROOT.parent / "shared" / "psd-corpus"


def corpus_files() -> list[Path]:
    """Every PSD/PSB of the shared corpus, as listed by its manifest."""
    manifest = CORPUS_DIR / "manifest.tsv"
    if not manifest.exists():
        raise FileNotFoundError(
            f"The PSD corpus is missing at {CORPUS_DIR}: check out ../shared beside the repo."
        )
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [CORPUS_DIR / row["local_path"] for row in rows if row["mode"] != "PNG-reference"]


def solid_layer(layer_id: int, name: str, box: Box, rgba: tuple[int, int, int, int], **kw) -> Layer:
    pixels = np.empty((box.h, box.w, 4), dtype=np.uint8)
    pixels[:] = rgba
    return Layer(id=layer_id, name=name, pixels=pixels, box=box, **kw)


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
