"""The learned matting model: ViTMatte, through transformers, from a local folder.

The known-background matte (engine.motion.matting) is exact where a pixel is plainly the
layer or plainly the gray, and guesses in between: soft edges, motion blur, hair-thin
strokes, colours the static layer never had. A matting network trained on real
composites is better there, so the `vitmatte` method hands it a trimap of that band.
This module only loads the model and turns (image, trimap) into alpha; building the
trimap and the colour belong to the matte itself.

`I2V_MATTING_MODEL` names a folder saved by transformers (`config.json` of a
`VitMatteForImageMatting`, its weights and `preprocessor_config.json`, e.g. a download of
hustvl/vitmatte-small-composition-1k); nothing is downloaded. The model is loaded once per
folder per process, under a lock, and kept: every layer of every session shares it.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.poster import PosterError

MODEL_ENV = "I2V_MATTING_MODEL"
MODEL_TYPE = "vitmatte"  # config.json's model_type of VitMatteForImageMatting

_loaded: dict[str, "MattingModel"] = {}
_lock = threading.Lock()


def configured_folder() -> str | None:
    """The folder `I2V_MATTING_MODEL` names, or None when it is unset (read on every call)."""
    return os.environ.get(MODEL_ENV, "").strip() or None


def check_folder(folder: str | os.PathLike) -> Path:
    """The folder, if it holds a ViTMatte model; otherwise a PosterError saying what is wrong."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise PosterError(f"{MODEL_ENV} points at '{path}', which is not a folder: set it to a local ViTMatte model folder.")
    config = path / "config.json"
    try:
        model_type = json.loads(config.read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        raise PosterError(
            f"{MODEL_ENV} points at '{path}', which holds no model (no readable config.json): "
            "save a ViTMatte model there (e.g. hustvl/vitmatte-small-composition-1k)."
        ) from None
    if model_type != MODEL_TYPE:
        raise PosterError(
            f"The model in '{path}' is a '{model_type}', not a ViTMatte matting model: "
            f"point {MODEL_ENV} at a VitMatteForImageMatting folder."
        )
    return path


@dataclass
class MattingModel:
    """A loaded ViTMatte and its image processor, on one device."""

    model: Any
    processor: Any
    device: str

    def alpha(self, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        """Alpha (H, W) float32 in [0, 1] of an RGB uint8 image (H, W, 3) with its trimap
        (H, W) uint8: 0 background, 128 unknown, 255 foreground."""
        import torch

        height, width = trimap.shape
        inputs = self.processor(images=image, trimaps=trimap, return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device, dtype=next(self.model.parameters()).dtype)
        with torch.inference_mode():
            alphas = self.model(pixel_values=pixels).alphas
        # the processor pads to its size divisor at the bottom and right: crop back
        return alphas[0, 0, :height, :width].float().clamp(0, 1).cpu().numpy()


def matting_model(folder: str | os.PathLike | None = None) -> MattingModel:
    """The model in `folder` (default: `I2V_MATTING_MODEL`), loaded on first use and kept."""
    chosen = folder if folder is not None else configured_folder()
    if chosen is None:
        raise PosterError(
            f"The vitmatte matting method needs a model: set {MODEL_ENV} to a local ViTMatte folder "
            "(e.g. hustvl/vitmatte-small-composition-1k), or choose the palette matte."
        )
    path = check_folder(chosen)
    key = str(path.resolve())
    with _lock:
        if key not in _loaded:
            _loaded[key] = _load(path)
        return _loaded[key]


def _load(path: Path) -> MattingModel:
    import torch
    from transformers import AutoImageProcessor, VitMatteForImageMatting

    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        processor = AutoImageProcessor.from_pretrained(path, local_files_only=True)
        model = VitMatteForImageMatting.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PosterError(
            f"The ViTMatte model in '{path}' could not be loaded ({error}): check that the folder is complete."
        ) from None
    return MattingModel(model=model.to(device).eval(), processor=processor, device=device)


def release() -> None:
    """Forget every loaded model (the next call loads again)."""
    with _lock:
        _loaded.clear()


__all__ = ["MODEL_ENV", "MattingModel", "check_folder", "configured_folder", "matting_model", "release"]
