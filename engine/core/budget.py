"""One budget for the work a poster may ask for: timeline length and pixel-frames.

Frames stream (a few in memory whatever the poster's size), so memory no longer grows
with frames × canvas; time and disk still do. These ceilings are checked in the engine,
where every surface passes (the editor, the command line, project files), so none of
them can ask for a 20000×20000 canvas at 240 fps for an hour.

The numbers come from the environment, so a studio with a big machine raises them
without a code change: POSTER_MAX_FPS, POSTER_MAX_SECONDS and
POSTER_MAX_GIGAPIXEL_FRAMES (frames × width × height, in billions). The default budget
fits the 26 MP print poster (4400×6000) for 30 s at 24 fps, and a 1080×1350 poster for
30 s at 60 fps many times over.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Mapping

from engine.core.poster import PosterError

DEFAULT_MAX_FPS = 60
DEFAULT_MAX_SECONDS = 30.0
DEFAULT_MAX_GIGAPIXEL_FRAMES = 20.0


@dataclass(frozen=True)
class WorkLimits:
    """Ceilings on one render, animation or export (and on a project file's timeline)."""

    max_fps: int = DEFAULT_MAX_FPS
    max_seconds: float = DEFAULT_MAX_SECONDS
    max_gigapixel_frames: float = DEFAULT_MAX_GIGAPIXEL_FRAMES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "WorkLimits":
        env = os.environ if environ is None else environ
        return cls(
            max_fps=int(_setting(env, "POSTER_MAX_FPS", DEFAULT_MAX_FPS)),
            max_seconds=_setting(env, "POSTER_MAX_SECONDS", DEFAULT_MAX_SECONDS),
            max_gigapixel_frames=_setting(env, "POSTER_MAX_GIGAPIXEL_FRAMES", DEFAULT_MAX_GIGAPIXEL_FRAMES),
        )

    @property
    def max_frames(self) -> int:
        """The longest timeline: max_seconds at max_fps."""
        return int(self.max_fps * self.max_seconds)

    def check_timeline(self, fps: float, frames: int) -> None:
        """PosterError unless `frames` at `fps` is within the frame-rate and length ceilings."""
        if not 1 <= fps <= self.max_fps:
            raise PosterError(f"Frames per second must be between 1 and {self.max_fps}, got {fps:g}.")
        if frames > self.max_frames or frames / fps > self.max_seconds + 1e-9:
            raise PosterError(
                f"The timeline is {frames} frames ({frames / fps:g} s at {fps:g} fps); it may be at most "
                f"{self.max_seconds:g} s and {self.max_frames} frames. Shorten it and try again.")

    def check_work(self, width: int, height: int, frames: int, what: str = "This render") -> None:
        """PosterError when `frames` of width × height pixels exceed the pixel-frame budget."""
        gigapixel_frames = width * height * frames / 1e9
        if gigapixel_frames > self.max_gigapixel_frames:
            fit = max(1, int(self.max_gigapixel_frames * 1e9 / max(1, width * height)))
            raise PosterError(
                f"{what} would make {frames} frames of {width}×{height} px ({width * height / 1e6:.1f} MP), "
                f"{gigapixel_frames:.1f} billion pixels in all, over the budget of {self.max_gigapixel_frames:g} "
                f"billion: use at most {fit} frames at this size (a shorter or slower timeline), or a smaller poster.")


def _setting(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise PosterError(f"{name} must be a positive number, got '{text}'; fix or unset it.")
    return value


def work_limits() -> WorkLimits:
    """The limits in force now (read from the environment on each call: cheap, and tests can set them)."""
    return WorkLimits.from_env()
