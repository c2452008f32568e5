"""Joint image+text attention over packed layers, without an N x N mask.

Which tokens may see which is described by groups: per sample, a list of (image token
indices, text token indices); tokens attend only inside their group. Without isolation a
sample is one group (all its real image tokens plus its real text tokens), so padding of
a batch never enters attention. With the layer-isolation mask of eq. 9 every layer is its
own group with its own copy of its prompt, i.e. a block-diagonal mask run as separate
`scaled_dot_product_attention` calls; nothing of size N x N is ever built, and on a GPU
each call takes the flash / memory-efficient kernel.

`DMDLAttnProcessor` replaces diffusers' `HunyuanVideoAttnProcessor2_0` in the stock
HunyuanVideo blocks; it keeps that processor's projections and QK-norms (same weights)
and changes only positions (per-sample 4D rotary) and who attends to whom.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.dmdl.rope import apply_rotary


@dataclass
class AttentionGroups:
    """Per sample, the groups of (image indices, text indices) that attend among themselves."""

    groups: list[list[tuple[torch.Tensor, torch.Tensor]]]

    @classmethod
    def build(
        cls,
        layer_slot: torch.Tensor,
        text_mask: torch.Tensor,
        text_owner: torch.Tensor | None,
        isolate_layers: bool,
    ) -> "AttentionGroups":
        """Groups from the packed layout.

        `text_owner` (B, L) names, for each text token, the layer slot whose prompt it
        belongs to, or -1 for text shared by all layers (a group prompt). Isolation needs
        every real text token owned: shared text would carry one layer's content into
        another through the text stream.
        """
        text_mask = text_mask.bool()
        groups = []
        for b in range(layer_slot.shape[0]):
            slots = layer_slot[b]
            if not isolate_layers:
                groups.append([(torch.nonzero(slots >= 0).flatten(), torch.nonzero(text_mask[b]).flatten())])
                continue
            if text_owner is None or bool((text_owner[b][text_mask[b]] < 0).any()):
                raise ValueError(
                    "Layer isolation needs each layer's own copy of its prompt: pass text_owner with "
                    "a layer slot for every text token (encode the group prompt once per layer)."
                )
            sample_groups = []
            for slot in torch.unique(slots[slots >= 0]).tolist():
                image_idx = torch.nonzero(slots == slot).flatten()
                text_idx = torch.nonzero(text_mask[b] & (text_owner[b] == slot)).flatten()
                sample_groups.append((image_idx, text_idx))
            groups.append(sample_groups)
        return cls(groups)

    def attend(
        self,
        q_img: torch.Tensor,
        k_img: torch.Tensor,
        v_img: torch.Tensor,
        q_txt: torch.Tensor,
        k_txt: torch.Tensor,
        v_txt: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention inside each group; inputs (B, N, heads, D), outputs the same shapes, zero at padding."""
        out_img = torch.zeros_like(q_img)
        out_txt = torch.zeros_like(q_txt)
        for b, sample_groups in enumerate(self.groups):
            for image_idx, text_idx in sample_groups:
                n_img = image_idx.numel()
                q = torch.cat([q_img[b, image_idx], q_txt[b, text_idx]])
                k = torch.cat([k_img[b, image_idx], k_txt[b, text_idx]])
                v = torch.cat([v_img[b, image_idx], v_txt[b, text_idx]])
                out = F.scaled_dot_product_attention(
                    q.transpose(0, 1)[None], k.transpose(0, 1)[None], v.transpose(0, 1)[None]
                )[0].transpose(0, 1)
                out = out.to(out_img.dtype)  # under bf16 autocast attention comes back in bf16
                out_img[b, image_idx] = out[:n_img]
                out_txt[b, text_idx] = out[n_img:]
        return out_img, out_txt


def _normed(norm, x: torch.Tensor) -> torch.Tensor:
    """QK-norm when the checkpoint has one (HunyuanVideo: RMSNorm per head)."""
    return x if norm is None else norm(x)


class DMDLAttnProcessor:
    """HunyuanVideo's joint attention with layout 4D-RoPE and group-wise attention.

    Called by the stock dual-stream blocks (separate text projections, `add_q_proj`) and
    single-stream blocks (shared projections); `attention_mask` carries `AttentionGroups`
    and `image_rotary_emb` per-token (cos, sin) of shape (B, N, head_dim).
    """

    def __call__(
        self,
        attn,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        attention_mask: AttentionGroups,
        image_rotary_emb: tuple[torch.Tensor, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        num_image = hidden_states.shape[1]
        single_stream = attn.add_q_proj is None
        if single_stream:
            hidden_states = torch.cat([hidden_states, encoder_hidden_states], dim=1)

        query = _normed(attn.norm_q, attn.to_q(hidden_states).unflatten(2, (attn.heads, -1)))
        key = _normed(attn.norm_k, attn.to_k(hidden_states).unflatten(2, (attn.heads, -1)))
        value = attn.to_v(hidden_states).unflatten(2, (attn.heads, -1))

        if single_stream:
            q_txt, k_txt, v_txt = query[:, num_image:], key[:, num_image:], value[:, num_image:]
            query, key, value = query[:, :num_image], key[:, :num_image], value[:, :num_image]
        else:
            q_txt = _normed(attn.norm_added_q, attn.add_q_proj(encoder_hidden_states).unflatten(2, (attn.heads, -1)))
            k_txt = _normed(attn.norm_added_k, attn.add_k_proj(encoder_hidden_states).unflatten(2, (attn.heads, -1)))
            v_txt = attn.add_v_proj(encoder_hidden_states).unflatten(2, (attn.heads, -1))

        cos, sin = image_rotary_emb
        query, key = apply_rotary(query, cos, sin), apply_rotary(key, cos, sin)

        out_img, out_txt = attention_mask.attend(query, key, value, q_txt, k_txt, v_txt)
        out_img, out_txt = out_img.flatten(2, 3), out_txt.flatten(2, 3)

        if getattr(attn, "to_out", None) is not None:
            out_img = attn.to_out[1](attn.to_out[0](out_img))
        if getattr(attn, "to_add_out", None) is not None:
            out_txt = attn.to_add_out(out_txt)
        return out_img, out_txt
