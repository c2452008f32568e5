"""Small hand-made layers for tests that need no PSD."""

from __future__ import annotations

import numpy as np

from engine.core.poster import Box, Layer


def solid_layer(layer_id: int, name: str, box: Box, rgba: tuple[int, int, int, int], **kw) -> Layer:
    pixels = np.empty((box.h, box.w, 4), dtype=np.uint8)
    pixels[:] = rgba
    return Layer(id=layer_id, name=name, pixels=pixels, box=box, **kw)
