"""DMDL: the paper's multi-layer latent diffusion model and its transparent-layer autoencoder.

Usable on a GPU box with no UI: imports nothing of the editor. Exports load lazily so that
`import engine.dmdl` stays light until a model is actually used.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    # multi-layer diffusion transformer (sec. 4.2)
    "DMDLTransformer": "engine.dmdl.transformer",
    "DMDLPipeline": "engine.dmdl.pipeline",
    # transparent dynamic-layer autoencoder (sec. 4.1): frozen VAE encoder, RGBA ViT decoder
    "LayerEncoder": "engine.dmdl.autoencoder",
    "LayerDecoder": "engine.dmdl.layer_decoder",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engine.dmdl' has no attribute {name!r}")
