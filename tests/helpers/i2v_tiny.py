"""Tiny random image-to-video pipelines, one per family the i2v engine drives, built offline.

Each follows diffusers' own fast tests (`get_dummy_components` in tests/pipelines/...), with
the tokenizers those tests download made here with `tokenizers` instead, and is saved with
`save_pretrained`, so the engine loads a folder laid out exactly like a real checkpoint
(model_index.json naming the pipeline class). HunyuanVideo-I2V keeps the pipeline's real
prompt template: its tiny Llava sees a 336 px image as 576 tokens, like the real one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

#: Words the tiny tokenizers know; any other word is [UNK] (harmless for random weights).
WORDS = [
    "[PAD]", "[UNK]", "<s>", "</s>", "a", "the", "balloon", "rises", "into", "sky", "floats", "gently",
    "flag", "waves", "sun", "title", "butterfly", "flaps", "its", "wings", "small", "video", "describe",
]
#: The chat markers of HunyuanVideo's prompt templates, kept whole like Llama-3's tokenizer does.
SPECIAL = ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<image>"]


def tokenizer(max_length: int, append_eos: bool = False, special: bool = False) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over WORDS (+ the chat markers when `special`)."""
    vocab = {w: i for i, w in enumerate(WORDS + (SPECIAL if special else []))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if special:
        tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIAL])
    if append_eos:
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 3)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", bos_token="<s>", eos_token="</s>",
        model_max_length=max_length,
    )


def vocab_size(special: bool = False) -> int:
    return len(WORDS) + (len(SPECIAL) if special else 0)


def _hunyuan_vae():
    from diffusers import AutoencoderKLHunyuanVideo

    torch.manual_seed(0)
    return AutoencoderKLHunyuanVideo(
        in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("HunyuanVideoDownBlock3D",) * 4, up_block_types=("HunyuanVideoUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, act_fn="silu", norm_num_groups=4,
        scaling_factor=0.476986, spatial_compression_ratio=8, temporal_compression_ratio=4,
        mid_block_add_attention=True,
    )


def _llama_config(special: bool = False):
    from transformers import LlamaConfig

    return LlamaConfig(
        bos_token_id=2, eos_token_id=3, pad_token_id=0, hidden_size=16, intermediate_size=37,
        num_attention_heads=4, num_key_value_heads=4, num_hidden_layers=2, vocab_size=vocab_size(special),
        hidden_act="gelu", max_position_embeddings=2048,
    )


def _clip_text():
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    return CLIPTextModel(CLIPTextConfig(
        bos_token_id=2, eos_token_id=3, pad_token_id=0, hidden_size=8, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=vocab_size(), hidden_act="gelu",
        projection_dim=32, max_position_embeddings=77,
    )).eval()


def _t5():
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    return T5EncoderModel(T5Config(
        vocab_size=vocab_size(), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=3, decoder_start_token_id=0,
    )).eval()


def hunyuan_i2v(folder: Path) -> Path:
    from diffusers import FlowMatchEulerDiscreteScheduler, HunyuanVideoImageToVideoPipeline, HunyuanVideoTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration

    torch.manual_seed(0)
    transformer = HunyuanVideoTransformer3DModel(
        in_channels=2 * 4 + 1, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
        num_single_layers=1, num_refiner_layers=1, patch_size=1, patch_size_t=1, guidance_embeds=False,
        text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4), image_condition_type="latent_concat",
    )
    llava = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=8, intermediate_size=37, projection_dim=32, num_attention_heads=4,
                                       num_hidden_layers=2, image_size=336, patch_size=14),
        text_config=_llama_config(special=True), pad_token_id=0, image_token_index=WORDS.__len__() + 3,
    )
    torch.manual_seed(0)
    text_encoder = LlavaForConditionalGeneration(llava).eval()
    pipe = HunyuanVideoImageToVideoPipeline(
        transformer=transformer, vae=_hunyuan_vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=text_encoder, tokenizer=tokenizer(2048, special=True),
        text_encoder_2=_clip_text(), tokenizer_2=tokenizer(77, append_eos=True),
        image_processor=CLIPImageProcessor(crop_size=336, size=336),
    )
    pipe.save_pretrained(folder)
    return folder


def framepack(folder: Path) -> Path:
    from diffusers import (
        FlowMatchEulerDiscreteScheduler, HunyuanVideoFramepackPipeline, HunyuanVideoFramepackTransformer3DModel,
    )
    from transformers import LlamaModel, SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel

    torch.manual_seed(0)
    transformer = HunyuanVideoFramepackTransformer3DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
        num_single_layers=1, num_refiner_layers=1, patch_size=2, patch_size_t=1, guidance_embeds=True,
        text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4), image_condition_type=None,
        has_image_proj=True, image_proj_dim=32, has_clean_x_embedder=True,
    )
    torch.manual_seed(0)
    text_encoder = LlamaModel(_llama_config(special=True)).eval()
    torch.manual_seed(0)
    image_encoder = SiglipVisionModel(SiglipVisionConfig(
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, image_size=30, patch_size=2,
    )).eval()
    pipe = HunyuanVideoFramepackPipeline(
        transformer=transformer, vae=_hunyuan_vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=text_encoder, tokenizer=tokenizer(2048, special=True),
        text_encoder_2=_clip_text(), tokenizer_2=tokenizer(77, append_eos=True),
        image_encoder=image_encoder, feature_extractor=SiglipImageProcessor(size={"height": 30, "width": 30}),
    )
    pipe.save_pretrained(folder)
    return folder


def wan_i2v(folder: Path) -> Path:
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32, image_dim=4,
    )
    torch.manual_seed(0)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        intermediate_size=16, patch_size=1,
    )).eval()
    pipe = WanImageToVideoPipeline(
        transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=_t5(), tokenizer=tokenizer(512, append_eos=True),
        image_encoder=image_encoder, image_processor=CLIPImageProcessor(crop_size=32, size=32),
    )
    pipe.save_pretrained(folder)
    return folder


def _ltx_parts() -> dict:
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel

    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
        cross_attention_dim=32, num_layers=1, caption_channels=32,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False), decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4, upsample_factor=(1, 1, 1, 1), timestep_conditioning=False,
        patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False,
    )
    return dict(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(),
                text_encoder=_t5(), tokenizer=tokenizer(512, append_eos=True))


def ltx_i2v(folder: Path) -> Path:
    from diffusers import LTXImageToVideoPipeline

    LTXImageToVideoPipeline(**_ltx_parts()).save_pretrained(folder)
    return folder


def ltx_condition(folder: Path) -> Path:
    from diffusers import LTXConditionPipeline

    LTXConditionPipeline(**_ltx_parts()).save_pretrained(folder)
    return folder


def cogvideox_i2v(folder: Path) -> Path:
    from diffusers import (
        AutoencoderKLCogVideoX, CogVideoXDPMScheduler, CogVideoXImageToVideoPipeline, CogVideoXTransformer3DModel,
    )

    torch.manual_seed(0)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2, attention_head_dim=16, in_channels=8, out_channels=4, time_embed_dim=2,
        text_embed_dim=32, num_layers=1, sample_width=2, sample_height=2, sample_frames=9, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=226, use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=True,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
        layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4,
    )
    pipe = CogVideoXImageToVideoPipeline(
        transformer=transformer, vae=vae, scheduler=CogVideoXDPMScheduler(), text_encoder=_t5(),
        tokenizer=tokenizer(226, append_eos=True),
    )
    pipe.save_pretrained(folder)
    return folder


#: Pipeline class -> builder of its tiny folder.
BUILDERS: dict[str, Callable[[Path], Path]] = {
    "HunyuanVideoImageToVideoPipeline": hunyuan_i2v,
    "HunyuanVideoFramepackPipeline": framepack,
    "WanImageToVideoPipeline": wan_i2v,
    "LTXImageToVideoPipeline": ltx_i2v,
    "LTXConditionPipeline": ltx_condition,
    "CogVideoXImageToVideoPipeline": cogvideox_i2v,
}
#: The resolution parameter that keeps each tiny model's canvas small (a multiple of its patch grid).
TINY_RESOLUTION = 32
