"""The layered bundle: every layer as its own file plus a manifest to rebuild the poster.

A compositor in another tool (After Effects, Premiere, a web page) needs each animated
layer as a transparent clip, each static layer as a still, and where/how to stack them.
The zip holds:

    manifest.json            canvas, fps, frames, and one entry per layer in paint order
    preview.mp4              the flat poster, for a quick look
    layers/NN_name.png       a static layer, cropped to its box
    layers/NN_name.webm      an animated layer, VP9 with alpha, in its motion box
    layers/NN_name.mov       the same as ProRes 4444 with alpha
    layers/NN_name/frame_00000.png ...   the same as a PNG sequence

The WebM of a layer with an odd width or height has one extra transparent column or row
(VP9 needs even sizes; `webm_size` says so); place it at the motion box's corner as usual.
Animated layers are written for the whole timeline (a shorter clip continues per its
loop mode, as in the preview), so every file lines up frame for frame with preview.mp4.
Everything is written frame by frame from streams: the bundle never holds a whole video.
A styled layer (drop shadow, stroke, overlays…) is written with its style drawn in, on
every frame from that frame's alpha; its entry's `box` / `motion_box` are where those
files sit and its `style` carries the parameters, so a tool can use the styled files or
redraw the style itself.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from engine.core.atomic import atomic_output, check_output_folder
from engine.core.stream import FrameStream
from engine.export.frames import Progress, as_stream, check_fps, even_size, parse_color
from engine.export.sequence import add_png_sequence, png_bytes
from engine.export.video import write_mp4, write_prores, write_webm
from engine.core import schema
from engine.core.clip import LayerClip
from engine.core.links import FOLLOWS_PARAM
from engine.core.poster import Layer, Poster, PosterError
from engine.render.effects import styled_clip, styled_layer

MANIFEST = "manifest.json"

#: What the writers accept: a stream, an array, or a callable making either (a deferred render).
Frames = FrameStream | np.ndarray | Callable[[], "FrameStream | np.ndarray"]


def layer_slug(z: int, name: str) -> str:
    """A file-system-safe, sortable name: '03_hot-air-balloon'."""
    words = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "layer"
    return f"{z:02d}_{words[:40]}"


def timeline_frames(clip: LayerClip, count: int, fps: float | None = None) -> FrameStream:
    """The clip over `count` timeline frames, continuing per its loop mode as the compositor does."""
    return FrameStream.of_clip(clip, count, fps)


def check_clips(poster: Poster, clips: Mapping[int, LayerClip]) -> None:
    for layer_id, clip in clips.items():
        poster.layer(int(layer_id))  # raises a PosterError naming the missing id
        if clip.layer_id != layer_id:
            raise PosterError(
                f"The clip stored for layer {layer_id} belongs to layer {clip.layer_id}: "
                "animate the layer again."
            )


def layer_entry(z: int, layer: Layer, clip: LayerClip | None, files: dict[str, str]) -> Any:
    """One manifest entry (schema.BundleLayer): everything needed to place this layer again."""
    fields = {name: getattr(layer, name) for name in schema.LayerFields}
    entry = schema.BundleLayer(**fields, z=z, animated=clip is not None, files=files)
    if clip is not None:
        # VP9 needs even sizes: an odd box gains a transparent line at the right/bottom
        width, height = even_size(clip.box.w, clip.box.h)
        entry.motion_box = clip.box
        entry.webm_size = schema.Size(w=width, h=height)
        entry.motion = schema.BundleMotion(
            engine=clip.engine, preset=clip.preset, params=clip.params, clip_frames=clip.frame_count,
            loop_mode=clip.loop_mode, **clip.timing.fields(), **clip.steps_fields())
    return entry


def _links(clips: Mapping[int, LayerClip]) -> dict[str, Any]:
    """The manifest's `links` (follower -> owner) from the clips made by following a layer;
    nothing at all when no clip follows another, so plain bundles keep their manifest."""
    links = {int(layer_id): int(clip.params[FOLLOWS_PARAM]) for layer_id, clip in clips.items()
             if clip.params.get(FOLLOWS_PARAM) is not None}
    return {"links": links} if links else {}


def read_manifest(path: str | os.PathLike) -> schema.BundleManifest:
    """The manifest of a bundle zip, migrated and validated (PosterError for a bad one)."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read(MANIFEST)
    except (OSError, KeyError, zipfile.BadZipFile):
        raise PosterError(f"'{Path(path).name}' is not a layered bundle (it has no readable {MANIFEST}).") from None
    return schema.load(data, schema.BundleManifest, name=Path(path).name)


def write_bundle(
    path: str | os.PathLike,
    poster: Poster,
    clips: Mapping[int, LayerClip],
    frames: Frames,
    fps: float = 24,
    *,
    background: tuple[int, int, int] | str | None = None,
    quality: str = "standard",
    progress: Progress | None = None,
) -> Path:
    """Write the layered bundle zip for `poster` with its animated `clips` (keyed by layer id).

    `frames` are the flat poster frames as the compositor renders them (a FrameStream, an
    array, or a callable returning either); they become preview.mp4 and set the timeline length.
    `quality` (engine.export.options) sets preview.mp4's and the WebM clips' encoders.
    """
    path = check_output_folder(path)
    fps = check_fps(fps)
    check_clips(poster, clips)
    frames = as_stream(frames)
    count = len(frames)
    if (frames.height, frames.width) != (poster.height, poster.width):
        raise PosterError(
            f"The rendered frames are {frames.width}×{frames.height} but the poster is "
            f"{poster.width}×{poster.height}: render the poster again before exporting."
        )
    animated = [layer for layer in poster.layers if layer.id in clips]
    total = 1 + len(poster.layers) + 2 * len(animated)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    entries = []
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as scratch_name:
        scratch = Path(scratch_name)
        with atomic_output(path) as temp, zipfile.ZipFile(temp, "w") as archive:
            write_mp4(scratch / "preview.mp4", frames, fps, background=background, quality=quality)
            archive.write(scratch / "preview.mp4", "preview.mp4", compress_type=zipfile.ZIP_STORED)
            step()
            for z, unstyled in enumerate(poster.layers):
                slug = f"layers/{layer_slug(z, unstyled.name)}"
                clip = clips.get(unstyled.id)
                if unstyled.style is not None:
                    layer = replace(styled_layer(unstyled, poster.canvas), style=unstyled.style)
                    clip = styled_clip(clip, unstyled.style, poster.canvas) if clip is not None else None
                else:
                    layer = unstyled
                if clip is None and layer.box.is_empty:
                    files = {}  # an empty layer has no pixels to write
                elif clip is None:
                    archive.writestr(f"{slug}.png", png_bytes(layer.pixels), compress_type=zipfile.ZIP_STORED)
                    files = {"png": f"{slug}.png"}
                else:
                    files = _write_animated(archive, scratch, slug, timeline_frames(clip, count), fps, step, quality)
                step()
                entries.append(layer_entry(z, layer, clip, files))
            manifest = schema.BundleManifest(
                poster=poster.name,
                canvas=schema.Canvas(width=poster.width, height=poster.height),
                fps=int(fps) if fps.is_integer() else fps,
                frames=count,
                duration_seconds=round(count / fps, 4),
                background="#%02x%02x%02x" % parse_color(background),
                preview="preview.mp4",
                layers=entries,
                groups=_groups(poster),
                **_links(clips),
            )
            archive.writestr(MANIFEST, schema.dump(manifest, indent=2))
    return path


def _write_animated(
    archive: zipfile.ZipFile, scratch: Path, slug: str, frames: FrameStream, fps: float, step: Callable[[], None],
    quality: str,
) -> dict[str, str]:
    """The three transparent renditions of one animated layer, added to the zip."""
    name = slug.rsplit("/", 1)[1]
    write_webm(scratch / f"{name}.webm", frames, fps, quality=quality)
    archive.write(scratch / f"{name}.webm", f"{slug}.webm", compress_type=zipfile.ZIP_STORED)
    (scratch / f"{name}.webm").unlink()
    step()
    write_prores(scratch / f"{name}.mov", frames, fps)
    archive.write(scratch / f"{name}.mov", f"{slug}.mov", compress_type=zipfile.ZIP_STORED)
    (scratch / f"{name}.mov").unlink()
    step()
    add_png_sequence(archive, slug, frames)
    return {"webm": f"{slug}.webm", "mov": f"{slug}.mov", "png_sequence": f"{slug}/"}


def _groups(poster: Poster) -> list[schema.BundleGroup]:
    """Every group path with the ids of the layers inside it (nested groups included)."""
    members: dict[tuple[str, ...], list[int]] = {}
    for layer in poster.layers:
        for depth in range(1, len(layer.group_path) + 1):
            members.setdefault(layer.group_path[:depth], []).append(layer.id)
    return [schema.BundleGroup(path=list(group), layer_ids=ids) for group, ids in members.items()]
