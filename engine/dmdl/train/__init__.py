"""`python -m engine.dmdl.train`: fine-tune DMDL (the transformer, or `decoder`: the RGBA decoder).

    python -m engine.dmdl.train --data TDL --base HUNYUAN_I2V --out RUN [options]   # transformer
    python -m engine.dmdl.train decoder --data TDL --base HUNYUAN_I2V --out DEC [options]
    accelerate launch --config_file configs/accelerate/fsdp.yaml -m engine.dmdl.train ...

The transformer run is engine/dmdl/train/run.py (read it top to bottom); the decoder's is
engine/dmdl/train_decoder.py. Importing this package loads nothing heavy.
"""

from __future__ import annotations

import sys

PARTS = ("transformer", "decoder")


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the part named first (default: the transformer); errors print one sentence."""
    argv = list(sys.argv[1:] if argv is None else argv)
    part = argv.pop(0) if argv[:1] and argv[0] in PARTS else "transformer"
    if part == "decoder":
        from engine.dmdl.train_decoder import main as decoder_main

        return decoder_main(argv, prog="python -m engine.dmdl.train decoder")
    from engine.data.tdl import PosterError
    from engine.dmdl.errors import DMDLError
    from engine.dmdl.train.options import parse_args
    from engine.dmdl.train.run import train

    options = parse_args(argv)
    try:
        train(options)
    except (DMDLError, PosterError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
