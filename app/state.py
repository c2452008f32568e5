"""What one designer is editing: an engine `Project` plus what only the screen needs.

The editor's model is the engine's (engine.core.project): the poster, the timeline, the
motions and the clips live in `state.project`, so what the editor shows, what autosave
keeps and what a project file holds are one thing, written by one schema. The editor keeps
one Motion per layer; layers animated together share a `group` name (and prompt), each
member keeping its own box and seed. Only the screen's own business lives beside it:
selection, the layer being edited, notices, caches.

Handlers work on this plain object rather than on Gradio components, so tests build and
inspect it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.core.clip import LayerClip
from engine.core.history import History
from engine.core.poster import Box, Layer, Poster
from engine.core.project import AUTO_PRESET, Motion, Project, Timeline

DEFAULT_ENGINE = "presets"
__all__ = ["AUTO_PRESET", "DEFAULT_ENGINE", "EditorState", "frames_for"]


def frames_for(fps: int, duration_s: float) -> int:
    """Timeline frames for a duration the designer typed (at least one)."""
    return max(1, int(round(fps * duration_s)))


@dataclass
class EditorState:
    """One session's work (`project`, None until a poster opens) and its screen state."""

    project: Project | None = None
    selection: list[int] = field(default_factory=list)
    active: int | None = None
    notices: list[str] = field(default_factory=list)
    static_rgba: np.ndarray | None = field(default=None, repr=False)  # cache of the still poster
    revision: int = 0  # bumps when another poster opens; names cached canvas pictures
    # The timeline chosen while no poster is open; the next poster starts with it.
    idle_timeline: Timeline = field(default_factory=lambda: Timeline(fps=24, frames=frames_for(24, 2.0)))
    # Undo/redo of this poster's edits (app.history); a new poster starts a new one.
    history: History = field(default_factory=History, repr=False)

    @classmethod
    def for_project(cls, project: Project, **screen) -> "EditorState":
        """The editor on `project`; a group motion becomes one motion per member."""
        project.split_groups()
        return cls(project=project, **screen)

    # ---- the project, read through

    @property
    def poster(self) -> Poster | None:
        return None if self.project is None else self.project.poster

    @property
    def clips(self) -> dict[int, LayerClip]:
        return {} if self.project is None else self.project.clips

    @property
    def motions(self) -> list[Motion]:
        return [] if self.project is None else self.project.motions

    @property
    def source_name(self) -> str:
        return "" if self.project is None else self.project.source or ""

    @property
    def timeline(self) -> Timeline:
        return self.idle_timeline if self.project is None else self.project.timeline

    @timeline.setter
    def timeline(self, timeline: Timeline) -> None:
        if self.project is None:
            self.idle_timeline = timeline
        else:
            self.project.timeline = timeline

    @property
    def fps(self) -> int:
        return self.timeline.fps

    @property
    def frames(self) -> int:
        return self.timeline.frames

    @property
    def duration_s(self) -> float:
        """The timeline in seconds, as the duration field shows it."""
        return round(self.timeline.frames / self.timeline.fps, 3)

    # ---- layers and their motions

    def layer(self, layer_id: int) -> Layer:
        assert self.poster is not None
        return self.poster.layer(int(layer_id))

    def motion_of(self, layer_id: int) -> Motion | None:
        """The layer's motion, or None when it has none yet (nothing is created)."""
        return None if self.project is None else self.project.motion_of(int(layer_id))

    def motion(self, layer_id: int) -> Motion:
        """The layer's motion, created with defaults on first use."""
        assert self.project is not None
        motion = self.project.motion_of(int(layer_id))
        if motion is None:
            motion = Motion(layer_ids=[int(layer_id)], engine=DEFAULT_ENGINE)
            self.project.motions.append(motion)
        return motion

    def motion_box(self, layer_id: int) -> Box:
        motion = self.motion_of(layer_id)
        if motion is not None and motion.box is not None:
            return motion.box
        return self.layer(layer_id).box

    def has_motion(self, layer_id: int) -> bool:
        motion = self.motion_of(layer_id)
        return motion is not None and motion.is_set

    def group_members(self, group: str) -> list[int]:
        """The layers animated together under `group`, in the order they joined."""
        return [i for m in self.motions if m.group == group for i in m.layer_ids]
