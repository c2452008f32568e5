"""The poster-animation engine: PSD in, animated layers composited, files out.

The public API is re-exported here lazily (PEP 562), so `import engine` stays cheap and
parts that need heavy libraries (torch for the DMDL model) load only when used.
Nothing in this package imports gradio or the editor. Rendering and exporting are the
subpackages `engine.render` and `engine.export` (their functions are imported from them).
"""

from __future__ import annotations

import importlib
from typing import Any

from engine.core.poster import Box, Layer, LayerKind, Poster, PosterError

_LAZY = {
    "load_psd": "engine.psd.load",
    "ImportLimits": "engine.psd.limits",
    "render_static": "engine.render.compositor",
    "plan": "engine.planning",
    "planner_status": "engine.planning",
    "boxes_for_preset": "engine.planning",
    "animate": "engine.motion.presets",
    "PRESETS": "engine.motion.presets",
    "save_project": "engine.core.projectfile",
    "load_project": "engine.core.projectfile",
    "Project": "engine.core.project",
    "DMDLTransformer": "engine.dmdl.transformer",
    "DMDLPipeline": "engine.dmdl.pipeline",
    "PresetAnimator": "engine.motion.presets",
    "preset_for_prompt": "engine.motion.presets.prompts",
    "get_engine": "engine.motion",
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
