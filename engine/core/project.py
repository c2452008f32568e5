"""The project model: what a designer is making, independent of any screen or file.

A `Project` is a poster, its timeline, the motions asked for and the clips generated. The
editor's state wraps one (app.state), the command line builds one, and one schema
(engine.core.schema) writes it to project files, autosave and bundle manifests; the file
itself is engine.core.projectfile. A new Motion field is added here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from engine.core.clip import LOOP_MODES, LayerClip, check_phase
from engine.core.links import active_followers, detect_links
from engine.core.poster import Box, Poster, PosterError

#: `params["preset"]` absent or this: the preset engine picks the preset from the prompt.
AUTO_PRESET = "auto"



@dataclass
class Timeline:
    """How long the animated poster runs: `frames` at `fps` (49 at 24 = about 2 s)."""

    fps: int = 24
    frames: int = 49

    def __post_init__(self) -> None:
        if not isinstance(self.fps, int) or not 1 <= self.fps <= 240:
            raise PosterError(f"Frames per second must be a whole number from 1 to 240, got {self.fps!r}.")
        if not isinstance(self.frames, int) or self.frames < 1:
            raise PosterError(f"A timeline needs at least one frame, got {self.frames!r}.")

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


#: The longest motion prompt (characters): a sentence or two, never a document to plan from.
MAX_PROMPT_CHARS = 1000


def check_prompt(prompt: str) -> str:
    """`prompt`, or PosterError when it is longer than MAX_PROMPT_CHARS."""
    if len(prompt) > MAX_PROMPT_CHARS:
        raise PosterError(f"A motion prompt may be at most {MAX_PROMPT_CHARS} characters (this one has "
                          f"{len(prompt)}): describe the motion in a sentence or two.")
    return prompt


@dataclass
class Motion:
    """What the designer asked for one animated layer, or one group of layers.

    `layer_ids` holds one id for a layer motion, or every member for a group motion
    (then `group` names the group, e.g. "Sky / Clouds", and `prompt` is shared). The editor
    keeps one Motion per layer and marks group members by a shared `group` name, so each
    member keeps its own box and seed. `box` is the motion box in poster pixels, None
    until drawn or planned. `params` are the engine's own settings and must be JSON values
    (tuples come back as lists); the preset engine reads its preset from `params["preset"]`
    (absent or "auto": chosen from the prompt).

    How the box came about is part of the motion, not of the screen, so it survives a
    project file: `planned_by` ("llm", "heuristic", or "" when drawn or typed) and its
    `rationale`; `box_sized` marks a box Animate sized for the preset, which follows the
    next prompt or amplitude (a drawn or planned box stays as it is).
    """

    layer_ids: list[int]
    engine: str = "presets"
    prompt: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    box: Box | None = None
    seed: int = 0
    phase: str | None = None
    start: int | None = None
    duration: int | None = None
    loop: str = "loop"
    group: str | None = None
    planned_by: str = ""
    rationale: str = ""
    box_sized: bool = False

    def __post_init__(self) -> None:
        self.layer_ids = [int(i) for i in self.layer_ids]
        if not self.layer_ids:
            raise PosterError("A motion must animate at least one layer.")
        if self.box is not None:
            self.box = Box.from_any(self.box)
        if self.loop not in LOOP_MODES:
            raise PosterError(f"Loop mode must be one of {', '.join(LOOP_MODES)}; got {self.loop!r}.")
        if self.phase is not None:
            check_phase(self.phase)
        if self.start is not None and self.start < 0:
            raise PosterError("A motion cannot start before the first frame: give a start of 0 or more.")
        if self.duration is not None and self.duration < 1:
            raise PosterError("A motion must last at least one frame: give a longer duration.")
        check_prompt(self.prompt)

    @property
    def preset(self) -> str:
        """The preset asked for: a name, or AUTO_PRESET (read-only view of `params`)."""
        return str(self.params.get("preset") or AUTO_PRESET)

    @property
    def is_set(self) -> bool:
        """Whether the designer asked for anything (a prompt or a chosen preset)."""
        return bool(self.prompt.strip()) or self.preset != AUTO_PRESET


@dataclass
class Project:
    """An editing session: the poster, its timeline, the requested motions and their clips.

    `clips` maps a layer id to the clip generated for it; a layer can have a motion and no
    clip yet (not animated since its prompt changed). `source` remembers the PSD's path.
    """

    poster: Poster
    timeline: Timeline = field(default_factory=Timeline)
    motions: list[Motion] = field(default_factory=list)
    clips: dict[int, LayerClip] = field(default_factory=dict)
    source: str | None = None
    #: follower id -> owner id (engine.core.links); None: detected from the poster now.
    links: dict[int, int] | None = None
    #: followers the designer unlinked: they stay still when their owner moves.
    unlinked: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        known = {layer.id for layer in self.poster.layers}
        if self.links is None:
            self.links = {f: link.owner for f, link in detect_links(self.poster).items()}
        self.links = {int(f): int(o) for f, o in self.links.items() if int(f) in known and int(o) in known}
        self.unlinked = sorted({int(i) for i in self.unlinked if int(i) in self.links})
        for motion in self.motions:
            missing = [i for i in motion.layer_ids if i not in known]
            if missing:
                raise PosterError(f"A motion refers to layer {missing[0]}, which this poster does not have.")
        for layer_id, clip in self.clips.items():
            if layer_id not in known or clip.layer_id != layer_id:
                raise PosterError(f"A clip refers to layer {layer_id}, which this poster does not have.")

    def motion_of(self, layer_id: int) -> Motion | None:
        """The motion that animates `layer_id` (alone or in a group), if any."""
        for motion in self.motions:
            if int(layer_id) in motion.layer_ids:
                return motion
        return None

    def followers(self) -> dict[int, list[int]]:
        """owner id -> the followers that move with it (unlinked ones left out)."""
        return active_followers(self.links or {}, self.unlinked)

    def owner_of(self, layer_id: int) -> int | None:
        """The layer `layer_id` follows, or None (not linked, or unlinked by the designer)."""
        layer_id = int(layer_id)
        if layer_id in self.unlinked:
            return None
        return (self.links or {}).get(layer_id)

    def set_linked(self, follower: int, linked: bool) -> None:
        """Unlink a follower (it stays still when its owner moves) or link it back."""
        follower = int(follower)
        if follower not in (self.links or {}):
            raise PosterError("That layer is not linked to another layer: there is nothing to unlink or relink.")
        unlinked = set(self.unlinked)
        (unlinked.discard if linked else unlinked.add)(follower)
        self.unlinked = sorted(unlinked)

    def split_groups(self) -> None:
        """One Motion per layer, group members sharing the `group` name (the editor's form)."""
        split: list[Motion] = []
        for motion in self.motions:
            if len(motion.layer_ids) == 1:
                split.append(motion)
                continue
            group = motion.group or "group-" + "-".join(map(str, sorted(motion.layer_ids)))
            split.extend(replace(motion, layer_ids=[i], group=group, params=dict(motion.params))
                         for i in motion.layer_ids)
        self.motions = split
