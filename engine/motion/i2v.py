"""The `i2v` engine: open-vocabulary motion from any public diffusers image-to-video model.

The DMDL weights are not public, but the paper's own baselines (and its TDL stage II) show
the way that works with public ones: run an image-to-video model on the layer laid over
50 % gray, then matte the video back to a transparent layer. Per layer this engine places
the static layer in its motion box, scales the box proportionally into the model's native
canvas (gray padding round it, so the model has room and never sees transparency), asks
for the motion prompt, crops the padding off, scales back to the box, picks frames so the
motion keeps the model's speed at the poster's frame rate and mattes each frame
(engine.motion.matting; frame 0 is the static layer exactly). The clip is in motion-box
coordinates, so nothing lies outside the box, and it plays once and holds its last frame
unless the `loop` parameter asks for a cross-fade or a ping-pong.

`I2V_MODEL` names a local diffusers folder; its pipeline class comes from model_index.json
and nothing is downloaded. What differs between model families (canvases, frame-count
rule, defaults, call arguments) is one table, engine.motion.i2v_families. The pipeline is
loaded once per engine instance (the registry keeps one per process), on first use, under
a lock; generations run one at a time; `release()` frees it. On a GPU it runs in bf16; with
`offload` (parameter, or `I2V_OFFLOAD`) the weights wait in CPU memory and only the part
that runs sits on the GPU, and the VAE decodes in tiles, for cards smaller than the model.

Progress comes from the pipelines' `callback_on_step_end`. Every supported pipeline honours
its `_interrupt` flag only by skipping the remaining steps and still decoding the video
(FramePack decodes each section), which on a real model costs a minute, so a cancel sets
the flag and raises `Cancelled` from the callback itself: the call stops within one step.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from engine.core.clip import LayerClip, place_static
from engine.core.poster import LayerKind, PosterError
from engine.dmdl.errors import DMDLError
from engine.dmdl.offload import OFFLOAD_MODES, free_memory, offload_from_env
from engine.motion.base import Cancelled, CancelToken, MotionRequest, Progress, step
from engine.motion.i2v_families import FAMILIES, Family, ModelFolder, choose_canvas, read_model_folder
from engine.motion.i2v_frames import (
    LOOP_CHOICES, Fit, crossfade, frames_to_generate, from_canvas, pingpong, pingpong_length, retime, to_canvas,
)
from engine.motion.matting import available_methods, matte
from engine.motion.params import ParamSpec, validate
from engine.motion.timing import motion_frames, place_generated, resolve_timing

MODEL_ENV = "I2V_MODEL"
OFFLOAD_ENV = "I2V_OFFLOAD"
DEVICE_ENV = "I2V_DEVICE"  # default: cuda when torch sees a GPU, else cpu
OWNER = "the i2v engine"
#: none: every weight on the device; model: one model at a time on the GPU (about half the
#: memory, little slower); sequential: one layer at a time (smallest, many times slower).
OFFLOAD_CHOICES = OFFLOAD_MODES  # the same modes, applied by diffusers/accelerate in both engines
_FAMILY_NAMES = "HunyuanVideo-I2V, FramePack, Wan 2.x I2V, LTX-Video or CogVideoX-I2V"


@dataclass
class _Plan:
    """One layer's generation, decided before any weight is touched."""

    request: MotionRequest
    prompt: str
    params: dict[str, Any]
    fit: Fit
    model_frames: int  # frames asked of the model (its frame rule)
    model_fps: int  # the rate the model's frames are spaced at
    motion_frames: int  # poster frames of motion (its duration on the timeline)
    forward_frames: int  # frames of motion before any ping-pong
    passes: int  # denoising loops the call runs (FramePack: one per section)
    notes: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return self.params["steps"] * self.passes


class I2VAnimator:
    """Animator `i2v`: a public image-to-video model per layer, matted back to RGBA."""

    name = "i2v"
    label = "Image-to-video model (GPU)"

    def __init__(self, device: str | None = None, dtype=None) -> None:
        self._device = device
        self.dtype = dtype  # default: bfloat16 on a GPU, float32 elsewhere
        self._pipe = None
        self._pipe_key: tuple[str, str] | None = None  # (folder, offload) the pipeline was loaded for
        self._load_lock = threading.Lock()  # two sessions asking at once still load once
        self._run_lock = threading.Lock()  # one generation at a time on the device

    # --- configuration -------------------------------------------------------------------

    @property
    def device(self) -> str:
        if self._device is None:
            chosen = os.environ.get(DEVICE_ENV, "").strip()
            if not chosen:
                import torch

                chosen = "cuda" if torch.cuda.is_available() else "cpu"
            self._device = chosen
        return self._device

    def model_folder(self) -> ModelFolder:
        """The folder `I2V_MODEL` names, read (cheaply) on every call so a change is seen."""
        folder = os.environ.get(MODEL_ENV, "").strip()
        if not folder:
            raise PosterError(
                f"The image-to-video engine needs a model: set I2V_MODEL to a local diffusers folder "
                f"({_FAMILY_NAMES})."
            )
        return read_model_folder(folder)

    def _family(self) -> Family | None:
        try:
            return self.model_folder().family
        except PosterError:
            return None

    @staticmethod
    def default_offload() -> str:
        """`I2V_OFFLOAD` as an offload choice ("1"/"true" mean "model"); a bad value is an error."""
        try:
            return offload_from_env(OFFLOAD_ENV, os.environ.get(OFFLOAD_ENV))
        except DMDLError as error:
            raise PosterError(str(error)) from None

    def available(self) -> tuple[bool, str]:
        try:
            folder = self.model_folder()
            self.default_offload()
        except PosterError as error:
            return False, str(error)
        where = f"{folder.family.label} from '{folder.path}'"
        if self.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                return False, (
                    f"I2V_DEVICE asks for '{self.device}' but torch sees no GPU here: unset I2V_DEVICE to run "
                    "on the CPU (very slowly), or install a CUDA build of torch."
                )
        if self.device == "cpu":
            return True, (
                f"{where} is ready, on the CPU: a real model takes minutes per step there; a CUDA GPU is far faster."
            )
        return True, f"{where} is ready."

    # --- parameters -------------------------------------------------------------------------

    def param_specs(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> list[ParamSpec]:
        """Defaults from the configured model's family; without one, neutral ones."""
        family = self._family()
        try:
            offload = self.default_offload()
        except PosterError:
            offload = "none"
        mattes = available_methods()  # a learned matte only where its model is configured
        specs = [
            ParamSpec("int", family.steps if family else 50, 1, 200, name="steps", label="Denoising steps",
                      help="More steps refine the motion; each one takes the same time."),
            ParamSpec("float", family.guidance if family else 6.0, 0.0, 20.0, name="guidance", label="Guidance",
                      help="How closely the motion follows the prompt; high values can look forced."),
            ParamSpec("int", family.native_side if family else 768, 16, 2048, name="resolution",
                      label="Resolution (px)",
                      help="Longest side of the canvas the model draws on; the motion box is scaled to fit it."),
            ParamSpec("choice", next(iter(mattes)), choices=tuple(mattes), name="matting",
                      label="Matting", help="How the gray background is taken out of the generated video.",
                      choice_labels=tuple(info.label for info in mattes.values())),
            ParamSpec("choice", "none", choices=LOOP_CHOICES, name="loop", label="Loop",
                      help="A generated clip plays once and holds, unless its tail cross-fades or ping-pongs back.",
                      choice_labels=("Play once and hold", "Cross-fade the tail", "Ping-pong")),
            ParamSpec("choice", offload, choices=OFFLOAD_CHOICES, name="offload", label="GPU memory",
                      help="For a GPU smaller than the model: keep weights in CPU memory, one model "
                           "(or one layer) on the GPU at a time, VAE decoding in tiles.",
                      choice_labels=("All on the GPU", "Offload models", "Offload layer by layer")),
        ]
        if family is not None and family.takes_negative_prompt:
            specs.insert(2, ParamSpec("text", family.negative_prompt, max=500, name="negative_prompt",
                                      label="Negative prompt", help="What the motion should avoid."))
        return specs

    def resolve_params(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> tuple[dict[str, Any], list[str]]:
        return validate(self.param_specs(), params, OWNER), []

    # --- the model ----------------------------------------------------------------------------

    def pipeline(self, offload: str = "none"):
        """The diffusers pipeline for `I2V_MODEL`, loaded on first use and kept; loaded again
        only when the folder or the offload mode changes."""
        folder = self.model_folder()
        key = (str(folder.path.resolve()), offload)
        with self._load_lock:
            if self._pipe is None or self._pipe_key != key:
                self._drop()
                self._pipe = self._load(folder, offload)
                self._pipe_key = key
            return self._pipe

    def _load(self, folder: ModelFolder, offload: str):
        import diffusers
        import torch

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        cls = getattr(diffusers, folder.family.class_name)
        on_gpu = self.device.startswith("cuda")
        dtype = self.dtype or (torch.bfloat16 if on_gpu else torch.float32)
        try:
            pipe = cls.from_pretrained(folder.path, dtype=dtype, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise PosterError(
                f"The {folder.family.label} model in '{folder.path}' could not be loaded ({error}): "
                "check that the folder is complete, or download it again."
            ) from None
        if offload == "model":
            pipe.enable_model_cpu_offload(device=self.device)
        elif offload == "sequential":
            pipe.enable_sequential_cpu_offload(device=self.device)
        else:
            pipe.to(self.device)
        vae = getattr(pipe, "vae", None)
        if offload != "none" and hasattr(vae, "enable_tiling"):
            vae.enable_tiling()
        pipe.set_progress_bar_config(disable=True)
        return pipe

    @property
    def loaded(self) -> bool:
        return self._pipe is not None

    def _drop(self) -> None:
        if self._pipe is None:
            return
        self._pipe = self._pipe_key = None
        free_memory()

    def release(self) -> None:
        """Free the weights (and the GPU memory they hold); the next call loads them again."""
        with self._load_lock, self._run_lock:
            self._drop()

    # --- animating ------------------------------------------------------------------------------

    def animate(
        self,
        requests: Sequence[MotionRequest],
        *,
        group_prompt: str | None = None,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> list[LayerClip]:
        """One generation per layer, each with its own prompt or the shared `group_prompt`.

        The model sees one layer at a time (it knows nothing of layouts), so a group moves
        under one prompt but is not coordinated: that is what the dmdl engine is for.
        """
        requests = list(requests)
        if not requests:
            raise PosterError("Pick at least one layer to animate.")
        prompts = [group_prompt if group_prompt is not None else r.prompt for r in requests]
        if any(not (p or "").strip() for p in prompts):
            raise PosterError("The image-to-video engine needs a motion prompt: describe how the layer should move.")
        folder = self.model_folder()
        plans = [self._plan(folder, r, p) for r, p in zip(requests, prompts)]
        total = sum(plan.steps for plan in plans)
        step(progress, cancel, 0, total, f"Loading {folder.family.label}")
        clips, done = [], 0
        for number, plan in enumerate(plans, start=1):
            pipe = self.pipeline(plan.params["offload"])
            label = f"Layer {number} of {len(plans)}: " if len(plans) > 1 else ""
            with self._run_lock:
                video = self._generate(pipe, folder.family, plan, progress, cancel, done, total, label)
            done += plan.steps
            clips.append(self._clip(plan, video))
        return clips

    def _plan(self, folder: ModelFolder, request: MotionRequest, prompt: str) -> _Plan:
        params, _ = self.resolve_params(request.params)
        family = folder.family
        notes: list[str] = []
        motion = motion_frames(resolve_timing(request), request.frames)
        forward = pingpong_length(motion) if params["loop"] == "pingpong" else motion
        model_fps = request.fps if family.takes_frame_rate else family.fps
        wanted = family.frames_for(frames_to_generate(forward, request.fps, model_fps))
        limit = folder.frame_limit
        if wanted > limit:
            wanted = limit
            notes.append(
                f"{family.label} makes at most {limit} frames ({limit / model_fps:.1f} s): "
                "the layer holds its last pose after that."
            )
        canvas = choose_canvas(family, request.box.w, request.box.h, params["resolution"], folder.fixed_canvas)
        if folder.fixed_canvas is not None and max(canvas) != params["resolution"]:
            notes.append(f"This model draws only at {canvas[0]}×{canvas[1]}; the resolution setting does not apply.")
        return _Plan(
            request=request, prompt=prompt.strip(), params=params,
            fit=Fit.of(request.box.w, request.box.h, *canvas), model_frames=wanted, model_fps=model_fps,
            motion_frames=motion, forward_frames=forward, passes=family.denoising_passes(wanted), notes=notes,
        )

    def _generate(
        self, pipe, family: Family, plan: _Plan, progress: Progress | None, cancel: CancelToken | None,
        done: int, total: int, label: str,
    ) -> np.ndarray:
        """The model's RGB video (T, H, W, 3) float in [0, 1] for one layer over gray."""
        import torch

        request, params = plan.request, plan.params
        static = place_static(request.layer, request.box)
        counter = [0]

        def on_step(pipeline, index: int, timestep, tensors: dict) -> dict:
            counter[0] += 1
            if progress is not None:
                progress(min(done + counter[0], total), total,
                         f"{label}denoising step {min(counter[0], plan.steps)} of {plan.steps}")
            if cancel is not None and cancel.is_set():
                pipeline._interrupt = True  # honoured by every loop; the raise also skips the decode
                raise Cancelled()
            return {}

        kwargs: dict[str, Any] = dict(
            image=to_canvas(static, plan.fit), prompt=plan.prompt,
            height=plan.fit.canvas_h, width=plan.fit.canvas_w, num_frames=plan.model_frames,
            num_inference_steps=params["steps"], guidance_scale=params["guidance"],
            generator=torch.Generator(device="cpu").manual_seed(request.seed),
            output_type="np", callback_on_step_end=on_step,
        )
        if family.takes_negative_prompt and params.get("negative_prompt", "").strip():
            kwargs["negative_prompt"] = params["negative_prompt"]
        if family.takes_frame_rate:
            kwargs["frame_rate"] = request.fps
        try:
            output = pipe(**kwargs)
        except Cancelled:
            pipe.maybe_free_model_hooks()  # the call never reached its own clean-up
            raise
        except torch.cuda.OutOfMemoryError:
            pipe.maybe_free_model_hooks()
            raise PosterError(
                "The GPU ran out of memory: set GPU memory to 'Offload models' (or I2V_OFFLOAD=model), "
                "lower the resolution, or animate a shorter clip."
            ) from None
        frames = output.frames[0]
        return np.asarray(frames if not isinstance(frames, list) else np.stack([np.asarray(f) for f in frames]))

    def _clip(self, plan: _Plan, video: np.ndarray) -> LayerClip:
        """Cropped, scaled to the box, retimed, matted; held, faded or ping-ponged as asked."""
        request, params = plan.request, plan.params
        box = request.box
        static = place_static(request.layer, box)
        picks = retime(len(video), plan.forward_frames, request.fps, plan.model_fps)
        rgb = (from_canvas(video[i], plan.fit, box.w, box.h) for i in picks)
        motion = list(matte(rgb, static, params["matting"]))
        if params["loop"] == "pingpong":
            motion = pingpong(motion, plan.motion_frames)
        if params["loop"] == "crossfade":
            motion = crossfade(motion)
        notes = list(plan.notes)
        loop_mode = "hold" if params["loop"] == "none" else "loop"
        source, timing = place_generated(static, motion, request, notes, loop_mode)
        return _layer_clip(
            layer_id=request.layer.id, box=box, frames=source, engine=self.name,
            params={**params, "seed": request.seed}, messages=notes, loop_mode=loop_mode, timing=timing,
        )


def _layer_clip(*, loop_mode: str, **fields: Any) -> LayerClip:
    """A LayerClip, with its loop mode where this LayerClip knows loop modes (a clip that
    plays once holds its last frame on a longer timeline)."""
    import inspect

    if "loop_mode" in inspect.signature(LayerClip).parameters:
        fields["loop_mode"] = loop_mode
    return LayerClip(**fields)


__all__ = ["DEVICE_ENV", "FAMILIES", "I2VAnimator", "MODEL_ENV", "OFFLOAD_CHOICES", "OFFLOAD_ENV"]
