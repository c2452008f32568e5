"""Per-layer and group prompts, with each static layer's picture -> the tokens one multi-layer sample attends to.

HunyuanVideo-I2V conditions on two encoders, and DMDL keeps both as the checkpoint learned
them. LLaVA-Llama-3 reads the I2V prompt template, whose system part holds `<image>`: the
reference picture goes through the vision tower, its 576 image features replace `<image>`,
and the hidden states two layers from the top give the token sequence: every
`image_embed_interleave`-th image token (4 for the token-replace checkpoint), then the
prompt's tokens (template prefix and the assistant header cropped). CLIP's pooled prompt
vector modulates every block (one per layer: engine.dmdl.modulation). Both are computed by diffusers' own
`HunyuanVideoImageToVideoPipeline` methods, so the conditioning is the checkpoint's to the
bit (engine.dmdl.reference makes the pictures: a layer over 50 % gray).

DMDL's two modes (eq. 5) and what LLaVA sees in each:
- joint mode, C = Concat[C_1..C_N]: layer i's picture with its own prompt; the resulting
  image and text tokens are owned by layer i;
- group mode, C = C_g: the paper's group data was generated, and its group prompt written,
  from the merged picture of the placed layers (sec. 3), so LLaVA reads that merged
  picture with the group prompt once; the tokens are shared (owner -1). With layer
  isolation (eq. 9) every token must be owned, so each layer reads its own picture with the
  group prompt, owned by it.

Every token records its owner layer slot (-1: shared). The transformer refines each
owner's tokens on their own (engine.dmdl.transformer), so with isolation a layer's image
tokens reach only its own layer's output. CLIP's pooled vector is one per layer: its own
prompt's in joint mode, the group prompt's in group mode; the transformer modulates each
layer's tokens with its own, so with isolation nothing of a layer's prompt or picture
reaches another layer.

diffusers' encoding methods are called unbound with the encoder as `self` (it carries what
they read: the tokenizers, encoders, image processor and `_execution_device`); diffusers is
pinned, and tests/test_dmdl_i2v.py runs diffusers' whole I2V pipeline beside DMDL's, so a
change there shows. One difference, chosen: diffusers encodes true CFG's negative prompt
(with a black picture) at image_embed_interleave 2 whatever the checkpoint; here the
negative keeps the checkpoint's interleave, like the positive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video_image2video import (
    DEFAULT_PROMPT_TEMPLATE,
    HunyuanVideoImageToVideoPipeline,
)

from engine.dmdl.packing import LayerPlacement
from engine.dmdl.reference import group_picture, layer_picture

#: HunyuanVideo-I2V's prompt template (with `<image>`), as diffusers ships it.
I2V_TEMPLATE = DEFAULT_PROMPT_TEMPLATE["template"]
#: Every how-many-th LLaVA image token the token-replace checkpoint keeps (diffusers' choice for it).
IMAGE_EMBED_INTERLEAVE = 4
#: CLIP's token budget in HunyuanVideo(-I2V)'s pipelines.
CLIP_MAX_LENGTH = 77


def i2v_template(tokenizer, text_encoder, template: str = I2V_TEMPLATE) -> dict[str, Any]:
    """diffusers' prompt-template dict, its positions counted with this tokenizer and LLaVA.

    diffusers hard-codes them for LLaVA-Llama-3-8B at 336 px (crop_start 103, `<image>` at 5,
    576 image features); counting them keeps any tokenizer and vision tower consistent.
    """
    ids = tokenizer(template.split("{}")[0], add_special_tokens=True)["input_ids"]
    image_token = text_encoder.config.image_token_index
    if ids.count(image_token) != 1:
        raise ValueError("The I2V prompt template must hold exactly one <image> token for this tokenizer.")
    vision = text_encoder.config.vision_config
    features = (vision.image_size // vision.patch_size) ** 2
    if text_encoder.config.vision_feature_select_strategy == "full":
        features += 1  # the CLS feature is kept
    start = ids.index(image_token)
    return {
        "template": template,
        "crop_start": len(ids),
        "image_emb_start": start,
        "image_emb_end": start + features,
        "image_emb_len": features,
    }


@dataclass
class PromptEmbeddings:
    """Text conditioning of a batch: tokens (B, L, D), mask (B, L), owner (B, L), pooled (B, S, P).

    `pooled` holds CLIP's vector per layer slot (S: the most layers of a sample in the
    batch; a sample with fewer repeats its first); (B, P), one per sample, is also read.
    """

    embeds: torch.Tensor
    mask: torch.Tensor
    owner: torch.Tensor
    pooled: torch.Tensor

    @classmethod
    def stack(cls, items: Sequence["PromptEmbeddings"]) -> "PromptEmbeddings":
        """Batch single-sample embeddings of different lengths, padding at the end."""
        length = max(item.embeds.shape[1] for item in items)
        slots = max(_per_slot(item.pooled).shape[1] for item in items)

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
            pooled=torch.cat([_pad_slots(i.pooled, slots) for i in items]),
        )


def _per_slot(pooled: torch.Tensor) -> torch.Tensor:
    """(B, P) -> (B, 1, P); (B, S, P) as it is."""
    return pooled[:, None] if pooled.ndim == 2 else pooled


def _pad_slots(pooled: torch.Tensor, slots: int) -> torch.Tensor:
    """(B, S', P) -> (B, slots, P), the extra slots copies of the first (no layer reads them;
    being equal they keep a batch of identical vectors on the stock path)."""
    pooled = _per_slot(pooled)
    extra = slots - pooled.shape[1]
    return pooled if extra == 0 else torch.cat([pooled, pooled[:, :1].expand(-1, extra, -1)], dim=1)


Image = np.ndarray | torch.Tensor


class PromptEncoder:
    """The checkpoint's two encoders (and LLaVA's image processor), turned into DMDL's layered conditioning."""

    def __init__(
        self,
        tokenizer,
        text_encoder,
        tokenizer_2,
        text_encoder_2,
        image_processor=None,
        max_sequence_length: int = 256,
        num_hidden_layers_to_skip: int = 2,
        image_embed_interleave: int = IMAGE_EMBED_INTERLEAVE,
        device: torch.device | str | None = None,
    ) -> None:
        """`device`: where the token ids go, when it is not where the encoders' weights are
        (offloaded encoders wait on the CPU, or on "meta", until their hooks run)."""
        self.device = None if device is None else torch.device(device)
        self.tokenizer, self.text_encoder = tokenizer, text_encoder
        self.tokenizer_2, self.text_encoder_2 = tokenizer_2, text_encoder_2
        self.image_processor = image_processor
        self.max_sequence_length = max_sequence_length
        self.skip = num_hidden_layers_to_skip
        self.image_embed_interleave = image_embed_interleave
        if not hasattr(text_encoder.config, "vision_config") or image_processor is None:
            raise ValueError(
                "DMDL conditions as HunyuanVideo-I2V was trained: its text encoder must be the checkpoint's LLaVA "
                "(with a vision tower) and the folder must carry its image_processor."
            )
        self.template = i2v_template(tokenizer, text_encoder)

    @property
    def _execution_device(self) -> torch.device:
        """What diffusers' encoding methods call the device their inputs go to."""
        return self.device or self.text_encoder.device

    @torch.no_grad()
    def _llm_tokens(self, prompt: str, picture=None) -> torch.Tensor:
        """(n, D): LLaVA's tokens for one prompt and picture (image tokens first), padding removed."""
        embeds, mask = HunyuanVideoImageToVideoPipeline._get_llama_prompt_embeds(
            self, picture, prompt, self.template, device=self._execution_device,
            max_sequence_length=self.max_sequence_length, num_hidden_layers_to_skip=self.skip,
            image_embed_interleave=self.image_embed_interleave,
        )
        return embeds[0][mask[0].bool()]

    @torch.no_grad()
    def _pooled(self, prompt: str) -> torch.Tensor:
        """(P,): CLIP's pooled prompt vector, what modulates its layer's tokens in every block."""
        return HunyuanVideoImageToVideoPipeline._get_clip_prompt_embeds(
            self, prompt, device=self._execution_device, max_sequence_length=CLIP_MAX_LENGTH
        )[0]

    def encode(
        self,
        layer_prompts: Sequence[str] | None,
        num_layers: int,
        group_prompt: str | None = None,
        copy_per_layer: bool = False,
        images: Sequence[Image] | None = None,
        placements: Sequence[LayerPlacement] | None = None,
    ) -> PromptEmbeddings:
        """One sample's conditioning.

        Joint mode (`layer_prompts`, one per layer): each layer's prompt with its picture,
        owned by that layer, and its prompt's pooled vector. Group mode
        (`group_prompt`): one shared sequence read from the merged picture, or, when
        `copy_per_layer` (layer isolation), one owned sequence per layer from its own picture.
        `images`: each layer's static RGBA (H, W, 4) drawn into its box; `placements`: where
        the boxes are (needed for the merged picture of a shared group prompt).
        """
        if group_prompt is None and (layer_prompts is None or len(layer_prompts) != num_layers):
            raise ValueError("Give one motion prompt per layer, or one group prompt for all of them.")
        if images is None or len(images) != num_layers:
            raise ValueError(
                "HunyuanVideo-I2V's text encoder looks at every static layer: give one image per layer "
                "(its RGBA drawn into its box)."
            )
        if group_prompt is not None:
            pooled = self._pooled(group_prompt)[None].repeat(num_layers, 1)
            if copy_per_layer:
                pieces = [
                    (self._llm_tokens(group_prompt, layer_picture(image)), slot) for slot, image in enumerate(images)
                ]
            else:
                if placements is None or len(placements) != num_layers:
                    raise ValueError("A group prompt reads the layers merged in place: give their placements.")
                pieces = [(self._llm_tokens(group_prompt, group_picture(list(images), list(placements))), -1)]
        else:
            pieces = [
                (self._llm_tokens(prompt, layer_picture(image)), slot)
                for slot, (prompt, image) in enumerate(zip(layer_prompts, images))
            ]
            pooled = torch.stack([self._pooled(p) for p in layer_prompts])
        embeds = torch.cat([t for t, _ in pieces])
        owner = torch.cat([torch.full((t.shape[0],), slot, dtype=torch.long) for t, slot in pieces])
        return PromptEmbeddings(
            embeds=embeds[None],
            mask=torch.ones(1, embeds.shape[0], dtype=torch.long, device=embeds.device),
            owner=owner[None].to(embeds.device),
            pooled=pooled[None],
        )
