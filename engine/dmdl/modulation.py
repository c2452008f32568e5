"""Per-layer AdaLN modulation: each layer's tokens steered by temb(t) + its own prompt's pooled CLIP vector.

HunyuanVideo modulates every block (the shift, scale and gate of its AdaLN-Zero norms) and
its output norm from ONE vector per sample: the timestep embedding plus the projected
pooled CLIP vector of the prompt. In DMDL's joint mode each layer has its own prompt, and
one vector per sample would let layer B's prompt steer layer A's tokens even where the
isolation mask (eq. 9) keeps them apart. So the conditioning is made per (sample, layer):
a row per layer slot at the noisy timestep and one at the clean frame (token replace);
each block maps those few rows through its own modulation linear, and every token gathers
its row by owner (its layer slot; the clean-frame row on frame 0). One forward pass, no
pass per layer; what grows is activations: the gathered shift/scale/gate are (B, N, D)
where the stock ones broadcast from (B, 1, D).

When every layer of every sample has the same pooled vector (one layer, a group prompt,
the same prompt everywhere) the transformer passes plain tensors and the blocks run
diffusers' own forward untouched, so DMDL stays HunyuanVideo-I2V's transformer to the bit.

The blocks (and the output norm) are diffusers' modules re-classed to the subclasses below
(no new parameters, same names: checkpoints load as before). They are subclasses, not
helper functions, because sharding (FSDP2) gathers a unit's weights when the unit itself is
called: the per-layer arithmetic has to run inside its forward. The FSDP configs name the
block classes as their shard units.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers.models.normalization import AdaLayerNormContinuous
from diffusers.models.transformers.transformer_hunyuan_video import (
    HunyuanVideoTokenReplaceSingleTransformerBlock,
    HunyuanVideoTokenReplaceTransformerBlock,
)


@dataclass
class LayerModulation:
    """Per-layer conditioning rows and, for every token, the row that modulates it.

    `rows` (B, 2S, D): for layer slot s, temb(t) + pooled_s at row s and the clean-frame
    embedding temb(0) + pooled_s at row S + s. `video_rows` (B, N): a video token's row
    (its slot, + S in the frame-0 section); `video_rows_t` (B, N): its row at t (the output
    norm reads temb(t) on every token, as HunyuanVideo's does); `text_rows` (B, L): a text
    token's owner's row at t (shared tokens read slot 0: they come only with a group
    prompt, whose pooled vector every layer has).
    """

    rows: torch.Tensor
    video_rows: torch.Tensor
    video_rows_t: torch.Tensor
    text_rows: torch.Tensor

    @classmethod
    def build(
        cls,
        at_t: torch.Tensor,
        clean: torch.Tensor,
        layer_slot: torch.Tensor,
        first_frame_tokens: int,
        text_owner: torch.Tensor,
    ) -> "LayerModulation":
        """`at_t`, `clean` (B, S, D); `layer_slot` (B, N) with -1 for padding; `text_owner` (B, L)."""
        slots = at_t.shape[1]
        video_t = layer_slot.clamp(min=0)  # padding reads slot 0: its output is dropped anyway
        first = torch.zeros_like(video_t)
        first[:, :first_frame_tokens] = slots
        return cls(
            rows=torch.cat([at_t, clean], dim=1),
            video_rows=video_t + first,
            video_rows_t=video_t,
            text_rows=text_owner.clamp(min=0),
        )

    def _gather(self, linear: torch.nn.Linear, chunks: int, index: torch.Tensor,
                dtype: torch.dtype | None = None) -> list[torch.Tensor]:
        """The block's modulation linear on the rows (few), then each chunk gathered per token."""
        table = linear(F.silu(self.rows) if dtype is None else F.silu(self.rows).to(dtype))
        batch = torch.arange(index.shape[0], device=index.device)[:, None]
        return [part[batch, index] for part in table.chunk(chunks, dim=-1)]

    def video(self, linear: torch.nn.Linear, chunks: int) -> list[torch.Tensor]:
        return self._gather(linear, chunks, self.video_rows)

    def text(self, linear: torch.nn.Linear, chunks: int) -> list[torch.Tensor]:
        return self._gather(linear, chunks, self.text_rows)

    def video_then_text(self, linear: torch.nn.Linear, chunks: int) -> list[torch.Tensor]:
        return self._gather(linear, chunks, torch.cat([self.video_rows, self.text_rows], dim=1))

    def video_at_t(self, linear: torch.nn.Linear, chunks: int, dtype: torch.dtype) -> list[torch.Tensor]:
        return self._gather(linear, chunks, self.video_rows_t, dtype)


class DMDLTransformerBlock(HunyuanVideoTokenReplaceTransformerBlock):
    """diffusers' dual-stream token-replace block; `temb` may be a `LayerModulation`."""

    def forward(self, hidden_states, encoder_hidden_states, temb, attention_mask=None, freqs_cis=None,
                token_replace_emb=None, num_tokens=None):
        if not isinstance(temb, LayerModulation):
            return super().forward(hidden_states, encoder_hidden_states, temb, attention_mask, freqs_cis,
                                   token_replace_emb, num_tokens)
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = temb.video(self.norm1.linear, 6)
        c_shift_msa, c_scale_msa, c_gate_msa, c_shift_mlp, c_scale_mlp, c_gate_mlp = temb.text(
            self.norm1_context.linear, 6)

        norm_hidden = self.norm1.norm(hidden_states) * (1 + scale_msa) + shift_msa
        norm_context = self.norm1_context.norm(encoder_hidden_states) * (1 + c_scale_msa) + c_shift_msa
        attn_output, context_attn_output = self.attn(
            hidden_states=norm_hidden, encoder_hidden_states=norm_context, attention_mask=attention_mask,
            image_rotary_emb=freqs_cis,
        )
        hidden_states = hidden_states + attn_output * gate_msa
        encoder_hidden_states = encoder_hidden_states + context_attn_output * c_gate_msa

        norm_hidden = self.norm2(hidden_states) * (1 + scale_mlp) + shift_mlp
        norm_context = self.norm2_context(encoder_hidden_states) * (1 + c_scale_mlp) + c_shift_mlp
        hidden_states = hidden_states + self.ff(norm_hidden) * gate_mlp
        encoder_hidden_states = encoder_hidden_states + c_gate_mlp * self.ff_context(norm_context)
        return hidden_states, encoder_hidden_states


class DMDLSingleTransformerBlock(HunyuanVideoTokenReplaceSingleTransformerBlock):
    """diffusers' single-stream token-replace block; `temb` may be a `LayerModulation`."""

    def forward(self, hidden_states, encoder_hidden_states, temb, attention_mask=None, image_rotary_emb=None,
                token_replace_emb=None, num_tokens=None):
        if not isinstance(temb, LayerModulation):
            return super().forward(hidden_states, encoder_hidden_states, temb, attention_mask, image_rotary_emb,
                                   token_replace_emb, num_tokens)
        text_length = encoder_hidden_states.shape[1]
        shift, scale, gate = temb.video_then_text(self.norm.linear, 3)
        hidden_states = torch.cat([hidden_states, encoder_hidden_states], dim=1)
        residual = hidden_states

        norm_hidden = self.norm.norm(hidden_states) * (1 + scale) + shift
        mlp_hidden = self.act_mlp(self.proj_mlp(norm_hidden))
        attn_output, context_attn_output = self.attn(
            hidden_states=norm_hidden[:, :-text_length], encoder_hidden_states=norm_hidden[:, -text_length:],
            attention_mask=attention_mask, image_rotary_emb=image_rotary_emb,
        )
        attn_output = torch.cat([attn_output, context_attn_output], dim=1)
        hidden_states = self.proj_out(torch.cat([attn_output, mlp_hidden], dim=2)) * gate + residual
        return hidden_states[:, :-text_length], hidden_states[:, -text_length:]


class DMDLOutputNorm(AdaLayerNormContinuous):
    """diffusers' output norm (scale, then shift; temb(t) on every token, frame 0 too); the
    conditioning may be a `LayerModulation`. A module of its own because accelerate's FSDP2
    shards a model's final norm as a unit of its own, gathered when it is called."""

    def forward(self, x: torch.Tensor, conditioning_embedding) -> torch.Tensor:
        if not isinstance(conditioning_embedding, LayerModulation):
            return super().forward(x, conditioning_embedding)
        scale, shift = conditioning_embedding.video_at_t(self.linear, 2, x.dtype)
        return self.norm(x) * (1 + scale) + shift


#: diffusers' class -> DMDL's (what `DMDLTransformer` re-classes its blocks and output norm to).
MODULATED_CLASSES = {
    HunyuanVideoTokenReplaceTransformerBlock: DMDLTransformerBlock,
    HunyuanVideoTokenReplaceSingleTransformerBlock: DMDLSingleTransformerBlock,
    AdaLayerNormContinuous: DMDLOutputNorm,
}

__all__ = ["MODULATED_CLASSES", "DMDLOutputNorm", "DMDLSingleTransformerBlock", "DMDLTransformerBlock",
           "LayerModulation"]
