"""Motion engines behind one Animator interface.

Engines are found by name and imported only when asked for, so choosing the CPU preset
engine never imports the diffusion model's dependencies.
"""

from __future__ import annotations

import importlib

from engine.core.clip import LayerClip, place_static
from engine.motion.base import Animator, MotionRequest
from engine.core.poster import PosterError

#: Engine name -> (module, class). The first one is the default that works everywhere.
ENGINES: dict[str, tuple[str, str]] = {
    "presets": ("engine.motion.presets", "PresetAnimator"),
    "dmdl": ("engine.motion.dmdl_engine", "DMDLAnimator"),
}


def _engine_class(name: str) -> type:
    if name not in ENGINES:
        raise PosterError(f"There is no motion engine called '{name}'. Engines: {', '.join(ENGINES)}.")
    module_name, class_name = ENGINES[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise PosterError(f"The '{name}' motion engine is not part of this installation.") from None
        raise PosterError(
            f"The '{name}' motion engine cannot start because '{error.name}' is not installed: "
            "install the requirements, or use the 'presets' engine."
        ) from None
    return getattr(module, class_name)


def get_animator(name: str) -> Animator:
    """A ready engine by name ("presets" or "dmdl"); a clear PosterError for anything else."""
    return _engine_class(name.strip().lower())()


def available_engines() -> dict[str, tuple[bool, str]]:
    """For each engine: whether it can run here and a sentence saying why (not)."""
    result: dict[str, tuple[bool, str]] = {}
    for name in ENGINES:
        try:
            result[name] = get_animator(name).available()
        except PosterError as error:
            result[name] = (False, str(error))
    return result


__all__ = [
    "ENGINES", "Animator", "LayerClip", "MotionRequest", "available_engines", "get_animator", "place_static",
]
