"""The poster-animation engine: PSD in, animated layers composited, files out.

The public API is re-exported here lazily (PEP 562), so `import engine` stays cheap and
parts that need heavy libraries (torch for the DMDL model) load only when used.
Nothing in this package imports gradio or the editor.
"""

from __future__ import annotations

import importlib
from typing import Any

from engine.poster import Box, Layer, LayerKind, Poster, PosterError

_LAZY = {
    "load_psd": "engine.psd_import",
    "ImportLimits": "engine.psd_limits",
    "render": "engine.compositor",
    "render_static": "engine.compositor",
    "iter_frames": "engine.compositor",
    "plan_boxes": "engine.planner",
    "planner_status": "engine.planner",
    "boxes_for_preset": "engine.planner",
    "animate": "engine.motion.presets",
    "PRESETS": "engine.motion.presets",
    "export": "engine.export",
    "save_project": "engine.project",
    "load_project": "engine.project",
    "Project": "engine.project",
    "DMDLTransformer": "engine.dmdl.transformer",
    "DMDLPipeline": "engine.dmdl.pipeline",
    "PresetAnimator": "engine.motion.presets",
    "preset_for_prompt": "engine.motion.prompts",
    "get_animator": "engine.motion",
    "available_engines": "engine.motion",
    "LayerDecoder": "engine.dmdl.layer_decoder",
    "LayerEncoder": "engine.dmdl.autoencoder",
}

__all__ = ["Box", "Layer", "LayerKind", "Poster", "PosterError", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
