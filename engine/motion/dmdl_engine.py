"""The generative engine behind the Animator interface: DMDL on a GPU with a local checkpoint.

The adapter does the poster-side work the model does not: scale the layers of one call
together to the <= 512 px the paper trains at (engine.dmdl.scale: the union of their boxes
fits the `resolution` parameter, every box snapped out to the 16-pixel token grid, the
layer kept undistorted inside it), draw each static layer into its generated box (the
pipeline's LayerEncoder puts it over 50 % gray and encodes it), hand latents and
placements (and the drawn layers, which LLaVA reads as HunyuanVideo-I2V reads its reference
frame) to `DMDLPipeline`, and resize the decoded RGBA frames back to the requested box
and cut them to its length. Frame 0 of every clip is the static layer itself, exactly.

The pipeline is loaded lazily from `DMDL_CHECKPOINT` the first time a layer is animated, so
the editor starts instantly and runs without it (the presets engine is the default). The
registry keeps one instance per process, so the weights load once and every session shares
them; generations run one at a time on the device, and `release()` frees the weights. For a
GPU smaller than the checkpoint, the `offload` parameter (default `DMDL_OFFLOAD`) keeps the
weights in CPU memory and moves one model, or one layer, at a time to the GPU.
"""

from __future__ import annotations

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
from engine.dmdl.offload import OFFLOAD_MODES, free_memory, offload_from_env
from engine.dmdl.resample import frames_to_box, frames_to_generated
from engine.dmdl.scale import TRAINED_SIDE, ScaledBox, scale_boxes
from engine.motion.base import CancelToken, MotionRequest, Progress, step
from engine.motion.params import ParamSpec, validate
from engine.motion.timing import place_generated

CHECKPOINT_ENV = "DMDL_CHECKPOINT"
DEVICE_ENV = "DMDL_DEVICE"  # default "cuda"; "cpu" runs (slowly) without a GPU
OFFLOAD_ENV = "DMDL_OFFLOAD"  # none (default) | model | sequential: the `offload` parameter's default
OWNER = "the dmdl engine"
OFFLOAD_LABELS = {"none": "All on the GPU", "model": "Offload models", "sequential": "Offload layer by layer"}


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


def static_for_generation(layer, scaled: ScaledBox) -> np.ndarray:
    """The static layer as seen through its motion box, drawn into its generated box: at the
    generation scale, undistorted, transparent round it (the box's snap to the token grid).
    The trainer draws every TDL clip with the same function (engine.dmdl.resample)."""
    return frames_to_generated(place_static(layer, Box(*scaled.poster))[None], scaled)[0]


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

    def __init__(self, pipeline=None, device: str | None = None, num_inference_steps: int = 50, dtype=None,
                 checkpoint: str | None = None) -> None:
        self._pipeline = pipeline  # tests and scripts may hand in a ready pipeline
        self._checkpoint = checkpoint  # a fixed folder (the evaluation's ablation rows), else DMDL_CHECKPOINT
        self._pipeline_key: tuple[str, str, str] | None = None  # (folder, device, offload) it was loaded for
        self._device = device
        self.num_inference_steps = num_inference_steps
        self.dtype = dtype  # default: bfloat16 on a GPU, float32 elsewhere
        self._load_lock = threading.Lock()  # two sessions asking at once still load once
        self._run_lock = threading.Lock()  # one generation at a time on the device

    # --- configuration ---------------------------------------------------------------

    @property
    def device(self) -> str:
        """The device given, else `DMDL_DEVICE` (read on every call, so a change is seen), else cuda."""
        return self._device or os.environ.get(DEVICE_ENV, "").strip() or "cuda"

    @property
    def checkpoint(self) -> str:
        """The folder given, else `DMDL_CHECKPOINT` (read on every call, like the device)."""
        return (self._checkpoint or os.environ.get(CHECKPOINT_ENV, "")).strip()

    @staticmethod
    def default_offload() -> str:
        """`DMDL_OFFLOAD` as an offload mode ("1"/"true" mean "model"); a bad value is an error."""
        try:
            return offload_from_env(OFFLOAD_ENV, os.environ.get(OFFLOAD_ENV))
        except DMDLError as error:
            raise PosterError(str(error)) from None

    # --- parameters ------------------------------------------------------------------

    def param_specs(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> list[ParamSpec]:
        try:
            offload = self.default_offload()
        except PosterError:  # said by available(); the panel still shows the choices
            offload = "none"
        return [
            ParamSpec("int", self.num_inference_steps, 1, 100, name="steps", label="Denoising steps",
                      help="More steps refine the motion; each one takes the same time."),
            ParamSpec("float", 6.0, 1.0, 15.0, name="guidance", label="Guidance",
                      help="How closely the motion follows the prompt; high values can look forced."),
            ParamSpec("int", TRAINED_SIDE, 64, 1024, name="resolution", label="Resolution (px)",
                      help="Longest side of the canvas the layers are generated on (the model is trained "
                           "within 512); larger motion boxes are scaled down together and back up."),
            ParamSpec("choice", offload, choices=OFFLOAD_MODES, name="offload", label="GPU memory",
                      help="For a GPU smaller than the checkpoint: keep weights in CPU memory, one model "
                           "(or one layer) on the GPU at a time, VAE in tiles.",
                      choice_labels=tuple(OFFLOAD_LABELS[mode] for mode in OFFLOAD_MODES)),
        ]

    def resolve_params(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> tuple[dict[str, Any], list[str]]:
        return validate(self.param_specs(), params, OWNER), []

    # --- the model ---------------------------------------------------------------------

    def available(self) -> tuple[bool, str]:
        if self._pipeline is not None and self._pipeline_key is None:
            return True, "The generative engine is loaded."
        try:
            self.default_offload()
        except PosterError as error:
            return False, str(error)
        folder = self.checkpoint
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

    def pipeline(self, offload: str = "none"):
        """The DMDL pipeline from DMDL_CHECKPOINT, loaded on first use (once, whoever asks)
        and kept; loaded again only when the folder, the device or the offload mode changes.
        A pipeline handed in by the caller is used as it is."""
        with self._load_lock, designer_errors():
            if self._pipeline is not None and self._pipeline_key is None:
                return self._pipeline
            key = (self.checkpoint, self.device, offload)
            if self._pipeline is None or self._pipeline_key != key:
                self._drop()
                self._pipeline = self._load(key[0], offload)
                self._pipeline_key = key
            return self._pipeline

    def _load(self, folder: str, offload: str = "none"):
        ok, reason = self.available()
        if not ok:
            raise PosterError(reason)
        import torch

        from engine.dmdl.pipeline import DMDLPipeline

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        dtype = self.dtype or (torch.bfloat16 if self.device.startswith("cuda") else torch.float32)
        pipe = DMDLPipeline.from_checkpoint(folder, dtype=dtype)
        missing = [name for name in ("vae", "layer_decoder", "image_processor") if getattr(pipe, name, None) is None]
        if missing:
            raise PosterError(
                f"The checkpoint in '{folder}' has no {' and no '.join(missing)} folder: the generative engine "
                "needs the video VAE, the transparent-layer decoder and LLaVA's image processor beside the "
                "transformer (python -m engine.dmdl.assemble builds a complete folder)."
            )
        pipe.set_progress_bar_config(disable=True)
        return pipe.place(self.device, offload)

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def _drop(self) -> None:
        if self._pipeline is None:
            return
        self._pipeline = self._pipeline_key = None
        free_memory()

    def release(self) -> None:
        """Free the weights (and the GPU memory they hold); the next call loads them again."""
        with self._load_lock, self._run_lock:
            self._drop()

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
        pipe = self.pipeline(params["offload"])
        scaled = scale_boxes([r.box for r in requests], params["resolution"])

        def on_step(index: int, _t) -> None:
            step(progress, cancel, index + 1, steps, f"Denoising step {index + 1} of {steps}")

        with self._run_lock:
            images, statics, placements = [], [], []
            for index, (request, box) in enumerate(zip(requests, scaled)):
                images.append(static_for_generation(request.layer, box))
                statics.append(pipe.encode_static(images[-1]))
                g = box.generated
                placements.append(LayerPlacement(index=index, top=g.y // TOKEN_PIXELS, left=g.x // TOKEN_PIXELS))
            decoded = pipe(
                statics,
                placements,
                prompts=prompts,
                images=images,
                group_prompt=group_prompt,
                num_frames=frames_to_generate(requests[0].frames),
                num_inference_steps=steps,
                guidance_scale=params["guidance"],
                generator=torch.Generator().manual_seed(requests[0].seed),
                output_type="rgba",
                step_callback=on_step,
            ).layers
        return [
            self._clip(r, frames_to_box(rgba_frames(d, b.generated.h, b.generated.w), b), params, notes)
            for r, b, d in zip(requests, scaled, decoded)
        ]

    def _clip(self, request: MotionRequest, frames: np.ndarray, params: dict[str, Any],
              notes: list[str]) -> LayerClip:
        """The motion-box frames placed on the request's timeline (engine.motion.timing);
        the static layer exactly where the timing holds it."""
        static = place_static(request.layer, request.box)
        notes = list(notes)
        source, timing = place_generated(static, frames, request, notes)
        return LayerClip(
            layer_id=request.layer.id,
            box=request.box,
            frames=source,
            engine=self.name,
            params={**params, "seed": request.seed},
            messages=notes,
            timing=timing,
        )
