"""The encoder side of the transparent dynamic-layer autoencoder (paper §4.1, eq. 1).

    z_i = Crop(E_v(L̄_i), B_i)

An RGBA clip becomes RGB over 50 % gray (the ART / LayerDiffuse convention: the VAE was
trained on RGB video, and a neutral gray is the background least likely to be confused
with foreground colour), goes through diffusers' frozen HunyuanVideo 3D VAE encoder, is
scaled by the VAE's scaling factor as the diffusion model expects, and is cropped to the
motion box on the 8×8 latent grid. The decoder (engine/dmdl/layer_decoder.py) reads these
latents back to RGBA.

Real weights load from a local diffusers directory (`LayerEncoder.from_pretrained`); the
tests and the synthetic experiments use `tiny_vae()`, a random miniature of the same
architecture.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKLHunyuanVideo

from engine.dmdl.errors import DMDLError
from engine.dmdl.grid import LATENT_PIXELS, GridBox
from engine.dmdl.layer_decoder import check_box_on_grid

#: The background an RGBA clip is composited over before encoding (in [0, 1]).
GRAY = 0.5
#: Frames packed into one latent frame after the first (HunyuanVideo's temporal compression).
TEMPORAL_COMPRESSION = 4


def latent_frame_count(frames: int) -> int:
    """T' = (T−1)/4 + 1 for a clip of T = 4k+1 frames."""
    return (frames - 1) // TEMPORAL_COMPRESSION + 1


def check_clip_geometry(frames: int, height: int, width: int) -> None:
    """Reject clips the VAE would silently truncate or pad, with a sentence saying what to do."""
    if frames < 1 or (frames - 1) % TEMPORAL_COMPRESSION:
        lower = (max(frames, 1) - 1) // TEMPORAL_COMPRESSION * TEMPORAL_COMPRESSION + 1
        raise DMDLError(
            f"A clip for the DMDL model needs 4k+1 frames (1, 5, 9, …, 49); this one has {frames}. "
            f"Use {lower} or {lower + TEMPORAL_COMPRESSION} frames."
        )
    if height < LATENT_PIXELS or width < LATENT_PIXELS or height % LATENT_PIXELS or width % LATENT_PIXELS:
        raise DMDLError(
            f"A clip for the DMDL model must be a multiple of {LATENT_PIXELS} pixels wide and tall; "
            f"this one is {width}×{height}. Snap its box outward to multiples of {LATENT_PIXELS}."
        )


def rgba_over_gray(frames: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Straight-alpha RGBA (T, H, W, 4) (uint8 or float in [0, 1]) → RGB over gray, (T, H, W, 3) float."""
    rgba = to_float_rgba(frames)
    alpha = rgba[..., 3:4]
    return rgba[..., :3] * alpha + GRAY * (1.0 - alpha)


def to_float_rgba(frames: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 or float RGBA → float32 tensor in [0, 1]."""
    tensor = torch.as_tensor(frames)
    if tensor.dtype == torch.uint8:
        return tensor.float() / 255.0
    return tensor.float()


def tiny_vae(seed: int = 0) -> AutoencoderKLHunyuanVideo:
    """A random HunyuanVideo VAE with the real compression (8×8 space, 4× time, 16 channels)
    but 8-channel blocks: what tests and CPU experiments use in place of the real weights."""
    torch.manual_seed(seed)
    return AutoencoderKLHunyuanVideo(
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, norm_num_groups=4, mid_block_add_attention=False
    )


class LayerEncoder:
    """The frozen HunyuanVideo VAE encoder, fed gray-background RGB, cropped to motion boxes."""

    def __init__(self, vae: AutoencoderKLHunyuanVideo, device: torch.device | str | None = None):
        """`device`: where the frames are sent, when it is not where the VAE's weights are
        (an offloaded VAE's weights wait on the CPU, or on "meta", until its hook runs)."""
        self.vae = vae.eval().requires_grad_(False)
        self._device = None if device is None else torch.device(device)

    @classmethod
    def from_pretrained(cls, path: str | Path, subfolder: str | None = None, **kwargs) -> "LayerEncoder":
        """Load a local diffusers VAE directory (e.g. HunyuanVideo's `vae/` folder); never the hub."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = Path(path)
        if not (path / (subfolder or "") / "config.json").exists():
            raise DMDLError(
                f"No VAE found at {path / (subfolder or '')}: point to a local diffusers directory "
                "holding config.json and the weights (e.g. HunyuanVideo's vae/ folder)."
            )
        kwargs.setdefault("low_cpu_mem_usage", False)  # accelerate is not a dependency here
        vae = AutoencoderKLHunyuanVideo.from_pretrained(path, subfolder=subfolder, local_files_only=True, **kwargs)
        return cls(vae)

    @property
    def device(self) -> torch.device:
        return self._device or self.vae.device

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)

    @torch.no_grad()
    def encode(
        self,
        frames: torch.Tensor | np.ndarray,
        frame_box: GridBox | tuple | None = None,
        motion_box: GridBox | tuple | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Encode one RGBA clip (T, H, W, 4) and crop it to the motion box: (16, T', h/8, w/8).

        `frame_box` is where the frames lie on the poster (default: they are the motion box
        itself); `motion_box` the region to keep (default: all of the frames). Encoding a
        whole-canvas clip and cropping (the paper's order) and encoding the motion box
        alone both work. Without a generator the posterior mean is used (deterministic); with
        one, a sample.
        """
        return self.encode_batch(torch.as_tensor(frames)[None], frame_box, motion_box, generator)[0]

    @torch.no_grad()
    def encode_batch(
        self,
        clips: torch.Tensor | np.ndarray,
        frame_box: GridBox | tuple | None = None,
        motion_box: GridBox | tuple | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """(B, T, H, W, 4) equally sized clips on the same frame box → (B, 16, T', h/8, w/8)."""
        clips = torch.as_tensor(clips)
        count, frames, height, width, channels = clips.shape
        if channels != 4:
            raise DMDLError(f"Layer clips must be RGBA (4 channels); got {channels}.")
        check_clip_geometry(frames, height, width)
        frame_box = GridBox.from_any(frame_box) if frame_box is not None else GridBox(0, 0, width, height)
        motion_box = GridBox.from_any(motion_box) if motion_box is not None else frame_box
        if (frame_box.w, frame_box.h) != (width, height):
            raise DMDLError(f"The clip is {width}×{height} but its frame box is {frame_box.w}×{frame_box.h}.")
        crop = _latent_crop(frame_box, motion_box)
        rgb = rgba_over_gray(clips.reshape(count * frames, height, width, 4)).reshape(count, frames, height, width, 3)
        pixels = (rgb * 2.0 - 1.0).permute(0, 4, 1, 2, 3).to(self.device, self.vae.dtype)
        posterior = self.vae.encode(pixels).latent_dist
        latents = posterior.sample(generator) if generator is not None else posterior.mode()
        return (latents[..., crop[0], crop[1]] * self.scaling_factor).float()


def _latent_crop(frame_box: GridBox, motion_box: GridBox) -> tuple[slice, slice]:
    """Rows and columns of the latent grid that cover `motion_box` inside `frame_box`."""
    check_box_on_grid(motion_box)
    if not frame_box.contains(motion_box):
        raise DMDLError(
            f"The motion box {motion_box.as_tuple()} must lie inside the encoded frames {frame_box.as_tuple()}."
        )
    dy, dx = motion_box.y - frame_box.y, motion_box.x - frame_box.x
    if dx % LATENT_PIXELS or dy % LATENT_PIXELS:
        raise DMDLError(
            f"The motion box {motion_box.as_tuple()} must start on the {LATENT_PIXELS}-pixel grid of the encoded "
            f"frames {frame_box.as_tuple()}."
        )
    top, left = dy // LATENT_PIXELS, dx // LATENT_PIXELS
    return (
        slice(top, top + motion_box.h // LATENT_PIXELS),
        slice(left, left + motion_box.w // LATENT_PIXELS),
    )
