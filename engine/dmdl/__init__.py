"""DMDL: the paper's multi-layer latent diffusion model and its transparent-layer autoencoder.

Usable on a GPU box with no UI: imports nothing of the editor.
"""
