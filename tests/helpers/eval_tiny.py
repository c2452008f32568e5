"""Feature networks for the evaluation harness, made by the tests (no weights download).

`random_lpips_backbone` saves an AlexNet trunk with random weights in torchvision's key
layout, the format EVAL_LPIPS_BACKBONE expects; `tiny_i3d` scripts a small 3D-conv network
with the signature of StyleGAN-V's i3d_torchscript.pt, the file EVAL_I3D expects. Random
features still make the metrics' sanity properties testable: identical inputs give 0, a
changed input gives more.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from engine.eval.lpips import alexnet_features


def random_lpips_backbone(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    trunk = alexnet_features()
    torch.save({f"features.{k}": v for k, v in trunk.state_dict().items()}, path)
    return path


class _TinyI3D(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 24, kernel_size=(3, 7, 7), stride=(1, 4, 4), padding=(1, 3, 3))
        self.head = nn.Linear(24 * 4, 32)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = True) -> torch.Tensor:
        h = torch.relu(self.conv(x))
        pooled = torch.nn.functional.adaptive_avg_pool3d(h, (1, 2, 2)).flatten(1)
        return self.head(pooled)


def tiny_i3d(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    torch.jit.script(_TinyI3D().eval()).save(str(path))
    return path
