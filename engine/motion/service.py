"""The engine service: what the editor and the command line call to animate.

`get_service(name)` returns an Animator like the registry's engine, with the serving
around it that a generative engine needs and the preset engine does not:

- the result cache (engine.motion.result_cache): identical inputs are answered from disk
  and never generated again; a new seed, prompt, box, parameter or model generates;
- one call at a time per device (engine.motion.device_queue), the queue position shown
  through the call's own progress callback, a cancel while waiting leaving the line;
- with `RAY_ADDRESS` set, the call goes to a Ray Serve deployment of the engine on the
  cluster (engine.motion.ray_serving), which runs the same queue on its device; without
  it, the engine runs in this process.

The preset engine is handed out as it is: it is instant, CPU-only and never waits behind
a generation, and its clips are not worth a place in the bounded cache (result_cache).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

from engine.core.clip import LayerClip
from engine.motion.base import Animator, CancelToken, MotionRequest, Progress
from engine.motion.queued import ForwardingAnimator, QueuedAnimator
from engine.motion import registry
from engine.motion.result_cache import current_cache, layer_part, model_identity, result_key

RAY_ADDRESS_ENV = "RAY_ADDRESS"


@dataclass(frozen=True)
class Generative:
    """How one generative engine is served."""

    model_env: str  # the variable naming its model folder (part of the model's identity)
    env: tuple[str, ...]  # the variables it reads, handed to a Ray replica
    per_layer: bool  # each layer generated on its own (cached per layer), or jointly (per call)
    helper_envs: tuple[str, ...] = ()  # other model folders it may use (the learned matte): part of the identity

    def model(self) -> str:
        """The identity of every model folder configured for the engine, for the cache key."""
        main = model_identity(os.environ.get(self.model_env, "").strip() or None)
        helpers = [os.environ.get(name, "").strip() for name in self.helper_envs]
        return "+".join([main, *(model_identity(folder) for folder in helpers if folder)])


#: The engines that go through the cache and the device queue; every other one is handed out as is.
GENERATIVE: dict[str, Generative] = {
    "i2v": Generative("I2V_MODEL", ("I2V_MODEL", "I2V_OFFLOAD", "I2V_DEVICE", "I2V_MATTING_MODEL"), per_layer=True,
                      helper_envs=("I2V_MATTING_MODEL",)),
    "dmdl": Generative("DMDL_CHECKPOINT", ("DMDL_CHECKPOINT", "DMDL_DEVICE"), per_layer=False),
}


REUSED = "Reused the clip made earlier from the same layer, prompt, box, seed and settings: Re-roll for a new take."


class CachedAnimator(ForwardingAnimator):
    """Answers from the result cache what it can, and asks the engine behind it for the rest."""

    def __init__(self, engine: Animator, inner: Animator, spec: Generative) -> None:
        super().__init__(engine)
        self.inner = inner  # the queued engine, or its Ray client
        self.spec = spec

    def _keys(self, requests: Sequence[MotionRequest], group_prompt: str | None) -> list[str]:
        """One key per request: its own (per-layer engines) or the call's, numbered (joint ones)."""
        model = self.spec.model()
        parts = []
        for request in requests:
            params, _ = self.engine.resolve_params(request.params, prompt=request.prompt,
                                                   layer_kind=request.layer.kind)
            parts.append(layer_part(request, params))
        if self.spec.per_layer:
            return [result_key(self.name, model, group_prompt, [part]) for part in parts]
        joint = result_key(self.name, model, group_prompt, parts)
        return [f"{joint}-{index}" for index in range(len(parts))]

    def animate(
        self,
        requests: Sequence[MotionRequest],
        *,
        group_prompt: str | None = None,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> list[LayerClip]:
        requests = list(requests)
        cache = current_cache()
        if not requests or not cache.enabled:
            return self.inner.animate(requests, group_prompt=group_prompt, progress=progress, cancel=cancel)
        keys = self._keys(requests, group_prompt)
        found: list[LayerClip | None] = [cache.get(key) for key in keys]
        if not self.spec.per_layer and not all(found):
            found = [None] * len(requests)  # a joint result is used whole or made again whole
        missing = [index for index, clip in enumerate(found) if clip is None]
        if missing:
            made = self.inner.animate([requests[i] for i in missing], group_prompt=group_prompt,
                                      progress=progress, cancel=cancel)
            for index, clip in zip(missing, made):
                cache.put(keys[index], clip)
                found[index] = clip
        elif progress is not None:
            progress(1, 1, "Reused the earlier result")
        clips: list[LayerClip] = []
        for index, (request, clip) in enumerate(zip(requests, found)):
            assert clip is not None
            if index not in missing:
                clip.layer_id = request.layer.id  # the same pixels may sit in another poster
                clip.messages = [*clip.messages, REUSED]
            clips.append(clip)
        return clips


def ray_address() -> str:
    return os.environ.get(RAY_ADDRESS_ENV, "").strip()


def get_service(name: str) -> Animator:
    """Engine `name` as the editor and the CLI use it: cached, queued and, with RAY_ADDRESS,
    served by Ray; the preset engine as it is."""
    engine = registry.get_engine(name)  # looked up at call time: the registry owns the instances
    spec = GENERATIVE.get(engine.name)
    if spec is None:
        return engine
    address = ray_address()
    if address:
        from engine.motion.ray_serving import RayAnimator

        env = {key: os.environ[key] for key in spec.env if os.environ.get(key, "").strip()}
        inner: Animator = RayAnimator(engine, env, model_identity(env.get(spec.model_env)), address)
    else:
        inner = QueuedAnimator(engine)
    return CachedAnimator(engine, inner, spec)


__all__ = ["GENERATIVE", "CachedAnimator", "Generative", "QueuedAnimator", "RAY_ADDRESS_ENV", "get_service",
           "ray_address"]
