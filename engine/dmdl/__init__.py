"""DMDL: the paper's multi-layer latent diffusion model and its transparent-layer autoencoder.

Usable on a GPU box with no UI: imports nothing of the editor.
"""

# Transparent dynamic-layer autoencoder (paper §4.1): frozen VAE encoder, RGBA ViT decoder.
from engine.dmdl.autoencoder import LayerEncoder  # noqa: E402
from engine.dmdl.layer_decoder import LayerDecoder  # noqa: E402
