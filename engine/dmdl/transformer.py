"""DMDLTransformer: HunyuanVideo-I2V's blocks denoising several layers in one sequence.

The model IS diffusers' HunyuanVideoTransformer3DModel (token-replace variant), same
modules and parameter names, so a HunyuanVideo-I2V transformer directory loads with
`DMDLTransformer.from_pretrained(dir)` keeping every weight; there are no new parameters,
so the loaded model starts exactly as the pretrained one. What changes is the forward:

1. the input is a `PackedLayers` batch (every layer's motion-box latent as tokens in one
   sequence, frame-0 tokens first) instead of one video tensor;
2. rotary positions come from the layout (layer, frame, y, x on the poster grid), eqs. 6-8;
3. attention runs group-wise (`AttentionGroups`), which both drops batch padding and gives
   the optional layer-isolation mask of eq. 9 without an N x N mask;
4. the token refiner reads each owner's conditioning (a layer's LLaVA image and prompt
   tokens, or a shared group prompt) on its own, as HunyuanVideo-I2V refines one prompt;
5. the AdaLN modulation is per layer: each layer's tokens are modulated by the timestep
   embedding plus ITS prompt's pooled CLIP vector (engine.dmdl.modulation); with one pooled
   vector per sample the blocks run diffusers' forward unchanged.

Config additions: `rope_layer_spacing` (default 64) gives layers their axis by sharing
HunyuanVideo's frame band at its own frequencies (engine.dmdl.rope), so loading a
HunyuanVideo-I2V checkpoint gives 4D-RoPE in which layer 0 is the pretrained model
exactly. The paper's ablations (Table 4) are configurations: 3D-RoPE is
`rope_layer_spacing=0`, 3D-RoPE + mask adds `layer_isolation=True` (eq. 9). `rope_axes_dim`
may instead carve a separate layer band out of the head, (layer, frame, y, x), for models
trained from scratch; `rope_layer_theta` sets that band's base (default: `rope_theta`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import register_to_config
from diffusers.models.modeling_utils import ModelMixin  # noqa: F401 (see below)
from diffusers.models.transformers.transformer_hunyuan_video import HunyuanVideoTransformer3DModel
from diffusers.utils import BaseOutput

from engine.dmdl.attention import AttentionGroups, DMDLAttnProcessor
from engine.dmdl.modulation import MODULATED_CLASSES, DMDLSingleTransformerBlock, DMDLTransformerBlock, LayerModulation
from engine.dmdl.packing import PackedLayers
from engine.dmdl.rope import LayoutRotaryEmbedding, split_axes_dim

#: Frame positions between consecutive layers on the shared frame band (engine.dmdl.rope):
#: more than the 33 latent frames of HunyuanVideo's longest clips, so no two frames of
#: different layers share a position. A HunyuanVideo-I2V checkpoint has no such key, so
#: loading one gives the frequency-preserving 4D-RoPE; 0 is the 3D-RoPE ablation.
DEFAULT_LAYER_SPACING = 64.0
#: A LoRA adapter `python -m engine.dmdl.train --lora-rank R` saved beside the base weights:
#: `from_pretrained` applies and merges it, so a LoRA run's folder loads like a full one.
LORA_WEIGHTS = "pytorch_lora_weights.safetensors"


# diffusers' pipeline loader checks a passed component against the base classes it finds in
# the component's own module (here engine.dmdl.transformer): ModelMixin must be visible here.
__all__ = ["DMDLTransformer", "DMDLTransformerOutput", "ModelMixin"]


@dataclass
class DMDLTransformerOutput(BaseOutput):
    """`sample`: predicted flow, packed like the input tokens (B, N, C*pt*p*p)."""

    sample: torch.Tensor


class DMDLTransformer(HunyuanVideoTransformer3DModel):
    """Multi-layer diffusion transformer with layout-conditional 4D-RoPE (paper sec. 4.2)."""

    # device maps and sharding keep each block whole: DMDL's block classes join diffusers' list
    _no_split_modules = [
        *HunyuanVideoTransformer3DModel._no_split_modules,
        DMDLTransformerBlock.__name__,
        DMDLSingleTransformerBlock.__name__,
    ]

    @register_to_config
    def __init__(
        self,
        in_channels: int = 16,
        out_channels: int = 16,
        num_attention_heads: int = 24,
        attention_head_dim: int = 128,
        num_layers: int = 20,
        num_single_layers: int = 40,
        num_refiner_layers: int = 2,
        mlp_ratio: float = 4.0,
        patch_size: int = 2,
        patch_size_t: int = 1,
        qk_norm: str = "rms_norm",
        guidance_embeds: bool = True,
        text_embed_dim: int = 4096,
        pooled_projection_dim: int = 768,
        rope_theta: float = 256.0,
        rope_axes_dim: tuple[int, ...] = (16, 56, 56),
        image_condition_type: str | None = "token_replace",
        rope_layer_theta: float | None = None,
        layer_isolation: bool = False,
        rope_layer_spacing: float = DEFAULT_LAYER_SPACING,
    ) -> None:
        if image_condition_type != "token_replace":
            raise ValueError(
                "DMDL conditions every layer on its clean first frame: it needs a token-replace "
                f"HunyuanVideo-I2V checkpoint, not image_condition_type={image_condition_type!r}."
            )
        axes = split_axes_dim(rope_axes_dim)
        if sum(axes) != attention_head_dim:
            raise ValueError(f"The rotary bands {axes} must add up to the head dimension {attention_head_dim}.")
        super().__init__(
            in_channels=in_channels,
            out_channels=out_channels,
            num_attention_heads=num_attention_heads,
            attention_head_dim=attention_head_dim,
            num_layers=num_layers,
            num_single_layers=num_single_layers,
            num_refiner_layers=num_refiner_layers,
            mlp_ratio=mlp_ratio,
            patch_size=patch_size,
            patch_size_t=patch_size_t,
            qk_norm=qk_norm,
            guidance_embeds=guidance_embeds,
            text_embed_dim=text_embed_dim,
            pooled_projection_dim=pooled_projection_dim,
            rope_theta=rope_theta,
            rope_axes_dim=tuple(rope_axes_dim),
            image_condition_type=image_condition_type,
        )
        layer_theta = rope_theta if rope_layer_theta is None else rope_layer_theta
        self.rope = LayoutRotaryEmbedding(axes, (layer_theta, rope_theta, rope_theta, rope_theta), rope_layer_spacing)
        for block in (*self.transformer_blocks, *self.single_transformer_blocks):
            block.attn.set_processor(DMDLAttnProcessor())
            block.__class__ = MODULATED_CLASSES[type(block)]  # same modules and weights; takes per-layer modulation
        self.norm_out.__class__ = MODULATED_CLASSES[type(self.norm_out)]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs) -> "DMDLTransformer":
        """diffusers' loader, then the folder's LoRA adapter (if any) merged into the weights."""
        model = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        folder = Path(pretrained_model_name_or_path) / (kwargs.get("subfolder") or "")
        if (folder / LORA_WEIGHTS).is_file():
            model.load_lora_adapter(folder, weight_name=LORA_WEIGHTS, prefix=None, adapter_name="trained")
            model.fuse_lora(adapter_names=["trained"])
            model.unload_lora()  # drops the adapter modules, keeping the merged weights
        return model

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Patch embedding of already-patchified tokens.

        The stock Conv3d has kernel == stride, so it is exactly a linear map of each patch;
        applying it as one matmul embeds every layer of every sample at once.
        """
        proj = self.x_embedder.proj
        return F.linear(tokens.to(proj.weight.dtype), proj.weight.flatten(1), proj.bias)

    def refine_text(
        self,
        text: torch.Tensor,
        timestep: torch.Tensor,
        mask: torch.Tensor,
        owner: torch.Tensor | None,
    ) -> torch.Tensor:
        """HunyuanVideo's token refiner, run on each owner's tokens on their own.

        The refiner attends among all the tokens it is given and pools their mean into its
        modulation, so refining several layers' prompts (and LLaVA image tokens) together
        would let one layer's conditioning change another's even under the isolation mask
        (eq. 9). Each owner's tokens are refined as HunyuanVideo-I2V refines one prompt;
        with a single owner per sample this is the stock call, bit for bit.
        """
        real = mask.bool()
        groups = [torch.unique(owner[b][real[b]]).tolist() if owner is not None else [] for b in range(text.shape[0])]
        if all(len(g) <= 1 for g in groups):
            return self.context_embedder(text, timestep, mask)
        refined = text.new_zeros(*text.shape[:2], self.config.num_attention_heads * self.config.attention_head_dim)
        for b, owners in enumerate(groups):
            for who in owners:
                index = torch.nonzero(real[b] & (owner[b] == who)).flatten()
                ones = torch.ones(1, index.numel(), dtype=torch.long, device=text.device)
                refined[b, index] = self.context_embedder(text[b : b + 1, index], timestep[b : b + 1], ones)[0].to(
                    refined.dtype)  # bf16 under autocast
        return refined

    def modulation(
        self,
        timestep: torch.Tensor,
        pooled_projections: torch.Tensor,
        guidance: torch.Tensor | None,
        packed: PackedLayers,
        text_owner: torch.Tensor | None,
    ) -> tuple[torch.Tensor | LayerModulation, torch.Tensor | None]:
        """What the blocks are modulated by: diffusers' (temb, token-replace emb) when each
        sample has one pooled vector, else a `LayerModulation` (and None).

        `pooled_projections` is (B, P), one per sample, or (B, S, P), one per layer slot.
        Per-layer rows go through the stock condition embedding as a batch of B * S, so a
        row is exactly what HunyuanVideo computes for that prompt alone.
        """
        if pooled_projections.ndim == 2:
            return self.time_text_embed(timestep, pooled_projections, guidance)
        shared = pooled_projections[:, :1]
        if torch.equal(pooled_projections, shared.expand_as(pooled_projections)):
            return self.time_text_embed(timestep, shared[:, 0], guidance)
        batch, slots = pooled_projections.shape[:2]
        if int(packed.layer_slot.max()) >= slots:
            raise ValueError(f"Give one pooled prompt vector per layer: {slots} for up to "
                             f"{int(packed.layer_slot.max()) + 1} layers.")
        if text_owner is None:
            raise ValueError("Per-layer pooled prompt vectors need text_owner: which layer each text token is of.")
        repeat = (lambda t: None if t is None else t.repeat_interleave(slots, dim=0))
        at_t, clean = self.time_text_embed(repeat(timestep), pooled_projections.flatten(0, 1), repeat(guidance))
        return LayerModulation.build(at_t.unflatten(0, (batch, slots)), clean.unflatten(0, (batch, slots)),
                                     packed.layer_slot, packed.first_frame_tokens, text_owner), None

    def forward(
        self,
        packed: PackedLayers,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        encoder_attention_mask: torch.Tensor,
        pooled_projections: torch.Tensor,
        guidance: torch.Tensor | None = None,
        text_owner: torch.Tensor | None = None,
        return_dict: bool = True,
    ) -> DMDLTransformerOutput | tuple[torch.Tensor]:
        """Predict the flow for every token of a packed multi-layer batch.

        timestep: (B,) in the scheduler's 0-1000 scale. encoder_hidden_states (B, L, text
        dim) with encoder_attention_mask (B, L); text_owner (B, L) gives each text token's
        layer slot (-1: shared): each owner's text is refined on its own, and layer
        isolation needs every token owned. pooled_projections: (B, P) for the whole sample,
        or (B, S, P) per layer slot (each layer modulated by its own prompt). Padding tokens
        come back as zeros.
        """
        temb, token_replace_emb = self.modulation(timestep, pooled_projections, guidance, packed, text_owner)
        hidden_states = self.embed_tokens(packed.tokens)
        encoder_hidden_states = self.refine_text(encoder_hidden_states, timestep, encoder_attention_mask, text_owner)

        cos, sin = self.rope(packed.positions)
        rotary = (cos.to(hidden_states.device), sin.to(hidden_states.device))
        groups = AttentionGroups.build(
            packed.layer_slot, encoder_attention_mask, text_owner, bool(self.config.layer_isolation)
        )

        block_args = (temb, groups, rotary, token_replace_emb, packed.first_frame_tokens)
        for block in (*self.transformer_blocks, *self.single_transformer_blocks):
            if torch.is_grad_enabled() and self.gradient_checkpointing:
                hidden_states, encoder_hidden_states = self._gradient_checkpointing_func(
                    block, hidden_states, encoder_hidden_states, *block_args
                )
            else:
                hidden_states, encoder_hidden_states = block(hidden_states, encoder_hidden_states, *block_args)

        hidden_states = self.proj_out(self.norm_out(hidden_states, temb))
        hidden_states = hidden_states * packed.valid[..., None].to(hidden_states.dtype)
        if not return_dict:
            return (hidden_states,)
        return DMDLTransformerOutput(sample=hidden_states)
