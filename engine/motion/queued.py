"""An engine behind its device's queue, and the forwarding every serving wrapper shares.

Kept apart from engine.motion.service so the Ray replica (engine.motion.ray_serving) runs
the very same queued engine without importing the service that chooses Ray.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from engine.core.clip import LayerClip
from engine.core.poster import LayerKind
from engine.motion.base import Animator, CancelToken, MotionRequest, Progress
from engine.motion.device_queue import device_queue
from engine.motion.params import ParamSpec


class ForwardingAnimator:
    """An Animator that forwards everything but `animate` to the engine it wraps."""

    def __init__(self, engine: Animator) -> None:
        self.engine = engine
        self.name = engine.name
        self.label = engine.label

    def available(self) -> tuple[bool, str]:
        return self.engine.available()

    def param_specs(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> list[ParamSpec]:
        return self.engine.param_specs(params, prompt=prompt, layer_kind=layer_kind, full_bleed=full_bleed)

    def resolve_params(
        self, params: Mapping[str, Any] | None = None, *, prompt: str = "", layer_kind: LayerKind | None = None,
        full_bleed: bool = False,
    ) -> tuple[dict[str, Any], list[str]]:
        return self.engine.resolve_params(params, prompt=prompt, layer_kind=layer_kind, full_bleed=full_bleed)

    def release(self) -> None:
        self.engine.release()

    def __getattr__(self, attribute: str) -> Any:
        """device, loaded, pipeline…: the engine's own (only names not found on the wrapper get here)."""
        if attribute == "engine":  # not set yet (mid-construction or unpickling)
            raise AttributeError(attribute)
        return getattr(self.engine, attribute)


class QueuedAnimator(ForwardingAnimator):
    """The engine, one call at a time on its device, waiting calls told their position."""

    def animate(
        self,
        requests: Sequence[MotionRequest],
        *,
        group_prompt: str | None = None,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> list[LayerClip]:
        with device_queue(getattr(self.engine, "device", None)).turn(progress, cancel):
            return self.engine.animate(requests, group_prompt=group_prompt, progress=progress, cancel=cancel)


__all__ = ["ForwardingAnimator", "QueuedAnimator"]
