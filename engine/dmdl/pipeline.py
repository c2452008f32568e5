"""DMDLPipeline: text encoders + DMDLTransformer + flow-matching scheduler, composed thinly.

Input: each chosen layer's static latent (its RGBA over 50 % gray, cropped to its motion
box on the 16-pixel grid, through the video VAE encoder), the same RGBA image (LLaVA reads
it, over gray, as HunyuanVideo-I2V reads its reference frame: engine.dmdl.text), its
placement, and either one motion prompt per layer (joint mode) or one group prompt.
Output: every layer's generated latent video; an RGBA decoder, when the checkpoint carries
one, turns them into frames.

The VAE (diffusers' HunyuanVideo VAE, read through `engine.dmdl.autoencoder.LayerEncoder`)
and the transparent-layer decoder (`engine.dmdl.layer_decoder.LayerDecoder`) are optional
components: the pipeline runs, and is tested, at the latent level without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from diffusers import DiffusionPipeline, FlowMatchEulerDiscreteScheduler
from diffusers.utils import BaseOutput

from engine.dmdl.autoencoder import TEMPORAL_COMPRESSION, LayerEncoder, latent_frame_count
from engine.dmdl.offload import place as place_pipeline
from engine.dmdl.grid import LATENT_PIXELS, TOKEN_PIXELS
from engine.dmdl.packing import LayerPlacement, PackedLayers, pack_layers
from engine.dmdl.reference import black_layers
from engine.dmdl.sampling import sample_layers
from engine.dmdl.text import PromptEmbeddings, PromptEncoder
from engine.dmdl.transformer import DMDLTransformer


def motion_box(placement: LayerPlacement, latent: torch.Tensor) -> tuple[int, int, int, int]:
    """The poster-pixel box (x, y, w, h) a placed latent covers: what the RGBA decoder's rotary positions read."""
    return (
        placement.left * TOKEN_PIXELS,
        placement.top * TOKEN_PIXELS,
        latent.shape[-1] * LATENT_PIXELS,
        latent.shape[-2] * LATENT_PIXELS,
    )


@dataclass
class DMDLPipelineOutput(BaseOutput):
    """`layers`: per layer, its latent video (C, T', h, w), or decoded frames when asked."""

    layers: list[Any]


class DMDLPipeline(DiffusionPipeline):
    """Animate several static layers of one poster jointly."""

    # In the order a call uses them: the VAE encodes the static layers, the text encoders
    # the prompts, the transformer denoises, the RGBA decoder decodes.
    model_cpu_offload_seq = "vae->text_encoder->text_encoder_2->transformer->layer_decoder"
    _optional_components = ["vae", "layer_decoder", "image_processor"]

    def __init__(
        self,
        transformer: DMDLTransformer,
        scheduler: FlowMatchEulerDiscreteScheduler,
        tokenizer,
        text_encoder,
        tokenizer_2,
        text_encoder_2,
        vae=None,
        layer_decoder=None,
        image_processor=None,
    ) -> None:
        """`text_encoder` is HunyuanVideo-I2V's LLaVA and `image_processor` its
        CLIPImageProcessor: both needed to encode prompts (engine.dmdl.text); a folder
        without the image processor still loads, for latent-level use."""
        super().__init__()
        self.register_modules(
            transformer=transformer,
            scheduler=scheduler,
            tokenizer=tokenizer,
            text_encoder=text_encoder,
            tokenizer_2=tokenizer_2,
            text_encoder_2=text_encoder_2,
            vae=vae,
            layer_decoder=layer_decoder,
            image_processor=image_processor,
        )

    @classmethod
    def from_checkpoint(cls, directory: str | Path, dtype: torch.dtype | None = None, **kwargs) -> "DMDLPipeline":
        """Load from a local diffusers directory, HunyuanVideo-I2V's or a saved DMDL one.

        The transformer is always built as DMDLTransformer (a HunyuanVideo-I2V directory
        names diffusers' class); extra `kwargs` such as `rope_axes_dim` go to it.
        """
        directory = Path(directory)
        transformer = DMDLTransformer.from_pretrained(directory / "transformer", dtype=dtype, **kwargs)
        return cls.from_pretrained(directory, transformer=transformer, dtype=dtype)

    def place(self, device: str | torch.device, offload: str = "none") -> "DMDLPipeline":
        """On `device`, or offloaded (engine.dmdl.offload: "none", "model", "sequential")
        when the GPU is smaller than the checkpoint; inputs are always built on
        `_execution_device`, which the offload hooks know."""
        return place_pipeline(self, device, offload)

    @property
    def prompt_encoder(self) -> PromptEncoder:
        return PromptEncoder(
            self.tokenizer, self.text_encoder, self.tokenizer_2, self.text_encoder_2, self.image_processor,
            device=self._execution_device,
        )

    def encode_prompts(
        self,
        layer_prompts: Sequence[str] | None,
        num_layers: int,
        group_prompt: str | None = None,
        images: Sequence[Any] | None = None,
        placements: Sequence[LayerPlacement] | None = None,
    ) -> PromptEmbeddings:
        """Joint or group conditioning, each layer's image read by LLaVA; owned copies per
        layer when the model isolates layers (engine.dmdl.text)."""
        return self.prompt_encoder.encode(
            layer_prompts, num_layers, group_prompt, copy_per_layer=bool(self.transformer.config.layer_isolation),
            images=images, placements=placements,
        )

    def encode_static(self, rgba) -> torch.Tensor:
        """Static layer (H, W, 4) RGBA, already drawn into its grid-snapped motion box -> (C, 1, H/8, W/8)."""
        if self.vae is None:
            raise ValueError("This checkpoint has no VAE: pass static latents instead of images.")
        return LayerEncoder(self.vae, device=self._execution_device).encode(torch.as_tensor(rgba)[None])

    def build_condition(
        self, static_latents: Sequence[torch.Tensor], placements: Sequence[LayerPlacement], num_frames: int
    ) -> PackedLayers:
        """Pack clean first frames (later frames zero: the sampler fills them)."""
        if num_frames < 1 or (num_frames - 1) % TEMPORAL_COMPRESSION:
            raise ValueError(f"A DMDL clip has 4k+1 frames (e.g. 49), not {num_frames}.")
        frames = latent_frame_count(num_frames)
        cfg = self.transformer.config
        videos = []
        for static in static_latents:
            static = static if static.ndim == 4 else static[:, None]
            video = static.new_zeros(static.shape[0], frames, *static.shape[2:])
            video[:, :1] = static[:, :1]
            videos.append(video.to(self._execution_device))
        return pack_layers([videos], [list(placements)], cfg.patch_size, cfg.patch_size_t)

    @torch.no_grad()
    def __call__(
        self,
        static_latents: Sequence[torch.Tensor],
        placements: Sequence[LayerPlacement],
        prompts: Sequence[str] | None = None,
        group_prompt: str | None = None,
        images: Sequence[Any] | None = None,
        num_frames: int = 49,
        num_inference_steps: int = 50,
        guidance_scale: float = 6.0,
        true_cfg_scale: float = 1.0,
        negative_prompt: str = "",
        generator: torch.Generator | None = None,
        output_type: str = "latent",
        return_dict: bool = True,
        step_callback: Callable[[int, torch.Tensor], None] | None = None,
    ) -> DMDLPipelineOutput | tuple:
        """Generate every layer's motion jointly.

        `images`: each layer's static RGBA (H, W, 4) in its box, the picture LLaVA reads
        (required: LLaVA reads each layer as HunyuanVideo-I2V its frame). True CFG's negative prompt
        reads opaque black pictures, as diffusers' HunyuanVideo-I2V pipeline does.
        output_type "latent": per layer (C, T', h, w); "rgba" (needs layer_decoder): per layer
        (T, 8h, 8w, 4) straight-alpha float RGBA in [0, 1]. `step_callback(i, t)` runs after
        every denoising step (progress bars; raising from it stops the sampling there).
        """
        if len(static_latents) != len(placements) or not static_latents:
            raise ValueError("Give one placement per static layer, and at least one layer.")
        if output_type not in ("latent", "rgba"):
            raise ValueError(f"output_type must be 'latent' or 'rgba', not {output_type!r}.")
        if output_type == "rgba" and self.layer_decoder is None:
            raise ValueError("This checkpoint has no transparent-layer decoder: ask for output_type='latent'.")
        try:
            condition = self.build_condition(static_latents, placements, num_frames)
            count = len(static_latents)
            prompt = self.encode_prompts(prompts, count, group_prompt, images, placements)
            negative = None
            if true_cfg_scale > 1.0:
                blacks = None if images is None else black_layers(images)
                negative = self.encode_prompts(None, count, negative_prompt, blacks, placements)
            result = sample_layers(
                self.transformer,
                condition,
                self._to_device(prompt),
                self.scheduler,
                num_inference_steps=num_inference_steps,
                generator=generator,
                negative_prompt=None if negative is None else self._to_device(negative),
                true_cfg_scale=true_cfg_scale,
                guidance_scale=guidance_scale,
                step_callback=step_callback,
            )
            layers = result.unpack()[0]
            if output_type == "rgba":
                boxes = [motion_box(p, x) for p, x in zip(placements, layers)]
                layers = self.layer_decoder.decode(layers, boxes, device=self._execution_device)
        finally:  # also after a cancel: an offloaded pipeline puts every model back in CPU memory
            self.maybe_free_model_hooks()
        if not return_dict:
            return (layers,)
        return DMDLPipelineOutput(layers=layers)

    def _to_device(self, prompt: PromptEmbeddings) -> PromptEmbeddings:
        device = self._execution_device
        return PromptEmbeddings(
            prompt.embeds.to(device), prompt.mask.to(device), prompt.owner.to(device), prompt.pooled.to(device)
        )
