"""A tiny random ViTMatte saved like a real one, for the learned matting method's tests.

The sizes are those of transformers' own fast tests (tests/models/vitmatte: a 2-wide,
2-layer VitDet backbone with 16 px patches); the image processor is the default one,
saved beside the weights, so the folder loads exactly as hustvl/vitmatte-* does.
"""

from __future__ import annotations

from pathlib import Path


def vitmatte(folder: Path) -> Path:
    """Save a random VitMatteForImageMatting and its image processor into `folder`."""
    import torch
    from transformers import VitDetConfig, VitMatteConfig, VitMatteForImageMatting, VitMatteImageProcessorPil

    backbone = VitDetConfig(image_size=32, patch_size=16, num_channels=4, hidden_size=2, num_hidden_layers=2,
                            num_attention_heads=2, hidden_act="gelu", out_features=["stage1"])
    torch.manual_seed(0)
    model = VitMatteForImageMatting(VitMatteConfig(backbone_config=backbone, hidden_size=2,
                                                   fusion_hidden_sizes=[128, 64, 32, 16])).eval()
    model.save_pretrained(folder)
    VitMatteImageProcessorPil().save_pretrained(folder)
    return folder
