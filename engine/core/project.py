"""Save and reopen a whole editing session in one file.

A project file is a zip: `project.json` (a versioned manifest of the poster, the
timeline, the motions and the clips) plus lossless payloads, each layer's pixels as a PNG
and each generated clip as deflated raw frames, one member per frame, written one at a
time and read back lazily (engine.core.clipstore). No pickle anywhere: project files get mailed
around, and opening one must never run code from it.

Saving is atomic (temporary file in the same folder, fsync, `os.replace`), so a crash or a
full disk mid-save leaves the previous project intact. Loading checks everything it reads
and reports a damaged, truncated, foreign or too-new file with one clear PosterError.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.core.atomic import atomic_output
from engine.core.clip import LOOP_MODES, LayerClip
from engine.core.clipstore import ENCODING, open_stored_clip, write_clip_frames
from engine.core.jsonable import json_default
from engine.core.poster import Box, Layer, LayerKind, Poster, PosterError

PROJECT_FORMAT = "poster-animator-project"
#: Bump when the manifest changes meaning; readers refuse versions newer than theirs.
SCHEMA_VERSION = 1
#: The extension the editor offers; any name loads.
PROJECT_SUFFIX = ".posterproj"
MANIFEST = "project.json"
#: Refuse members that claim more than this once unpacked (a hostile zip could claim TBs).
MAX_MEMBER_BYTES = 4 << 30


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


@dataclass
class Motion:
    """What the designer asked for one animated layer, or one group of layers.

    `layer_ids` holds one id for a layer motion, or every member for a group motion
    (then `group` names the group, e.g. "Sky / Clouds", and `prompt` is shared). `box` is
    the motion box in poster pixels, None until drawn or planned. `params` are the
    engine's own settings and must be JSON values (tuples come back as lists).
    """

    layer_ids: list[int]
    engine: str = "presets"
    prompt: str = ""
    preset: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    box: Box | None = None
    seed: int = 0
    start_offset: int = 0
    loop: str = "loop"
    group: str | None = None

    def __post_init__(self) -> None:
        self.layer_ids = [int(i) for i in self.layer_ids]
        if not self.layer_ids:
            raise PosterError("A motion must animate at least one layer.")
        if self.box is not None:
            self.box = Box.from_any(self.box)
        if self.loop not in LOOP_MODES:
            raise PosterError(f"Loop mode must be one of {', '.join(LOOP_MODES)}; got {self.loop!r}.")
        if self.start_offset < 0:
            raise PosterError("A start offset cannot be negative.")


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

    def __post_init__(self) -> None:
        known = {layer.id for layer in self.poster.layers}
        for motion in self.motions:
            missing = [i for i in motion.layer_ids if i not in known]
            if missing:
                raise PosterError(f"A motion refers to layer {missing[0]}, which this poster does not have.")
        for layer_id, clip in self.clips.items():
            if layer_id not in known or clip.layer_id != layer_id:
                raise PosterError(f"A clip refers to layer {layer_id}, which this poster does not have.")


# ---------------------------------------------------------------- saving


def save_project(project: Project, path: str | os.PathLike) -> Path:
    """Write `project` to `path` in one atomic step; returns the path."""
    manifest = {
        "format": PROJECT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "source": project.source,
        "timeline": {"fps": project.timeline.fps, "frames": project.timeline.frames},
        "poster": {
            "name": project.poster.name,
            "width": project.poster.width,
            "height": project.poster.height,
            "unsupported": list(project.poster.unsupported),
            "layers": [_layer_manifest(layer) for layer in project.poster.layers],
        },
        "motions": [_motion_manifest(motion) for motion in project.motions],
        "clips": [_clip_manifest(clip) for clip in project.clips.values()],
    }
    try:
        text = json.dumps(manifest, indent=1, allow_nan=False, default=json_default)
    except (TypeError, ValueError) as error:
        raise PosterError(f"This project holds a setting that cannot be saved ({error}).") from None
    with atomic_output(path, fsync=True) as temp, zipfile.ZipFile(temp, "w") as archive:
        archive.writestr(MANIFEST, text, compress_type=zipfile.ZIP_DEFLATED)
        for layer in project.poster.layers:
            archive.writestr(_layer_member(layer), _pixels_bytes(layer.pixels), compress_type=zipfile.ZIP_STORED)
        for clip in project.clips.values():
            write_clip_frames(archive, _clip_member(clip.layer_id), clip)  # frame by frame, deflated
    return Path(path)


def _layer_member(layer: Layer) -> str:
    # Pillow cannot write a zero-sized PNG; an empty layer is kept as an array instead.
    return f"layers/{layer.id}.npy" if layer.box.is_empty else f"layers/{layer.id}.png"


def _clip_member(layer_id: int) -> str:
    """The folder of a clip's frames (engine.core.clipstore); files before streaming held one
    `clips/<id>.npy` array instead, which loading still accepts."""
    return f"clips/{layer_id}"


def _pixels_bytes(pixels: np.ndarray) -> bytes:
    if 0 in pixels.shape:
        return _npy_bytes(pixels)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _box(box: Box | None) -> list[int] | None:
    return None if box is None else list(box.as_tuple())


def _layer_manifest(layer: Layer) -> dict[str, Any]:
    return {
        "id": layer.id, "name": layer.name, "box": _box(layer.box), "kind": layer.kind.value,
        "group_path": list(layer.group_path), "opacity": layer.opacity, "blend_mode": layer.blend_mode,
        "visible": layer.visible, "text": layer.text, "fonts": list(layer.fonts),
        "unsupported": list(layer.unsupported), "pixels": _layer_member(layer),
    }


def _motion_manifest(motion: Motion) -> dict[str, Any]:
    return {
        "layer_ids": motion.layer_ids, "engine": motion.engine, "prompt": motion.prompt,
        "preset": motion.preset, "params": motion.params, "box": _box(motion.box), "seed": motion.seed,
        "start_offset": motion.start_offset, "loop": motion.loop, "group": motion.group,
    }


def _clip_manifest(clip: LayerClip) -> dict[str, Any]:
    return {
        "layer_id": clip.layer_id, "box": _box(clip.box), "engine": clip.engine, "preset": clip.preset,
        "params": clip.params, "messages": list(clip.messages), "frames": _clip_member(clip.layer_id),
        "frame_count": clip.frame_count, "encoding": ENCODING, "loop_mode": clip.loop_mode,
    }


# ---------------------------------------------------------------- loading


def load_project(path: str | os.PathLike) -> Project:
    """Read a project saved by `save_project`; a bad file raises PosterError, never worse."""
    path = Path(path)
    if not path.is_file():
        raise PosterError(f"There is no project file at '{path}'.")
    damaged = (
        f"The project file '{path.name}' is damaged or incomplete and cannot be opened; "
        "use an earlier copy or start again from the PSD."
    )
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = _read_manifest(archive, path.name)
            return _project_from(manifest, _Payloads(archive, path))
    except PosterError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError, TypeError,
            ValueError, AttributeError, IndexError, Image.DecompressionBombError):
        raise PosterError(damaged) from None


def _read_manifest(archive: zipfile.ZipFile, name: str) -> dict[str, Any]:
    if MANIFEST not in archive.namelist():
        raise PosterError(f"'{name}' is not a poster project (it has no {MANIFEST}).")
    manifest = json.loads(_read(archive, MANIFEST))
    if not isinstance(manifest, dict) or manifest.get("format") != PROJECT_FORMAT:
        raise PosterError(f"'{name}' is not a poster project saved by this editor.")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError("schema_version")
    if version > SCHEMA_VERSION:
        raise PosterError(
            f"'{name}' was saved by a newer version of the editor (project format {version}; "
            f"this one reads up to {SCHEMA_VERSION}): update the editor to open it."
        )
    return manifest


def _read(archive: zipfile.ZipFile, member: str) -> bytes:
    info = archive.getinfo(member)
    if info.file_size > MAX_MEMBER_BYTES:
        raise ValueError(f"{member} is implausibly large")
    return archive.read(info)  # checks the CRC: flipped bytes raise BadZipFile


class _Payloads:
    """Pixel arrays out of the archive, each checked against the shape the manifest promises."""

    def __init__(self, archive: zipfile.ZipFile, path: Path) -> None:
        self.archive = archive
        self.path = path

    def pixels(self, member: str, box: Box) -> np.ndarray:
        data = _read(self.archive, member)
        if member.endswith(".png"):
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                if image.mode != "RGBA":
                    raise ValueError(f"{member} is not RGBA")
                array = np.asarray(image).copy()
        else:
            array = self._npy(data)
        return self._checked(array, (box.h, box.w, 4), member)

    def frames(self, member: str, box: Box, count: int) -> np.ndarray:
        """A whole-clip array: only project files saved before clips were streamed."""
        return self._checked(self._npy(_read(self.archive, member)), (count, box.h, box.w, 4), member)

    @staticmethod
    def _npy(data: bytes) -> np.ndarray:
        return np.load(io.BytesIO(data), allow_pickle=False)

    @staticmethod
    def _checked(array: np.ndarray, shape: tuple[int, ...], member: str) -> np.ndarray:
        if array.dtype != np.uint8 or array.shape != shape:
            raise ValueError(f"{member} has shape {array.shape}, expected {shape}")
        return array


def _box_from(value: Any) -> Box | None:
    return None if value is None else Box(*value)


def _project_from(manifest: dict[str, Any], payloads: _Payloads) -> Project:
    poster_data = manifest["poster"]
    layers = []
    for entry in poster_data["layers"]:
        box = _box_from(entry["box"])
        layers.append(
            Layer(
                id=int(entry["id"]), name=str(entry["name"]), box=box,
                pixels=payloads.pixels(entry["pixels"], box), kind=LayerKind(entry["kind"]),
                group_path=tuple(entry["group_path"]), opacity=float(entry["opacity"]),
                blend_mode=entry["blend_mode"], visible=bool(entry["visible"]), text=entry["text"],
                fonts=tuple(entry["fonts"]), unsupported=tuple(entry["unsupported"]),
            )
        )
    poster = Poster(
        width=int(poster_data["width"]), height=int(poster_data["height"]), layers=layers,
        name=str(poster_data["name"]), unsupported=list(poster_data["unsupported"]),
    )
    timeline = Timeline(**manifest["timeline"])
    motions = [Motion(**{**entry, "box": _box_from(entry["box"])}) for entry in manifest["motions"]]
    clips = {}
    for entry in manifest["clips"]:
        box = _box_from(entry["box"])
        meta = dict(engine=entry["engine"], preset=entry["preset"], params=entry["params"],
                    messages=list(entry["messages"]), loop_mode=entry.get("loop_mode", "loop"))
        if str(entry["frames"]).endswith(".npy"):
            frames = payloads.frames(entry["frames"], box, int(entry["frame_count"]))
            clip = LayerClip(layer_id=int(entry["layer_id"]), box=box, frames=frames, **meta)
        else:  # read lazily, frame by frame, from the project file
            clip = open_stored_clip(payloads.path, entry["frames"], layer_id=int(entry["layer_id"]), box=box,
                                    frame_count=int(entry["frame_count"]),
                                    encoding=entry.get("encoding", ENCODING), **meta)
        clips[int(entry["layer_id"])] = clip
    return Project(poster=poster, timeline=timeline, motions=motions, clips=clips, source=manifest["source"])
