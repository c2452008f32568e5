"""The procedural preset engine: closed-set motions that run on any CPU, instantly.

One module per job: `catalog` (the presets and their parameters), `prompts` (words ->
preset and parameters, and which words chose them), `transforms` / `warps` / `reveal` /
`travel` (loops that go somewhere) / `camera` (push-in, pan) / `surface` (ripple,
caustics, shimmer) / `particles` (what each preset does to the layer, as a FramePlan),
`resample` (FramePlan -> premultiplied frames), `room` (the outline a motion sweeps,
which sizes motion boxes), `stage`, `easing`, and `animator` (the Animator that ties
them together).
"""

from engine.motion.presets.animator import (
    AUTO, PRESET_PARAM, PRESETS, ParamSpec, Preset, PresetAnimator, animate, motion_times,
)

__all__ = ["AUTO", "PRESET_PARAM", "PRESETS", "ParamSpec", "Preset", "PresetAnimator", "animate", "motion_times"]
