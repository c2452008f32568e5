"""Preset requests spelled the way this checkout's MotionRequest and Animator take them.

The engine-parameter interface moves the preset name from `MotionRequest.preset` into
`params["preset"]` and makes `animate` take a list of requests; tests that only need "this
layer, this preset" go through here so they hold on either side of that change.
"""

from __future__ import annotations

import inspect
from dataclasses import fields
from typing import Any

from engine.core.clip import LayerClip
from engine.motion.base import MotionRequest


def preset_request(preset: str, **kwargs: Any) -> MotionRequest:
    if "preset" in {f.name for f in fields(MotionRequest)}:
        return MotionRequest(preset=preset, **kwargs)
    params = {**kwargs.pop("params", {}), "preset": preset}
    return MotionRequest(params=params, **kwargs)


def animate_one(animator: Any, request: MotionRequest) -> LayerClip:
    first = next(iter(inspect.signature(animator.animate).parameters))
    return animator.animate([request])[0] if first == "requests" else animator.animate(request)
