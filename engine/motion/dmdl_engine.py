"""The generative engine behind the Animator interface: DMDL on a GPU with a local checkpoint.

The adapter does the poster-side work the model does not: snap each motion box out to the
16-pixel token grid, draw the static layer into it (the pipeline's LayerEncoder puts it over
50 % gray and encodes it), hand latents and placements to `DMDLPipeline`, and cut the
decoded RGBA frames back to the requested box and length. Frame 0 of every clip is the static layer itself, exactly.

The pipeline is loaded lazily from `DMDL_CHECKPOINT` the first time a layer is animated, so
the editor starts instantly and runs without it (the presets engine is the default). The
registry keeps one instance per process, so the weights load once and every session shares
them; generations run one at a time on the device, and `release()` frees the weights.
Boxes larger than the `resolution` parameter are generated at that scale and resized back.
"""

from __future__ import annotations

import math
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from engine.core.clip import LayerClip, place_static
from engine.core.poster import Box, LayerKind, PosterError
from engine.dmdl.errors import DMDLError
from engine.dmdl.grid import TOKEN_PIXELS
from engine.motion.base import CancelToken, MotionRequest, Progress, step
from engine.motion.params import ParamSpec, validate

CHECKPOINT_ENV = "DMDL_CHECKPOINT"
DEVICE_ENV = "DMDL_DEVICE"  # default "cuda"; "cpu" runs (slowly) without a GPU
OWNER = "the dmdl engine"


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


def scaled_boxes(boxes: Sequence[Box], resolution: int) -> tuple[float, list[Box]]:
    """The scale at which the layers' grid boxes fit `resolution` pixels on their longer
    side (never above 1), and each box at that scale, still on the token grid."""
    longest = max(max(box.w, box.h) for box in boxes)
    scale = min(1.0, resolution / longest)
    if scale == 1.0:
        return scale, list(boxes)
    scaled = []
    for box in boxes:
        x, y = int(box.x * scale) // TOKEN_PIXELS * TOKEN_PIXELS, int(box.y * scale) // TOKEN_PIXELS * TOKEN_PIXELS
        w = max(TOKEN_PIXELS, math.ceil(box.w * scale / TOKEN_PIXELS) * TOKEN_PIXELS)
        h = max(TOKEN_PIXELS, math.ceil(box.h * scale / TOKEN_PIXELS) * TOKEN_PIXELS)
        scaled.append(Box(x, y, w, h))
    return scale, scaled


def resize_rgba(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """(..., H, W, 4) uint8 RGBA resized to (..., height, width, 4); unchanged when it fits."""
    if frames.shape[-3:-1] == (height, width):
        return frames
    from PIL import Image

    flat = frames.reshape((-1,) + frames.shape[-3:])
    out = np.stack([
        np.asarray(Image.fromarray(f, "RGBA").resize((width, height), Image.Resampling.BILINEAR)) for f in flat
    ])
    return out.reshape(frames.shape[:-3] + (height, width, 4))


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
    label = "DMDL generative (GPU)"

    def __init__(self, pipeline=None, device: str | None = None, num_inference_steps: int = 50, dtype=None) -> None:
        self._pipeline = pipeline  # tests and scripts may hand in a ready pipeline
        self.device = device or os.environ.get(DEVICE_ENV, "").strip() or "cuda"
        self.num_inference_steps = num_inference_steps
        self.dtype = dtype  # default: bfloat16 on a GPU, float32 elsewhere
        self._load_lock = threading.Lock()  # two sessions asking at once still load once
        self._run_lock = threading.Lock()  # one generation at a time on the device

    # --- parameters ------------------------------------------------------------------

    def param_specs(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> list[ParamSpec]:
        return [
            ParamSpec("int", self.num_inference_steps, 1, 100, name="steps", label="Denoising steps",
                      help="More steps refine the motion; each one takes the same time."),
            ParamSpec("float", 6.0, 1.0, 15.0, name="guidance", label="Guidance",
                      help="How closely the motion follows the prompt; high values can look forced."),
            ParamSpec("int", 512, 64, 1024, name="resolution", label="Resolution (px)",
                      help="Longest side the layers are generated at; larger boxes are scaled down and back up."),
        ]

    def resolve_params(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> tuple[dict[str, Any], list[str]]:
        return validate(self.param_specs(), params, OWNER), []

    # --- the model ---------------------------------------------------------------------

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

        if self.device.startswith("cuda") and not torch.cuda.is_available():
            return False, "The generative engine needs a GPU, and none was found on this machine: use the presets."
        return True, "The generative engine is ready."

    def pipeline(self):
        """The DMDL pipeline, loaded from DMDL_CHECKPOINT on first use (once, whoever asks)."""
        with self._load_lock, designer_errors():
            if self._pipeline is None:
                self._pipeline = self._load()
            return self._pipeline

    def _load(self):
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
        return pipe

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def release(self) -> None:
        """Free the weights (and the GPU memory they hold); the next call loads them again."""
        with self._load_lock, self._run_lock:
            self._pipeline = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover - torch is a dependency of this engine
            pass

    # --- animating ---------------------------------------------------------------------

    def animate(
        self,
        requests: Sequence[MotionRequest],
        *,
        group_prompt: str | None = None,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> list[LayerClip]:
        """One generation for every layer: each its own prompt (joint mode) or one group prompt.

        Progress after every denoising step; a cancel stops the sampling after the current step.
        """
        requests = list(requests)
        prompts = None if group_prompt is not None else [r.prompt for r in requests]
        with designer_errors():
            return self._generate(requests, prompts, group_prompt, progress, cancel)

    def _generate(
        self, requests: Sequence[MotionRequest], prompts: list[str] | None, group_prompt: str | None,
        progress: Progress | None = None, cancel: CancelToken | None = None,
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
        params, _ = self.resolve_params(requests[0].params)
        ignored = [r.layer.name for r in requests[1:] if self.resolve_params(r.params)[0] != params]
        notes = [
            f"Layers generated together share one set of settings, those of '{requests[0].layer.name}'; "
            f"the different settings of {', '.join(repr(n) for n in ignored)} were not used."
        ] if ignored else []
        steps = params["steps"]
        step(progress, cancel, 0, steps, "Loading the generative model")
        pipe = self.pipeline()
        grid_boxes = [r.box.snap_out(TOKEN_PIXELS) for r in requests]
        scale, gen_boxes = scaled_boxes(grid_boxes, params["resolution"])

        def on_step(index: int, _t) -> None:
            step(progress, cancel, index + 1, steps, f"Denoising step {index + 1} of {steps}")

        with self._run_lock:
            statics, placements = [], []
            for index, (request, grid_box, gen_box) in enumerate(zip(requests, grid_boxes, gen_boxes)):
                static = resize_rgba(place_static(request.layer, grid_box), gen_box.h, gen_box.w)
                statics.append(pipe.encode_static(static))
                placements.append(
                    LayerPlacement(index=index, top=gen_box.y // TOKEN_PIXELS, left=gen_box.x // TOKEN_PIXELS)
                )
            decoded = pipe(
                statics,
                placements,
                prompts=prompts,
                group_prompt=group_prompt,
                num_frames=frames_to_generate(requests[0].frames),
                num_inference_steps=steps,
                guidance_scale=params["guidance"],
                generator=torch.Generator().manual_seed(requests[0].seed),
                output_type="rgba",
                step_callback=on_step,
            ).layers
        return [
            self._clip(r, b, resize_rgba(rgba_frames(d, g.h, g.w), b.h, b.w), params, notes)
            for r, b, g, d in zip(requests, grid_boxes, gen_boxes, decoded)
        ]

    def _clip(self, request: MotionRequest, grid_box: Box, frames: np.ndarray, params: dict[str, Any],
              notes: list[str]) -> LayerClip:
        """Cut the generated grid-box frames back to the requested box, length and start offset."""
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
            params={**params, "seed": request.seed},
            messages=list(notes),
        )
