"""Motion engines behind one Animator interface."""

from engine.motion.base import Animator, LayerClip, MotionRequest, place_static

__all__ = ["Animator", "LayerClip", "MotionRequest", "place_static"]
