"""`python -m engine.dmdl.assemble`: one DMDL checkpoint folder from HunyuanVideo-I2V and the trained parts.

DMDL fine-tunes HunyuanVideo-I2V's transformer and adds the RGBA layer decoder; the text
encoders (LLaVA with its image processor, CLIP), tokenizers, video VAE and scheduler are
the base model's, unchanged (tens of gigabytes). So a DMDL checkpoint is assembled, not
saved whole: this writes a diffusers folder whose `model_index.json` names `DMDLPipeline`
with its transformer and layer decoder, and links (or, with --copy, copies) the base's
shared parts beside them. The editor's
`dmdl` engine loads the result unchanged (`DMDL_CHECKPOINT=OUT`).

    python -m engine.dmdl.assemble --base HUNYUAN_I2V_DIR --transformer T_DIR \\
        --layer-decoder D_DIR --out OUT [--copy]

Every part is checked before anything is written (present, the expected class, latent
channels and text width matching the base), so a wrong folder is refused with a sentence
naming it rather than failing later inside a load. The folder appears complete or not at
all: it is built beside OUT and renamed into place.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from engine.dmdl.errors import DMDLError

#: Pipelines whose shared parts a DMDL folder can take (a DMDL folder itself: new trained parts).
BASE_CLASSES = ("HunyuanVideoImageToVideoPipeline", "DMDLPipeline")
#: The base's parts DMDL uses as they are, in model_index order: LLaVA reads each static
#: layer through the image processor, as HunyuanVideo-I2V reads its reference frame.
SHARED_PARTS = ("text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2", "image_processor", "vae", "scheduler")
#: Transformer folders DMDLTransformer loads (a HunyuanVideo one is the untrained starting point).
TRANSFORMER_CLASSES = ("DMDLTransformer", "HunyuanVideoTransformer3DModel")
DECODER_CLASS = "LayerDecoder"
#: What model_index.json says the trained parts are: the library diffusers imports them from.
TRAINED_ENTRIES = {
    "transformer": ["engine.dmdl.transformer", "DMDLTransformer"],
    "layer_decoder": ["engine.dmdl.layer_decoder", "LayerDecoder"],
}
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def _read_json(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise DMDLError(f"{what}: '{path}' is missing; point at the folder diffusers saved.")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DMDLError(f"{what}: '{path}' is not readable JSON ({error}); save the folder again.") from None
    if not isinstance(data, dict):
        raise DMDLError(f"{what}: '{path}' is not a diffusers config (a JSON object); save the folder again.")
    return data


def _model_folder(folder: Path, what: str, classes: Sequence[str], option: str) -> dict[str, Any]:
    """The config of a saved model folder, after checking its class and that it has weights."""
    if not folder.is_dir():
        raise DMDLError(f"The {what} folder '{folder}' does not exist; check {option}.")
    config = _read_json(folder / "config.json", f"The {what} folder has no config")
    name = config.get("_class_name")
    if name not in classes:
        raise DMDLError(
            f"{option} '{folder}' holds a {name or 'model of unknown class'}, not a {' or '.join(classes)}: "
            f"point {option} at the {what} folder."
        )
    if not any(p.name.endswith(WEIGHT_SUFFIXES) for p in folder.iterdir()):
        raise DMDLError(f"The {what} folder '{folder}' has a config but no weights (.safetensors or .bin).")
    return config


def _text_width(text_encoder: Path) -> int | None:
    """The LLM text encoder's hidden size (a LLaVA keeps it under text_config), if its config says."""
    config = _read_json(text_encoder / "config.json", "The base's text_encoder has no config")
    width = config.get("hidden_size") or (config.get("text_config") or {}).get("hidden_size")
    return int(width) if width else None


def check_parts(base: Path, transformer: Path, layer_decoder: Path) -> dict[str, Any]:
    """The model_index.json of the assembled folder, once every part has been checked."""
    if not base.is_dir():
        raise DMDLError(f"The base folder '{base}' does not exist; check --base.")
    index = _read_json(base / "model_index.json", "The base is not a diffusers pipeline folder")
    if index.get("_class_name") not in BASE_CLASSES:
        raise DMDLError(
            f"--base '{base}' is a {index.get('_class_name') or 'pipeline of unknown class'}, not a "
            f"{' or '.join(BASE_CLASSES)}: point --base at the HunyuanVideo-I2V folder."
        )
    missing = [p for p in SHARED_PARTS if not index.get(p) or None in index[p] or not (base / p).is_dir()]
    if missing:
        raise DMDLError(
            f"The base folder '{base}' lacks {', '.join(missing)}: DMDL uses the base's text encoders, "
            "tokenizers, image processor, VAE and scheduler; download the complete HunyuanVideo-I2V folder."
        )
    vae = _read_json(base / "vae" / "config.json", "The base's vae has no config")
    latent = vae.get("latent_channels")
    t_config = _model_folder(transformer, "transformer", TRANSFORMER_CLASSES, "--transformer")
    d_config = _model_folder(layer_decoder, "layer decoder", (DECODER_CLASS,), "--layer-decoder")
    if t_config.get("image_condition_type") != "token_replace":
        raise DMDLError(
            f"The transformer in '{transformer}' conditions on the image by "
            f"{t_config.get('image_condition_type')!r}; DMDL needs a token-replace HunyuanVideo-I2V transformer."
        )
    for what, channels in (("transformer", t_config.get("in_channels")),
                           ("layer decoder", d_config.get("latent_channels"))):
        if latent is not None and channels != latent:
            raise DMDLError(
                f"The {what} reads {channels}-channel latents but the base's VAE makes {latent}: "
                "they were not trained on this base."
            )
    width = _text_width(base / "text_encoder")
    if width is not None and t_config.get("text_embed_dim") != width:
        raise DMDLError(
            f"The transformer reads {t_config.get('text_embed_dim')}-wide text embeddings but the base's text "
            f"encoder makes {width}: it was not trained on this base."
        )
    return {
        "_class_name": "DMDLPipeline",
        "_diffusers_version": metadata.version("diffusers"),
        **{part: index[part] for part in SHARED_PARTS},
        **TRAINED_ENTRIES,
    }


def _bring(source: Path, target: Path, copy: bool) -> None:
    if copy:
        shutil.copytree(source, target)  # follows links: a hub cache's blobs become real files
    else:
        os.symlink(source.resolve(), target, target_is_directory=True)


def assemble(base: Path, transformer: Path, layer_decoder: Path, out: Path, copy: bool = False) -> Path:
    """Write the DMDL folder `out` (which must not exist, or be empty); returns it."""
    base, transformer, layer_decoder, out = (Path(p) for p in (base, transformer, layer_decoder, out))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DMDLError(f"'{out}' already exists and is not an empty folder; choose a new --out.")
    index = check_parts(base, transformer, layer_decoder)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for part in SHARED_PARTS:
            _bring(base / part, staging / part, copy)
        _bring(transformer, staging / "transformer", copy)
        _bring(layer_decoder, staging / "layer_decoder", copy)
        (staging / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.dmdl.assemble", description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, type=Path,
                        help="a HunyuanVideo-I2V diffusers folder (text encoders, tokenizers, vae, scheduler)")
    parser.add_argument("--transformer", required=True, type=Path, help="the trained DMDL transformer folder")
    parser.add_argument("--layer-decoder", required=True, type=Path, help="the trained RGBA layer decoder folder")
    parser.add_argument("--out", required=True, type=Path, help="the DMDL folder to write (new or empty)")
    parser.add_argument("--copy", action="store_true", help="copy the base's parts instead of linking them")
    args = parser.parse_args(argv)
    try:
        out = assemble(args.base, args.transformer, args.layer_decoder, args.out, copy=args.copy)
    except DMDLError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
