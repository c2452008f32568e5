"""Motion engines behind one Animator interface, handed out by the registry.

`get_engine(name)` returns the one long-lived instance of an engine in this process;
`available_engines()` says which can run here. Engines are imported only when first
asked for, so choosing the CPU preset engine never imports the diffusion model.
"""

from __future__ import annotations

from engine.core.clip import LayerClip, place_static
from engine.motion.base import Animator, CancelToken, Cancelled, MotionRequest, Progress
from engine.motion.params import ParamSpec
from engine.motion.registry import ENGINES, available_engines, get_engine, release

__all__ = [
    "ENGINES", "Animator", "CancelToken", "Cancelled", "LayerClip", "MotionRequest", "ParamSpec", "Progress",
    "available_engines", "get_engine", "place_static", "release",
]
