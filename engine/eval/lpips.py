"""LPIPS (Zhang et al. 2018) with its backbone read from a local file.

torchmetrics ships LPIPS' learned linear heads (`lpips_models/alex.pth`) but builds the
AlexNet backbone through torchvision, which downloads ImageNet weights and does not load
against this project's CPU torch wheel. So the backbone is declared here with exactly
torchvision's `alexnet().features` layout (its state-dict keys `features.N.*` load as they
are) and the rest — input scaling, the linear heads, channel normalisation and spatial
averaging — is torchmetrics' own. Nothing is downloaded: the backbone comes from
`EVAL_LPIPS_BACKBONE` (torchvision's `alexnet-owt-7be5be79.pth`, or any state dict with
the same keys); tests build a random one.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.functional.image.lpips import NetLinLayer, ScalingLayer, _normalize_tensor, _spatial_average

from engine.core.poster import PosterError

#: Channels of AlexNet's five ReLU outputs that LPIPS compares.
ALEX_CHANNELS = (64, 192, 384, 256, 256)
#: AlexNet's strides and pools need about this many pixels a side; smaller clips (a thin
#: text layer's box) are scaled up to it first.
MIN_SIDE = 64
#: Index of the last layer of each LPIPS slice inside `features` (torchvision's numbering).
ALEX_SLICE_ENDS = (2, 5, 8, 10, 12)


def alexnet_features() -> nn.Sequential:
    """AlexNet's convolutional trunk, numbered as torchvision numbers it."""
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def lin_heads_path() -> Path:
    """The learned LPIPS heads torchmetrics ships (no download)."""
    import torchmetrics.functional.image.lpips as tm_lpips  # noqa: PLC0415

    return Path(tm_lpips.__file__).parent / "lpips_models" / "alex.pth"


class LPIPS(nn.Module):
    """Perceptual distance between RGB images in [0, 1]; 0 for identical images."""

    def __init__(self, backbone: nn.Sequential) -> None:
        super().__init__()
        self.scaling_layer = ScalingLayer()
        self.features = backbone
        self.lins = nn.ModuleList(NetLinLayer(c, use_dropout=True) for c in ALEX_CHANNELS)
        heads = torch.load(lin_heads_path(), map_location="cpu", weights_only=True)
        self.lins.load_state_dict({k.replace("lin", "", 1): v for k, v in heads.items()})
        self.eval().requires_grad_(False)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> "LPIPS":
        """Load the AlexNet backbone from a torchvision-format state dict on disk."""
        path = Path(path)
        if not path.is_file():
            raise PosterError(
                f"The LPIPS backbone {path} does not exist: point EVAL_LPIPS_BACKBONE (or --lpips) at "
                "torchvision's alexnet-owt-7be5be79.pth."
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
        backbone = alexnet_features()
        try:
            backbone.load_state_dict(state)
        except RuntimeError as error:
            raise PosterError(f"{path} is not an AlexNet state dict ({str(error).splitlines()[0]}).") from None
        return cls(backbone)

    def _stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs, start = [], 0
        for end in ALEX_SLICE_ENDS:
            for index in range(start, end):
                x = self.features[index](x)
            outs.append(x)
            start = end
        return outs

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Per-image distance of (N, 3, H, W) batches in [0, 1]."""
        short = min(a.shape[-2:])
        if short < MIN_SIDE:
            size = tuple(round(side * MIN_SIDE / short) for side in a.shape[-2:])
            a = F.interpolate(a, size=size, mode="bilinear", align_corners=False)
            b = F.interpolate(b, size=size, mode="bilinear", align_corners=False)
        fa, fb = self._stages(self.scaling_layer(2 * a - 1)), self._stages(self.scaling_layer(2 * b - 1))
        total = 0
        for lin, xa, xb in zip(self.lins, fa, fb):
            total = total + _spatial_average(lin((_normalize_tensor(xa) - _normalize_tensor(xb)) ** 2))
        return total.flatten()
