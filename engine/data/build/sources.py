"""Where posters come from, and what we must remember about each (provenance).

ART's weights were withdrawn because its data was later found illegally sourced, so every
sample keeps its source path, the licence string its folder declares, and the SHA-256 of
the source file: a dataset built here can always say where each sample came from.

Two kinds of source folder:
- **PSD folders**: every `*.psd` below the folder, opened through our importer (the same
  limits and isolation as the editor), so studios can build from their own archives.
- **PrismLayers-style folders**: one sub-folder per poster with `meta.json`
  `{"width", "height", "caption", "layers": [{"file", "box": [x, y, w, h], "name", "kind"}]}`,
  the layer PNGs (RGBA, cropped to `box`, or full-canvas and cropped here) and optionally
  the whole `image.png`.

A folder's licence is the first line of `LICENSE`, `LICENSE.txt` or `license.txt` in it
or above it (up to the source root), or the `--license` given on the command line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

from engine.core.poster import Box, Layer, LayerKind, Poster, PosterError

LICENSE_FILES = ("LICENSE", "LICENSE.txt", "license.txt", "LICENCE")
PRISM_META = "meta.json"


@dataclass(frozen=True)
class SourcePoster:
    """A poster to build from: where it is, what it is called in the dataset, its provenance."""

    name: str  # unique directory name in the TDL root
    path: Path  # the PSD file, or the PrismLayers poster folder
    kind: str  # "psd" or "prism"
    sha256: str
    license: str
    caption: str = ""

    def provenance(self) -> dict[str, str]:
        return {"source": str(self.path), "kind": self.kind, "sha256": self.sha256, "license": self.license}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_sha256(folder: Path) -> str:
    """One hash over a PrismLayers poster folder's files (names and bytes, in name order)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def licence_of(path: Path, root: Path, default: str) -> str:
    folder = path if path.is_dir() else path.parent
    while True:
        for name in LICENSE_FILES:
            candidate = folder / name
            if candidate.is_file():
                first = candidate.read_text(errors="replace").strip().splitlines()
                if first:
                    return first[0].strip()
        if folder == root or root not in folder.parents:
            return default
        folder = folder.parent


def find_sources(roots: Sequence[str | Path], default_license: str = "unknown") -> list[SourcePoster]:
    """Every poster under the given folders (or PSD files), in a stable order, names made unique."""
    found: list[SourcePoster] = []
    for root in map(Path, roots):
        if not root.exists():
            raise PosterError(f"The source {root} does not exist.")
        if root.is_file():
            if root.suffix.lower() != ".psd":
                raise PosterError(f"{root} is not a PSD file or a folder of posters.")
            psds, prisms = [root], []
        else:
            psds = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".psd" and p.is_file())
            prisms = sorted(p.parent for p in root.rglob(PRISM_META))
        base = root if root.is_dir() else root.parent
        for path in psds:
            found.append(SourcePoster(path.stem, path, "psd", file_sha256(path), licence_of(path, base, default_license)))
        for folder in prisms:
            caption = str(json.loads((folder / PRISM_META).read_text()).get("caption", ""))
            found.append(SourcePoster(folder.name, folder, "prism", folder_sha256(folder),
                                      licence_of(folder, base, default_license), caption))
    if not found:
        raise PosterError(f"No posters (*.psd files or {PRISM_META} folders) found in {', '.join(map(str, roots))}.")
    seen: dict[str, int] = {}
    unique = []
    for source in found:
        count = seen.get(source.name, 0)
        seen[source.name] = count + 1
        name = source.name if not count else f"{source.name}-{source.sha256[:8]}"
        unique.append(SourcePoster(name, source.path, source.kind, source.sha256, source.license, source.caption))
    return unique


def load_source(source: SourcePoster) -> Poster:
    """The source as a Poster (PSDs through the importer with its limits and isolation)."""
    if source.kind == "psd":
        from engine.psd.load import load_psd  # noqa: PLC0415 (psd-tools is a slow import; prism sources never need it)

        return load_psd(source.path)
    return _load_prism(source.path, source.name)


def _load_prism(folder: Path, name: str) -> Poster:
    meta = json.loads((folder / PRISM_META).read_text())
    width, height = int(meta["width"]), int(meta["height"])
    layers = []
    for index, item in enumerate(meta.get("layers", [])):
        rgba = np.asarray(Image.open(folder / item["file"]).convert("RGBA"))
        box = Box.from_any(item["box"]) if "box" in item else Box(0, 0, rgba.shape[1], rgba.shape[0])
        if rgba.shape[:2] == (height, width) and (box.w, box.h) != (width, height):
            rgba = rgba[box.y : box.bottom, box.x : box.right]
        if rgba.shape[:2] != (box.h, box.w):
            raise PosterError(f"{folder / item['file']} is {rgba.shape[1]}×{rgba.shape[0]} but its box is {box.w}×{box.h}.")
        kind = LayerKind.TEXT if item.get("kind") == "text" else LayerKind.PIXEL
        layers.append(Layer(id=index, name=str(item.get("name", f"layer {index}")), pixels=np.ascontiguousarray(rgba),
                            box=box, kind=kind, text=item.get("text")))
    return Poster(name=name, width=width, height=height, layers=layers)


def iter_posters(sources: Sequence[SourcePoster]) -> Iterator[tuple[SourcePoster, Poster]]:
    for source in sources:
        yield source, load_source(source)
