"""What the image-to-video engine knows about each diffusers pipeline family, written once.

Every number the engine needs about a model family lives in `FAMILIES`: the canvases the
public checkpoints were trained at, how many frames the video VAE accepts (4k+1, 8k+1),
the multiple every side must be, the frame rate the model moves at, the defaults its
authors recommend, and which optional call arguments it takes. The engine's parameters
(their defaults), the canvas a layer is generated on and the call itself are all derived
from this table, so supporting one more family is one more row, not new code paths.

The module is pure Python (no torch, no diffusers): the editor reads it to show the
engine's parameters without importing a model library.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.poster import PosterError


@dataclass(frozen=True)
class Family:
    """One diffusers image-to-video pipeline class and how to drive it."""

    class_name: str  # `_class_name` in the folder's model_index.json
    label: str  # what a designer calls it
    canvases: tuple[tuple[int, int], ...]  # native (width, height) sizes, the first is the default
    frame_step: int  # frame counts must be frame_step * k + 1 (the video VAE's temporal rhythm)
    spatial_multiple: int  # width and height must be multiples of this (VAE stride x patch size)
    fps: int  # the frame rate its motion is trained at
    max_frames: int  # the longest clip worth asking for in one call
    steps: int  # recommended denoising steps
    guidance: float  # recommended guidance scale
    takes_negative_prompt: bool = False  # classifier-free guidance with a negative prompt
    takes_frame_rate: bool = False  # conditions on frame_rate (LTX): then it moves at the request's fps
    negative_prompt: str = ""  # the default negative prompt
    canvas_from_transformer: bool = False  # learned position embeddings: one canvas, read from the weights
    framepack_window: int = 0  # latent frames per FramePack section (0: one denoising pass)

    @property
    def native_side(self) -> int:
        """The longest side of the default canvas: the resolution parameter's default."""
        return max(self.canvases[0])

    def frames_for(self, wanted: int) -> int:
        """The smallest count this family accepts that covers `wanted` frames (at least one step)."""
        k = max(1, math.ceil((max(wanted, 2) - 1) / self.frame_step))
        return k * self.frame_step + 1

    def denoising_passes(self, frames: int) -> int:
        """How many denoising loops one call runs: FramePack samples its video in sections."""
        if not self.framepack_window:
            return 1
        window_frames = (self.framepack_window - 1) * 4 + 1
        return max(1, (frames + window_frames - 1) // window_frames)


_WAN_NEGATIVE = (
    "static, still, blurry details, subtitles, low quality, jpeg artifacts, deformed, disfigured, "
    "extra fingers, messy background, walking backwards"
)

#: Supported pipeline classes. Canvases are the public checkpoints' training sizes.
FAMILIES: dict[str, Family] = {
    family.class_name: family
    for family in (
        Family(
            "HunyuanVideoImageToVideoPipeline", "HunyuanVideo-I2V",
            canvases=((1280, 720), (720, 1280), (960, 960)),
            frame_step=4, spatial_multiple=16, fps=24, max_frames=129, steps=50, guidance=6.0,
        ),
        Family(
            "HunyuanVideoFramepackPipeline", "FramePack (HunyuanVideo)",
            canvases=((640, 640), (768, 512), (512, 768), (832, 480), (480, 832)),
            frame_step=4, spatial_multiple=16, fps=30, max_frames=241, steps=25, guidance=10.0,
            framepack_window=9,
        ),
        Family(
            "WanImageToVideoPipeline", "Wan 2.x I2V",
            canvases=((832, 480), (480, 832), (624, 624)),
            frame_step=4, spatial_multiple=16, fps=16, max_frames=81, steps=40, guidance=5.0,
            takes_negative_prompt=True, negative_prompt=_WAN_NEGATIVE,
        ),
        Family(
            "LTXImageToVideoPipeline", "LTX-Video",
            canvases=((768, 512), (512, 768), (640, 640)),
            frame_step=8, spatial_multiple=32, fps=24, max_frames=257, steps=50, guidance=3.0,
            takes_negative_prompt=True, takes_frame_rate=True,
            negative_prompt="worst quality, inconsistent motion, blurry, jittery, distorted",
        ),
        Family(
            "LTXConditionPipeline", "LTX-Video (condition)",
            canvases=((768, 512), (512, 768), (640, 640)),
            frame_step=8, spatial_multiple=32, fps=24, max_frames=257, steps=40, guidance=3.0,
            takes_negative_prompt=True, takes_frame_rate=True,
            negative_prompt="worst quality, inconsistent motion, blurry, jittery, distorted",
        ),
        Family(
            "CogVideoXImageToVideoPipeline", "CogVideoX-I2V",
            canvases=((720, 480),),
            frame_step=4, spatial_multiple=16, fps=8, max_frames=49, steps=50, guidance=6.0,
            takes_negative_prompt=True, canvas_from_transformer=True,
        ),
    )
}


@dataclass(frozen=True)
class ModelFolder:
    """A local diffusers folder the engine can load: its family and what its weights fix."""

    path: Path
    family: Family
    fixed_canvas: tuple[int, int] | None = None  # (width, height) when the weights allow only one
    max_frames: int | None = None  # when the weights cap the clip length below the family's

    @property
    def frame_limit(self) -> int:
        return min(self.family.max_frames, self.max_frames or self.family.max_frames)


def read_model_folder(folder: str | Path) -> ModelFolder:
    """The family of the diffusers folder `folder` (from model_index.json), or a PosterError
    saying, in a designer's words, what is wrong with it."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise PosterError(f"I2V_MODEL points at '{path}', which is not a folder: set it to a downloaded model folder.")
    index_file = path / "model_index.json"
    if not index_file.is_file():
        raise PosterError(
            f"I2V_MODEL points at '{path}', which is not a diffusers model folder (no model_index.json): "
            "set it to the folder that holds the downloaded pipeline."
        )
    try:
        index = json.loads(index_file.read_text())
        class_name = index["_class_name"]
    except (ValueError, KeyError, TypeError):
        raise PosterError(
            f"The model_index.json in '{path}' cannot be read (no _class_name): download the model folder again."
        ) from None
    family = FAMILIES.get(class_name)
    if family is None:
        raise PosterError(
            f"The model in '{path}' is a {class_name}, which the image-to-video engine does not drive. "
            f"Supported: {', '.join(FAMILIES)}."
        )
    fixed_canvas = max_frames = None
    if family.canvas_from_transformer:
        fixed_canvas, max_frames = _canvas_from_transformer(path)
    return ModelFolder(path, family, fixed_canvas, max_frames)


def _canvas_from_transformer(path: Path) -> tuple[tuple[int, int] | None, int | None]:
    """CogVideoX 1.0 learns its position embeddings for one canvas and length: read them."""
    try:
        config: dict[str, Any] = json.loads((path / "transformer" / "config.json").read_text())
    except (OSError, ValueError):
        return None, None
    if not config.get("use_learned_positional_embeddings"):
        return None, None
    scale = 8  # CogVideoX's VAE stride
    canvas = (int(config["sample_width"]) * scale, int(config["sample_height"]) * scale)
    frames = (int(config["sample_frames"]) - 1) // int(config.get("temporal_compression_ratio", 4)) * 4 + 1
    return canvas, frames


def choose_canvas(
    family: Family, box_w: int, box_h: int, resolution: int, fixed: tuple[int, int] | None = None
) -> tuple[int, int]:
    """The (width, height) to generate a box of box_w x box_h on.

    The family's native aspect closest to the box's, scaled so its longer side is
    `resolution`, every side a multiple of the family's `spatial_multiple`. Models drift
    and blur off their training aspect ratios, so the box is padded to a native aspect
    rather than generated at its own.
    """
    if fixed is not None:
        return fixed
    aspect = box_w / box_h
    width, height = min(family.canvases, key=lambda c: abs(math.log((c[0] / c[1]) / aspect)))
    scale = resolution / max(width, height)
    m = family.spatial_multiple
    return max(m, round(width * scale / m) * m), max(m, round(height * scale / m) * m)


__all__ = ["FAMILIES", "Family", "ModelFolder", "choose_canvas", "read_model_folder"]
