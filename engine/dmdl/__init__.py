"""DMDL: the paper's multi-layer latent diffusion model and its transparent-layer autoencoder.

Usable on a GPU box with no UI: imports nothing of the editor.
"""

# --- multi-layer diffusion transformer (sec. 4.2); lazy so `import engine.dmdl` stays light ---
_TRANSFORMER_EXPORTS = {"DMDLTransformer": "engine.dmdl.transformer", "DMDLPipeline": "engine.dmdl.pipeline"}


def __getattr__(name: str):
    import importlib

    if name in _TRANSFORMER_EXPORTS:
        return getattr(importlib.import_module(_TRANSFORMER_EXPORTS[name]), name)
    raise AttributeError(f"module 'engine.dmdl' has no attribute {name!r}")


# --- transparent dynamic-layer autoencoder (sec. 4.1): frozen VAE encoder, RGBA ViT decoder ---
_TRANSFORMER_EXPORTS.update(LayerEncoder="engine.dmdl.autoencoder", LayerDecoder="engine.dmdl.layer_decoder")
