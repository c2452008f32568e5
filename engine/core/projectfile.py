"""Save and reopen a whole editing session in one file.

A project file is a zip: `project.json` (the schema's ProjectManifest: poster, timeline,
motions, clips) plus lossless payloads, each layer's pixels as a PNG and each generated
clip as deflated raw frames, one member per frame, written one at a time and read back
lazily (engine.core.clipstore; files before schema 3 hold one `.npy` per clip, still
read). No pickle anywhere: project files get mailed around, and opening
one must never run code from it.

Saving is atomic (temporary file in the same folder, fsync, `os.replace`), so a crash or a
full disk mid-save leaves the previous project intact. Loading reads and checks the whole
file before it returns anything, and reports a damaged, truncated, foreign or too-new file
with one clear PosterError.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from engine.core import schema
from engine.core.atomic import atomic_output
from engine.core.budget import WorkLimits
from engine.core.clip import LayerClip, SequenceStep, Timing
from engine.core.clipstore import ENCODING, open_stored_clip, write_clip_frames
from engine.core.poster import Box, Layer, Poster, PosterError
from engine.core.project import Project
from engine.psd.isolation import run_capped
from engine.psd.limits import ImportLimits, check_tree

#: The extension the editor offers; any name loads.
PROJECT_SUFFIX = ".posterproj"
MANIFEST = "project.json"
#: Refuse members that claim more than this once unpacked (a hostile zip could claim TBs).
MAX_MEMBER_BYTES = 4 << 30
#: What a project's members may unpack to in all (POSTER_MAX_PROJECT_GB overrides).
DEFAULT_MAX_UNPACKED_GB = 16.0


# ---------------------------------------------------------------- saving


def manifest_of(project: Project) -> schema.ProjectManifest:
    """The project's manifest, naming the archive members that hold its pixels."""
    layer_names = set(schema.LayerFields)
    poster = project.poster
    return schema.ProjectManifest(
        source=project.source,
        timeline=project.timeline,
        poster=schema.PosterEntry(
            name=poster.name, width=poster.width, height=poster.height, unsupported=list(poster.unsupported),
            layers=[schema.LayerEntry(**{k: getattr(layer, k) for k in layer_names}, pixels=_layer_member(layer))
                    for layer in poster.layers],
        ),
        motions=project.motions,
        clips=[clip_entry(clip, _clip_member(clip.layer_id)) for clip in project.clips.values()],
        links=project.links, unlinked=project.unlinked,
    )


def clip_entry(clip: LayerClip, member: str, encoding: str | None = ENCODING) -> schema.ClipEntry:
    """A clip's settings for a manifest; its frames live in `member` (a folder of frames
    for `encoding` ENCODING, a single .npy array for None)."""
    return schema.ClipEntry(
        layer_id=clip.layer_id, box=clip.box, engine=clip.engine, preset=clip.preset,
        params=clip.params, messages=list(clip.messages), frames=member, frame_count=clip.frame_count,
        encoding=encoding, loop_mode=clip.loop_mode, **clip.timing.fields(), **clip.steps_fields(),
    )


def save_project(project: Project, path: str | os.PathLike) -> Path:
    """Write `project` to `path` in one atomic step; returns the path."""
    text = schema.dump(manifest_of(project))
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
    """The folder of a clip's frames inside the project file."""
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


# ---------------------------------------------------------------- loading


@dataclass(frozen=True)
class ProjectLimits:
    """What opening a project file may cost: the PSD import's ceilings (side, megapixels,
    layers, file size, the capped child's memory and time), the work budget (fps, length,
    pixel-frames) and the bytes its members may unpack to (a zip bomb claims little on disk)."""

    imports: ImportLimits = field(default_factory=ImportLimits)
    work: WorkLimits = field(default_factory=WorkLimits.from_env)
    max_unpacked_gb: float = field(default_factory=lambda: _unpacked_setting(os.environ))
    max_manifest_mb: float = 16.0


def _unpacked_setting(environ) -> float:
    text = environ.get("POSTER_MAX_PROJECT_GB", "").strip()
    try:
        value = float(text) if text else DEFAULT_MAX_UNPACKED_GB
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise PosterError(f"POSTER_MAX_PROJECT_GB must be a positive number, got '{text}'; fix or unset it.")
    return value


def load_project(path: str | os.PathLike, limits: ProjectLimits | None = None) -> Project:
    """Read a project saved by `save_project` (any schema version up to ours).

    The file is first read and checked as a whole (every limit, every layer's pixels) in a
    child process capped like a PSD import, so a hostile file costs that child, not the
    editor; then it is opened here, where it can no longer surprise. A bad file raises
    PosterError, never worse, and nothing half-read escapes.
    """
    path = Path(path)
    limits = ProjectLimits() if limits is None else limits
    if not path.is_file():
        raise PosterError(f"There is no project file at '{path}'.")
    size_mb = path.stat().st_size / 1024 / 1024
    if size_mb > limits.imports.max_file_mb:
        raise PosterError(
            f"The project file '{path.name}' is {size_mb:.0f} MB, over the {limits.imports.max_file_mb:.0f} MB "
            "limit: remove animations you do not need, save it again, and try again.")
    if limits.imports.isolate:
        run_capped(_check_project_file, (path, limits), path.name, limits.imports)
    return _open_project(path, limits)


def _check_project_file(path: Path, limits: ProjectLimits) -> None:
    """Everything `_open_project` does, plus decoding every payload; returns nothing (runs in the child)."""
    project = _open_project(path, limits)
    del project


def _open_project(path: Path, limits: ProjectLimits) -> Project:
    damaged = (
        f"The project file '{path.name}' is damaged or incomplete and cannot be opened; "
        "use an earlier copy or start again from the PSD."
    )
    try:
        with zipfile.ZipFile(path) as archive:
            if MANIFEST not in archive.namelist():
                raise PosterError(f"'{path.name}' is not a poster project (it has no {MANIFEST}).")
            _check_unpacked(archive, path.name, limits)
            if archive.getinfo(MANIFEST).file_size > limits.max_manifest_mb * 1024 * 1024:
                raise PosterError(damaged)
            manifest = schema.load(_read(archive, MANIFEST), schema.ProjectManifest, name=path.name)
            check_manifest(manifest, path.name, limits)
            project = project_from(manifest, _Payloads(archive, path, limits))
    except PosterError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError, TypeError,
            ValueError, AttributeError, IndexError, RecursionError, Image.DecompressionBombError):
        raise PosterError(damaged) from None
    return project


def _check_unpacked(archive: zipfile.ZipFile, name: str, limits: ProjectLimits) -> None:
    """Refuse a file whose members claim more bytes than `max_unpacked_gb` once unpacked."""
    total = sum(info.file_size for info in archive.infolist())
    if total > limits.max_unpacked_gb * 1e9:
        raise PosterError(
            f"'{name}' unpacks to {total / 1e9:.1f} GB, over the {limits.max_unpacked_gb:g} GB a project may hold: "
            "it is not a project this editor saved, or its animations are far too long; open the PSD instead.")


def check_manifest(manifest: schema.ProjectManifest, name: str, limits: ProjectLimits) -> None:
    """The PSD import's ceilings and the work budget, applied to what the manifest declares."""
    poster = manifest.poster
    imports = limits.imports
    width, height = poster.width, poster.height
    if width < 1 or height < 1:
        raise PosterError(f"'{name}' declares an empty canvas ({width}×{height}): the file is damaged.")
    if max(width, height) > imports.max_side or width * height / 1e6 > imports.max_megapixels:
        raise PosterError(
            f"'{name}' is a {width}×{height} px poster ({width * height / 1e6:.0f} MP); projects, like PSDs, may be "
            f"at most {imports.max_side} px a side and {imports.max_megapixels:g} MP: open a smaller copy of the PSD.")
    check_tree(name, len(poster.layers), 0, imports)
    for layer in poster.layers:
        check_area(layer.box, f"layer '{layer.name}'", name, imports)
    timeline = manifest.timeline
    limits.work.check_timeline(timeline.fps, timeline.frames)
    limits.work.check_work(poster.width, poster.height, timeline.frames, f"'{name}'")
    for clip in manifest.clips:
        check_clip_entry(clip, name, limits)


def check_clip_entry(entry: schema.ClipEntry, name: str, limits: ProjectLimits) -> None:
    """A stored clip's box and length within the limits (its frames are read one at a time)."""
    check_area(entry.box, f"the clip of layer {entry.layer_id}", name, limits.imports)
    if entry.frame_count > limits.work.max_frames:
        raise PosterError(f"'{name}' holds a clip of {entry.frame_count} frames, over the {limits.work.max_frames} "
                          "a timeline may have: the file is damaged or not from this editor.")
    limits.work.check_work(entry.box.w, entry.box.h, entry.frame_count, f"The clip of layer {entry.layer_id} in '{name}'")


def check_area(box: Box, what: str, name: str, limits: ImportLimits) -> None:
    if max(box.w, box.h) > limits.max_side or box.w * box.h / 1e6 > limits.max_megapixels:
        raise PosterError(
            f"In '{name}', {what} is {box.w}×{box.h} pixels, over the import limits "
            f"({limits.max_side} px a side, {limits.max_megapixels:g} MP): the file is damaged or not from this editor.")


def _read(archive: zipfile.ZipFile, member: str) -> bytes:
    info = archive.getinfo(member)
    if info.file_size > MAX_MEMBER_BYTES:
        raise ValueError(f"{member} is implausibly large")
    return archive.read(info)  # checks the CRC: flipped bytes raise BadZipFile


class _Payloads:
    """Pixel arrays out of the archive, each checked against the shape the manifest promises."""

    def __init__(self, archive: zipfile.ZipFile, path: Path, limits: ProjectLimits) -> None:
        self.archive = archive
        self.path = path
        self.limits = limits

    def pixels(self, member: str, box: Box) -> np.ndarray:
        if self.archive.getinfo(member).file_size > box.w * box.h * 4 + (1 << 20) + box.h * 8:
            raise ValueError(f"{member} is larger than its layer")  # raw pixels plus PNG framing, at most
        data = _read(self.archive, member)
        if member.endswith(".png"):
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                if image.size != (box.w, box.h):
                    raise ValueError(f"{member} is {image.size}, expected {(box.w, box.h)}")
                if image.mode != "RGBA":
                    raise ValueError(f"{member} is not RGBA")
                array = np.asarray(image).copy()
        else:
            array = npy_array(data)
        return checked(array, (box.h, box.w, 4), member)

    def clip(self, entry: schema.ClipEntry) -> LayerClip:
        """A clip read lazily from the project file (a schema-1/2 file's .npy at once)."""
        if entry.encoding is None:  # the whole clip in memory: held to one import's memory budget
            if entry.frame_count * entry.box.w * entry.box.h * 4 > self.limits.imports.max_memory_mb * 1024 * 1024:
                raise PosterError(f"'{self.path.name}' holds an old-style clip too large to open; "
                                  "open it in the editor version that saved it and save it again.")
            frames = checked(npy_array(_read(self.archive, entry.frames)),
                             (entry.frame_count, entry.box.h, entry.box.w, 4), entry.frames)
            return clip_from(entry, frames)
        return clip_from(entry, None, self.path)


def npy_array(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def checked(array: np.ndarray, shape: tuple[int, ...], member: str) -> np.ndarray:
    """`array` if it is uint8 of `shape`; ValueError (a damaged file) otherwise."""
    if array.dtype != np.uint8 or array.shape != shape:
        raise ValueError(f"{member} has shape {array.shape}, expected {shape}")
    return array


def clip_from(entry: schema.ClipEntry, frames: np.ndarray | None, path: Path | None = None) -> LayerClip:
    """The clip an entry describes: over `frames` in memory, or stored under `entry.frames`
    in the zip at `path` (read frame by frame, when the compositor asks)."""
    meta = dict(engine=entry.engine, preset=entry.preset, params=dict(entry.params),
                messages=list(entry.messages), loop_mode=entry.loop_mode, timing=Timing.of(entry),
                steps=tuple(SequenceStep.of(step) for step in entry.steps))
    if frames is not None:
        return LayerClip(layer_id=entry.layer_id, box=entry.box, frames=frames, **meta)
    assert path is not None and entry.encoding is not None
    return open_stored_clip(path, entry.frames, layer_id=entry.layer_id, box=entry.box,
                            frame_count=entry.frame_count, encoding=entry.encoding, **meta)


def project_from(manifest: schema.ProjectManifest, payloads: _Payloads) -> Project:
    poster_entry = manifest.poster
    layers = []
    for entry in poster_entry.layers:
        fields = entry.model_dump(exclude={"pixels"})
        fields["box"] = entry.box
        fields["style"] = entry.style  # a dataclass again, not the dict model_dump makes
        layers.append(Layer(**fields, pixels=payloads.pixels(entry.pixels, entry.box)))
    poster = Poster(width=poster_entry.width, height=poster_entry.height, layers=layers,
                    name=poster_entry.name, unsupported=list(poster_entry.unsupported))
    clips = {entry.layer_id: payloads.clip(entry) for entry in manifest.clips}
    return Project(poster=poster, timeline=manifest.timeline, motions=list(manifest.motions), clips=clips,
                   source=manifest.source, links=manifest.links, unlinked=list(manifest.unlinked))
