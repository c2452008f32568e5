"""Tiny, randomly initialised DMDL parts that the tests build themselves (no downloads).

The architecture is HunyuanVideo-I2V's (token replace) at toy width; diffusers zero-inits
nothing we rely on, but some modulation layers start near identity, so `perturb` shakes
every weight to make equivalence checks meaningful.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import HunyuanVideoTransformer3DModel
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import CLIPTextConfig, CLIPTextModel, LlamaConfig, LlamaModel, PreTrainedTokenizerFast

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


def place(index: int, top: int, left: int) -> LayerPlacement:
    return LayerPlacement(index=index, top=top, left=left)


WORDS = ["[PAD]", "[UNK]", "<s>", "</s>", "a", "the", "flag", "waves", "sun", "rises", "title", "floats", "gently"]


def tiny_tokenizer(max_length: int, append_eos: bool, words: list[str] = WORDS) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over a toy vocabulary (WORDS, or WORDS' specials + `words`), built offline."""
    if words is not WORDS:
        words = WORDS[:4] + [w for w in words if w not in WORDS[:4]]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if append_eos:
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 3)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", bos_token="<s>", eos_token="</s>",
        model_max_length=max_length,
    )


def hunyuan_i2v_checkpoint(directory: Path) -> Path:
    """A HunyuanVideo-I2V-shaped pipeline folder, laid out as diffusers saves the real one
    (transformer, vae, scheduler, two text encoders and tokenizers, image processor)."""
    import json

    from diffusers import FlowMatchEulerDiscreteScheduler
    from transformers import CLIPImageProcessor

    from engine.dmdl.autoencoder import tiny_vae

    hunyuan_i2v_tiny().save_pretrained(directory / "transformer")
    tiny_vae().save_pretrained(directory / "vae")
    FlowMatchEulerDiscreteScheduler(shift=7.0).save_pretrained(directory / "scheduler")
    for name, part in tiny_text_encoders(directory / "sources").items():
        part.save_pretrained(directory / name)
    CLIPImageProcessor().save_pretrained(directory / "image_processor")
    index = {
        "_class_name": "HunyuanVideoImageToVideoPipeline",
        "_diffusers_version": "0.42.1",
        "transformer": ["diffusers", "HunyuanVideoTransformer3DModel"],
        "vae": ["diffusers", "AutoencoderKLHunyuanVideo"],
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": ["transformers", "LlamaModel"],
        "tokenizer": ["transformers", "PreTrainedTokenizerFast"],
        "text_encoder_2": ["transformers", "CLIPTextModel"],
        "tokenizer_2": ["transformers", "PreTrainedTokenizerFast"],
        "image_processor": ["transformers", "CLIPImageProcessor"],
    }
    (directory / "model_index.json").write_text(json.dumps(index))
    return directory


def tiny_text_encoders(directory: Path, words: list[str] = WORDS) -> dict:
    """Tiny Llama (token sequence) + CLIP (pooled vector), saved and reloaded from `directory`."""
    vocabulary = len(tiny_tokenizer(16, append_eos=False, words=words))
    torch.manual_seed(0)
    llama = LlamaModel(
        LlamaConfig(vocab_size=vocabulary, hidden_size=TEXT_DIM, intermediate_size=64, num_hidden_layers=3,
                    num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512, pad_token_id=0)
    )
    clip = CLIPTextModel(
        CLIPTextConfig(vocab_size=vocabulary, hidden_size=POOLED_DIM, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, max_position_embeddings=16, projection_dim=POOLED_DIM,
                       pad_token_id=0, bos_token_id=2, eos_token_id=3)
    )
    parts = {
        "tokenizer": tiny_tokenizer(512, append_eos=False, words=words),
        "text_encoder": llama,
        "tokenizer_2": tiny_tokenizer(16, append_eos=True, words=words),
        "text_encoder_2": clip,
    }
    for name, part in parts.items():
        part.save_pretrained(directory / name)
    return {
        "tokenizer": PreTrainedTokenizerFast.from_pretrained(directory / "tokenizer"),
        "text_encoder": LlamaModel.from_pretrained(directory / "text_encoder").eval(),
        "tokenizer_2": PreTrainedTokenizerFast.from_pretrained(directory / "tokenizer_2"),
        "text_encoder_2": CLIPTextModel.from_pretrained(directory / "text_encoder_2").eval(),
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
