"""Per-layer and group prompts -> the text tokens one multi-layer sample attends to.

HunyuanVideo conditions on two encoders: a decoder-only LLM (LLaVA-Llama in the I2V
checkpoint; its hidden states two layers from the top, template prefix cropped off) gives
the token sequence, and CLIP's pooled output modulates every block. DMDL's two modes
(eq. 5): joint mode C = Concat[C_1..C_N] (each layer's prompt, encoded separately, token
sequences concatenated); group mode C = C_g (one shared prompt).

Every text token records its owner layer slot (-1: shared). Layer isolation (eq. 9)
needs owned text only, so there the group prompt is repeated once per layer.

Deviation, stated: HunyuanVideo-I2V also feeds the reference image through LLaVA's
vision tower; a poster has several reference layers, so here the LLM sees text only
(the template without `<image>`). The static layers still condition through token replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

PROMPT_TEMPLATE = (
    "<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following aspects: "
    "1. The main content and theme of the video."
    "2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects."
    "3. Actions, events, behaviors temporal relationships, physical movement changes of the objects."
    "4. background environment, light, style and atmosphere."
    "5. camera angles, movements, and transitions used in the video:<|eot_id|>\n\n"
    "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"
)


@dataclass
class PromptEmbeddings:
    """Text conditioning of a batch: tokens (B, L, D), mask (B, L), owner (B, L), pooled (B, P)."""

    embeds: torch.Tensor
    mask: torch.Tensor
    owner: torch.Tensor
    pooled: torch.Tensor

    @classmethod
    def stack(cls, items: Sequence["PromptEmbeddings"]) -> "PromptEmbeddings":
        """Batch single-sample embeddings of different lengths, padding at the end."""
        length = max(item.embeds.shape[1] for item in items)

        def pad(t: torch.Tensor, value: float) -> torch.Tensor:
            extra = length - t.shape[1]
            if extra == 0:
                return t
            filler = t.new_full((t.shape[0], extra, *t.shape[2:]), value)
            return torch.cat([t, filler], dim=1)

        return cls(
            embeds=torch.cat([pad(i.embeds, 0.0) for i in items]),
            mask=torch.cat([pad(i.mask, 0) for i in items]),
            owner=torch.cat([pad(i.owner, -1) for i in items]),
            pooled=torch.cat([i.pooled for i in items]),
        )


class PromptEncoder:
    """The checkpoint's two text encoders, turned into DMDL's layered prompt conditioning."""

    def __init__(
        self,
        tokenizer,
        text_encoder,
        tokenizer_2,
        text_encoder_2,
        template: str = PROMPT_TEMPLATE,
        max_sequence_length: int = 256,
        num_hidden_layers_to_skip: int = 2,
        device: torch.device | str | None = None,
    ) -> None:
        """`device`: where the token ids go, when it is not where the encoders' weights are
        (offloaded encoders wait on the CPU, or on "meta", until their hooks run)."""
        self.device = None if device is None else torch.device(device)
        self.tokenizer, self.text_encoder = tokenizer, text_encoder
        self.tokenizer_2, self.text_encoder_2 = tokenizer_2, text_encoder_2
        self.template = template
        self.max_sequence_length = max_sequence_length
        self.skip = num_hidden_layers_to_skip
        prefix = template.split("{}")[0]
        self.crop_start = len(tokenizer(prefix, add_special_tokens=True)["input_ids"]) if prefix else 0

    @torch.no_grad()
    def _llm_tokens(self, prompt: str) -> torch.Tensor:
        """(n, D): the prompt's LLM hidden states, template prefix and padding removed."""
        device = self.device or self.text_encoder.device
        ids = self.tokenizer(
            self.template.format(prompt),
            max_length=self.max_sequence_length + self.crop_start,
            truncation=True,
            return_tensors="pt",
        )
        out = self.text_encoder(
            input_ids=ids["input_ids"].to(device),
            attention_mask=ids["attention_mask"].to(device),
            output_hidden_states=True,
        )
        hidden = out.hidden_states[-(self.skip + 1)][0]
        return hidden[self.crop_start :]

    @torch.no_grad()
    def _pooled(self, prompt: str) -> torch.Tensor:
        """(P,): CLIP's pooled prompt vector, the global modulation signal."""
        ids = self.tokenizer_2(
            prompt, padding="max_length", max_length=self.tokenizer_2.model_max_length, truncation=True,
            return_tensors="pt",
        )["input_ids"]
        return self.text_encoder_2(ids.to(self.device or self.text_encoder_2.device), output_hidden_states=False).pooler_output[0]

    def encode(
        self,
        layer_prompts: Sequence[str] | None,
        num_layers: int,
        group_prompt: str | None = None,
        copy_per_layer: bool = False,
    ) -> PromptEmbeddings:
        """One sample's conditioning.

        Joint mode (`layer_prompts`, one per layer): each encoded on its own, concatenated,
        owned by its layer; CLIP's pooled vector is the mean over layers. Group mode
        (`group_prompt`): one shared sequence, or one owned copy per layer when
        `copy_per_layer` (layer isolation).
        """
        if group_prompt is not None:
            tokens = self._llm_tokens(group_prompt)
            pooled = self._pooled(group_prompt)
            if copy_per_layer:
                pieces = [(tokens, slot) for slot in range(num_layers)]
            else:
                pieces = [(tokens, -1)]
        else:
            if layer_prompts is None or len(layer_prompts) != num_layers:
                raise ValueError("Give one motion prompt per layer, or one group prompt for all of them.")
            pieces = [(self._llm_tokens(p), slot) for slot, p in enumerate(layer_prompts)]
            pooled = torch.stack([self._pooled(p) for p in layer_prompts]).mean(dim=0)
        embeds = torch.cat([t for t, _ in pieces])
        owner = torch.cat([torch.full((t.shape[0],), slot, dtype=torch.long) for t, slot in pieces])
        return PromptEmbeddings(
            embeds=embeds[None],
            mask=torch.ones(1, embeds.shape[0], dtype=torch.long, device=embeds.device),
            owner=owner[None].to(embeds.device),
            pooled=pooled[None],
        )
