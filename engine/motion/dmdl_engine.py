"""The generative engine behind the Animator interface: DMDL on a GPU with a local checkpoint.

The adapter does the poster-side work the model does not: snap each motion box out to the
16-pixel token grid, draw the static layer into it (the pipeline's LayerEncoder puts it over
50 % gray and encodes it), hand latents and placements to `DMDLPipeline`, and cut the
decoded RGBA frames back to the requested box and length. Frame 0 of every clip is the static layer itself, exactly.

The pipeline is loaded lazily from `DMDL_CHECKPOINT` the first time a layer is animated, so
the editor starts instantly and runs without it (the presets engine is the default).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from engine.core.clip import LayerClip, place_static
from engine.motion.base import MotionRequest
from engine.core.poster import Box, PosterError
from engine.dmdl.errors import DMDLError
from engine.dmdl.grid import TOKEN_PIXELS

CHECKPOINT_ENV = "DMDL_CHECKPOINT"


def frames_to_generate(frames: int) -> int:
    """The smallest 4k+1 clip length (the video VAE's rhythm) that covers `frames`."""
    return frames if (frames - 1) % 4 == 0 else frames + (4 - (frames - 1) % 4)


@contextmanager
def designer_errors() -> Iterator[None]:
    """The model package speaks its own DMDLError (it imports nothing of engine.core); a
    designer gets the same sentence as a PosterError, like every other engine's."""
    try:
        yield
    except DMDLError as error:
        raise PosterError(str(error)) from error


def rgba_frames(decoded, height: int, width: int) -> np.ndarray:
    """The decoder's (T, H, W, 4) straight-alpha RGBA in [0, 1] -> uint8."""
    array = decoded.detach().float().cpu().numpy()
    if array.ndim != 4 or array.shape[1:] != (height, width, 4):
        raise PosterError(
            f"The layer decoder returned frames of shape {array.shape}, expected (T, {height}, {width}, 4): "
            "the checkpoint's decoder does not match this engine."
        )
    return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class DMDLAnimator:
    """Animator `dmdl`: the paper's multi-layer diffusion model."""

    name = "dmdl"

    def __init__(self, pipeline=None, device: str = "cuda", num_inference_steps: int = 50, dtype=None) -> None:
        self._pipeline = pipeline  # tests and scripts may hand in a ready pipeline
        self.device = device
        self.num_inference_steps = num_inference_steps
        self.dtype = dtype  # default: bfloat16 on a GPU, float32 elsewhere

    def available(self) -> tuple[bool, str]:
        if self._pipeline is not None:
            return True, "The generative engine is loaded."
        folder = os.environ.get(CHECKPOINT_ENV, "").strip()
        if not folder:
            return False, (
                "The generative engine needs a GPU and a checkpoint: set DMDL_CHECKPOINT to a local folder."
            )
        if not (Path(folder) / "model_index.json").is_file():
            return False, (
                f"DMDL_CHECKPOINT points at '{folder}', which is not a model folder (no model_index.json): "
                "set it to the folder that holds the downloaded checkpoint."
            )
        import torch

        if not torch.cuda.is_available():
            return False, "The generative engine needs a GPU, and none was found on this machine: use the presets."
        return True, "The generative engine is ready."

    def pipeline(self):
        """The DMDL pipeline, loaded from DMDL_CHECKPOINT on first use."""
        with designer_errors():
            return self._load_pipeline()

    def _load_pipeline(self):
        if self._pipeline is None:
            ok, reason = self.available()
            if not ok:
                raise PosterError(reason)
            import torch

            from engine.dmdl.pipeline import DMDLPipeline

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            folder = os.environ[CHECKPOINT_ENV].strip()
            dtype = self.dtype or (torch.bfloat16 if self.device.startswith("cuda") else torch.float32)
            pipe = DMDLPipeline.from_checkpoint(folder, dtype=dtype).to(self.device)
            missing = [name for name in ("vae", "layer_decoder") if getattr(pipe, name, None) is None]
            if missing:
                raise PosterError(
                    f"The checkpoint in '{folder}' has no {' and no '.join(missing)} folder: the generative engine "
                    "needs the video VAE and the transparent-layer decoder beside the transformer."
                )
            self._pipeline = pipe
        return self._pipeline

    def animate(self, request: MotionRequest) -> LayerClip:
        return self._generate([request], prompts=[request.prompt], group_prompt=None)[0]

    def animate_group(self, requests: Sequence[MotionRequest], prompt: str) -> list[LayerClip]:
        return self._generate(requests, prompts=None, group_prompt=prompt)

    def animate_jointly(self, requests: Sequence[MotionRequest]) -> list[LayerClip]:
        """Several layers, each with its own prompt, generated together (the paper's joint mode)."""
        return self._generate(requests, prompts=[r.prompt for r in requests], group_prompt=None)

    def _generate(
        self, requests: Sequence[MotionRequest], prompts: list[str] | None, group_prompt: str | None
    ) -> list[LayerClip]:
        with designer_errors():
            return self._generate_clips(requests, prompts, group_prompt)

    def _generate_clips(
        self, requests: Sequence[MotionRequest], prompts: list[str] | None, group_prompt: str | None
    ) -> list[LayerClip]:
        import torch

        from engine.dmdl.packing import LayerPlacement

        if not requests:
            raise PosterError("Pick at least one layer to animate.")
        if len({r.frames for r in requests}) != 1:
            raise PosterError("Layers animated together must share one clip length.")
        texts = [group_prompt] if group_prompt is not None else list(prompts or [])
        if any(not (t or "").strip() for t in texts):
            raise PosterError("The generative engine needs a motion prompt: describe how the layer should move.")
        pipe = self.pipeline()
        grid_boxes = [r.box.snap_out(TOKEN_PIXELS) for r in requests]
        statics, placements = [], []
        for index, (request, grid_box) in enumerate(zip(requests, grid_boxes)):
            statics.append(pipe.encode_static(place_static(request.layer, grid_box)))
            placements.append(LayerPlacement(index=index, top=grid_box.y // TOKEN_PIXELS, left=grid_box.x // TOKEN_PIXELS))
        frames = requests[0].frames
        seed = requests[0].seed
        decoded = pipe(
            statics,
            placements,
            prompts=prompts,
            group_prompt=group_prompt,
            num_frames=frames_to_generate(frames),
            num_inference_steps=self.num_inference_steps,
            generator=torch.Generator().manual_seed(seed),
            output_type="rgba",
        ).layers
        return [self._clip(r, b, d) for r, b, d in zip(requests, grid_boxes, decoded)]

    def _clip(self, request: MotionRequest, grid_box: Box, decoded) -> LayerClip:
        """Cut the generated grid-box frames back to the requested box, length and start offset."""
        frames = rgba_frames(decoded, grid_box.h, grid_box.w)
        dx, dy = request.box.x - grid_box.x, request.box.y - grid_box.y
        frames = frames[:, dy : dy + request.box.h, dx : dx + request.box.w]
        static = place_static(request.layer, request.box)
        hold = np.repeat(static[None], request.start_offset, axis=0)
        frames = np.concatenate([hold, frames])[: request.frames].copy()
        frames[0] = static
        return LayerClip(
            layer_id=request.layer.id,
            box=request.box,
            frames=frames,
            engine=self.name,
            params={"steps": self.num_inference_steps, "seed": request.seed},
        )
