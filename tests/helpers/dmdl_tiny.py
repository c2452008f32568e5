"""Tiny, randomly initialised DMDL parts that the tests build themselves (no downloads).

The architecture is HunyuanVideo-I2V's (token replace) at toy width; diffusers zero-inits
nothing we rely on, but some modulation layers start near identity, so `perturb` shakes
every weight to make equivalence checks meaningful.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pytest
import torch
from diffusers import HunyuanVideoTransformer3DModel
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import (
    CLIPImageProcessor,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    PreTrainedTokenizerFast,
)

from engine.dmdl.packing import LayerPlacement
from engine.dmdl.text import PromptEmbeddings
from engine.dmdl.transformer import DMDLTransformer

TEXT_DIM = 32
POOLED_DIM = 16
CHANNELS = 4

HUNYUAN_I2V_TINY = dict(
    in_channels=CHANNELS,
    out_channels=CHANNELS,
    num_attention_heads=2,
    attention_head_dim=16,
    num_layers=1,
    num_single_layers=1,
    num_refiner_layers=1,
    text_embed_dim=TEXT_DIM,
    pooled_projection_dim=POOLED_DIM,
    rope_axes_dim=(4, 6, 6),
    image_condition_type="token_replace",
    guidance_embeds=True,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models are overhead-bound: one thread is far faster on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def perturb(model: torch.nn.Module, seed: int = 0, scale: float = 0.05) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * scale)
    return model.eval()


def hunyuan_i2v_tiny(seed: int = 0) -> HunyuanVideoTransformer3DModel:
    torch.manual_seed(seed)
    return perturb(HunyuanVideoTransformer3DModel(**HUNYUAN_I2V_TINY), seed)


def dmdl_tiny(seed: int = 0, **overrides) -> DMDLTransformer:
    """A tiny DMDL as fine-tuning starts it: HunyuanVideo-I2V's shape, 4D-RoPE on the shared frame band."""
    config = {**HUNYUAN_I2V_TINY, **overrides}
    torch.manual_seed(seed)
    return perturb(DMDLTransformer(**config), seed)


def random_prompt(batch: int = 1, length: int = 5, seed: int = 0, owner: torch.Tensor | None = None) -> PromptEmbeddings:
    generator = torch.Generator().manual_seed(seed)
    return PromptEmbeddings(
        embeds=torch.randn(batch, length, TEXT_DIM, generator=generator),
        mask=torch.ones(batch, length, dtype=torch.long),
        owner=torch.full((batch, length), -1, dtype=torch.long) if owner is None else owner,
        pooled=torch.randn(batch, POOLED_DIM, generator=generator),
    )


def run(model: DMDLTransformer, packed, prompt: PromptEmbeddings, sigma: float = 0.6) -> torch.Tensor:
    """One forward at a fixed noise level; returns the packed prediction."""
    batch = packed.tokens.shape[0]
    guidance = torch.full((batch,), 6000.0) if model.config.guidance_embeds else None
    with torch.no_grad():
        return model(
            packed,
            timestep=torch.full((batch,), sigma * 1000.0),
            encoder_hidden_states=prompt.embeds,
            encoder_attention_mask=prompt.mask,
            pooled_projections=prompt.pooled,
            guidance=guidance,
            text_owner=prompt.owner,
        ).sample


def latent(frames: int, rows: int, cols: int, seed: int) -> torch.Tensor:
    return torch.randn(CHANNELS, frames, rows, cols, generator=torch.Generator().manual_seed(seed))


def layer_image(height: int, width: int, seed: int, opaque: bool = False) -> torch.Tensor:
    """A random straight-alpha RGBA layer image (height, width, 4) uint8, what LLaVA reads over gray."""
    image = torch.randint(0, 256, (height, width, 4), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    if opaque:
        image[..., 3] = 255
    return image


def images_for(latents) -> list[torch.Tensor]:
    """One random layer image per static latent (C, T, h, w), sized as the VAE would have read it."""
    return [layer_image(x.shape[-2] * 8, x.shape[-1] * 8, seed=i) for i, x in enumerate(latents)]


def place(index: int, top: int, left: int) -> LayerPlacement:
    return LayerPlacement(index=index, top=top, left=left)


#: Llama-3's chat markers and LLaVA's image placeholder, each one token (as in the real tokenizer).
SPECIAL = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<image>"]
WORDS = [
    "[PAD]", "[UNK]", "<s>", "</s>", "a", "the", "flag", "waves", "sun", "rises", "title", "floats", "gently",
    "system", "user", "assistant", "Describe", "video", "image", *SPECIAL,
]
#: LLaVA's vision tower at toy size: 32 px pictures in 8 px patches, 16 image features.
PICTURE_PIXELS, PICTURE_PATCH = 32, 8


def tiny_tokenizer(max_length: int, append_eos: bool, extra_words: Sequence[str] = ()) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over a toy vocabulary (WORDS, then `extra_words`), built offline with `tokenizers`.

    The LLM's (append_eos False) starts with <|begin_of_text|> and keeps the chat markers
    whole, like Llama-3's, so diffusers' I2V template positions are counted on it as on the
    real one; CLIP's (append_eos True) ends with </s>."""
    words = WORDS + [w for w in dict.fromkeys(extra_words) if w not in WORDS]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if append_eos:
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 3)])
        return PreTrainedTokenizerFast(
            tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", bos_token="<s>", eos_token="</s>",
            model_max_length=max_length,
        )
    tok.add_special_tokens(SPECIAL)
    bos = "<|begin_of_text|>"
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, WORDS.index(bos))])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", bos_token=bos, eos_token="<|eot_id|>",
        model_max_length=max_length,
    )


def tiny_llava(seed: int = 0, vocab_size: int = len(WORDS)) -> LlavaForConditionalGeneration:
    """HunyuanVideo-I2V's text encoder (LLaVA: CLIP vision tower + projector + Llama) at toy size."""
    torch.manual_seed(seed)
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                                       image_size=PICTURE_PIXELS, patch_size=PICTURE_PATCH, projection_dim=16),
        text_config=LlamaConfig(vocab_size=vocab_size, hidden_size=TEXT_DIM, intermediate_size=64, num_hidden_layers=3,
                                num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024,
                                pad_token_id=0),
        image_token_index=WORDS.index("<image>"),
        pad_token_id=0,
    )
    return LlavaForConditionalGeneration(config).eval()


def tiny_image_processor() -> CLIPImageProcessor:
    """LLaVA's image processor (resize the short side, centre crop, CLIP normalisation) at toy size."""
    return CLIPImageProcessor(
        size={"shortest_edge": PICTURE_PIXELS}, crop_size={"height": PICTURE_PIXELS, "width": PICTURE_PIXELS}
    )


def hunyuan_i2v_checkpoint(directory: Path, extra_words: Sequence[str] = ()) -> Path:
    """A HunyuanVideo-I2V-shaped pipeline folder, laid out as diffusers saves the real one
    (transformer, vae, scheduler, LLaVA + CLIP text encoders and tokenizers, image processor);
    `extra_words` join the tokenizers' vocabulary (tiny_text_encoders)."""
    import json

    from diffusers import FlowMatchEulerDiscreteScheduler

    from engine.dmdl.autoencoder import tiny_vae

    hunyuan_i2v_tiny().save_pretrained(directory / "transformer")
    tiny_vae().save_pretrained(directory / "vae")
    FlowMatchEulerDiscreteScheduler(shift=7.0).save_pretrained(directory / "scheduler")
    for name, part in tiny_text_encoders(directory / "sources", extra_words).items():
        part.save_pretrained(directory / name)
    index = {
        "_class_name": "HunyuanVideoImageToVideoPipeline",
        "_diffusers_version": "0.42.1",
        "transformer": ["diffusers", "HunyuanVideoTransformer3DModel"],
        "vae": ["diffusers", "AutoencoderKLHunyuanVideo"],
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": ["transformers", "LlavaForConditionalGeneration"],
        "tokenizer": ["transformers", "PreTrainedTokenizerFast"],
        "text_encoder_2": ["transformers", "CLIPTextModel"],
        "tokenizer_2": ["transformers", "PreTrainedTokenizerFast"],
        "image_processor": ["transformers", "CLIPImageProcessor"],
    }
    (directory / "model_index.json").write_text(json.dumps(index))
    return directory


def tiny_text_encoders(directory: Path, extra_words: Sequence[str] = ()) -> dict:
    """HunyuanVideo-I2V's conditioning parts at toy size, saved and reloaded from `directory`:
    LLaVA (token sequence, reading the layer's picture) with its tokenizer and image
    processor, and CLIP (pooled vector; 77 positions, as the pipelines pad to 77).
    `extra_words` join the vocabulary (a benchmark's own prompts, so they are not all unknown)."""
    vocab_size = len(tiny_tokenizer(77, append_eos=True, extra_words=extra_words))
    llava = tiny_llava(vocab_size=vocab_size)
    torch.manual_seed(0)
    clip = CLIPTextModel(
        CLIPTextConfig(vocab_size=vocab_size, hidden_size=POOLED_DIM, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, max_position_embeddings=77, projection_dim=POOLED_DIM,
                       pad_token_id=0, bos_token_id=2, eos_token_id=3)
    )
    parts = {
        "tokenizer": tiny_tokenizer(1024, append_eos=False, extra_words=extra_words),
        "text_encoder": llava,
        "tokenizer_2": tiny_tokenizer(77, append_eos=True, extra_words=extra_words),
        "text_encoder_2": clip,
        "image_processor": tiny_image_processor(),
    }
    for name, part in parts.items():
        part.save_pretrained(directory / name)
    return {
        "tokenizer": PreTrainedTokenizerFast.from_pretrained(directory / "tokenizer"),
        "text_encoder": LlavaForConditionalGeneration.from_pretrained(directory / "text_encoder").eval(),
        "tokenizer_2": PreTrainedTokenizerFast.from_pretrained(directory / "tokenizer_2"),
        "text_encoder_2": CLIPTextModel.from_pretrained(directory / "text_encoder_2").eval(),
        "image_processor": CLIPImageProcessor.from_pretrained(directory / "image_processor"),
    }


def tiny_dmdl_folder(directory: Path, name: str = "dmdl", **transformer_config) -> Path:
    """A whole DMDL checkpoint at toy size saved under `directory / name`: the tiny
    transformer (its config changed by `transformer_config`, e.g. an ablation's), VAE,
    RGBA ViT decoder and text encoders, random weights, seed 0."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    from engine.dmdl import DMDLPipeline
    from engine.dmdl.autoencoder import tiny_vae
    from engine.dmdl.layer_decoder import LayerDecoder

    torch.manual_seed(0)
    decoder = LayerDecoder(hidden_size=32, num_layers=2, num_heads=2, mlp_ratio=2.0, norm_groups=8).eval()
    pipe = DMDLPipeline(
        transformer=dmdl_tiny(in_channels=16, out_channels=16, **transformer_config),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        vae=tiny_vae().eval(), layer_decoder=decoder, **tiny_text_encoders(directory),
    )
    pipe.save_pretrained(directory / name)
    return directory / name
