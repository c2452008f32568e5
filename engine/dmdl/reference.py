"""The reference images HunyuanVideo-I2V's LLaVA text encoder looks at, made from static layers.

HunyuanVideo-I2V reads its input frame twice: as clean latent tokens (token replace) and,
through LLaVA's vision tower, as image tokens in the prompt. For a layer the input frame is
the layer over 50 % gray (the paper's gray-background convention, sec. 3 and 4.1, the same
gray the VAE sees, engine.dmdl.autoencoder.GRAY). A group of layers animated with one group
prompt is seen as the paper's TDL builder showed it to the I2V model and to the MLLM that
wrote the group prompt: the layers merged in place, over gray (sec. 3, "the merged image of
well-positioned multiple object layers").
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import PIL.Image
import torch

from engine.dmdl.autoencoder import rgba_over_gray, to_float_rgba
from engine.dmdl.grid import TOKEN_PIXELS
from engine.dmdl.packing import LayerPlacement


def layer_picture(rgba: np.ndarray | torch.Tensor) -> PIL.Image.Image:
    """One straight-alpha RGBA image (H, W, 4) -> the RGB picture over 50 % gray LLaVA reads."""
    return PIL.Image.fromarray(_bytes(rgba_over_gray(torch.as_tensor(rgba)[None])[0]), "RGB")


def group_picture(
    images: Sequence[np.ndarray | torch.Tensor], placements: Sequence[LayerPlacement]
) -> PIL.Image.Image:
    """The layers in their boxes on one canvas (their union), painted in the order given, over gray.

    Each image is its layer drawn into its generated box, whose top-left corner is the
    placement's token-grid cell.
    """
    if len(images) != len(placements) or not images:
        raise ValueError("Give one placement per layer image, and at least one layer.")
    boxes = [
        (place.left * TOKEN_PIXELS, place.top * TOKEN_PIXELS, image.shape[1], image.shape[0])
        for image, place in zip(images, placements)
    ]
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    canvas = PIL.Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    for image, (x, y, _, _) in zip(images, boxes):
        canvas.alpha_composite(PIL.Image.fromarray(_bytes(to_float_rgba(image)), "RGBA"), (x - left, y - top))
    return layer_picture(np.array(canvas))


def black_layers(images: Sequence[np.ndarray | torch.Tensor]) -> list[np.ndarray]:
    """Opaque black RGBA layers of the same sizes: their pictures are the "no image" that
    HunyuanVideo-I2V's pipeline pairs with true classifier-free guidance's negative prompt."""
    out = []
    for image in images:
        black = np.zeros((*image.shape[:2], 4), np.uint8)
        black[..., 3] = 255
        out.append(black)
    return out


def _bytes(values: torch.Tensor) -> np.ndarray:
    """Float channels in [0, 1] -> uint8, rounded."""
    return (values.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).cpu().numpy()
