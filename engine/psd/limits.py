"""Limits for untrusted PSD files, and the header check that applies them before decoding.

A PSD is an upload from anyone: its header can claim a 30000×30000 canvas, its layer
tree can nest thousands deep, its compressed channels can expand to gigabytes. Reading
the 26-byte header ourselves lets us refuse such a file before psd-tools allocates
anything, with a sentence that names the limit and what the designer can do.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from engine.core.poster import PosterError

PSD_SIGNATURE = b"8BPS"
HEADER_BYTES = 26

COLOR_MODE_NAMES = {
    0: "Bitmap",
    1: "Grayscale",
    2: "Indexed",
    3: "RGB",
    4: "CMYK",
    7: "Multichannel",
    8: "Duotone",
    9: "Lab",
}


@dataclass(frozen=True)
class ImportLimits:
    """What a PSD may cost us to open; every number is a ceiling, not a target.

    The defaults cover any real poster (a B1 print at 150 dpi is about 4400×6000) while
    keeping one import well inside a few GiB of memory. `isolate` parses in a child
    process whose address space and wall time are capped, so a file that slips past the
    header checks still cannot take the editor down.
    """

    max_side: int = 12_000
    max_megapixels: float = 50.0
    max_file_mb: float = 300.0
    max_layers: int = 2_000
    max_nesting: int = 32
    max_memory_mb: int = 4_096  # address space the parsing child may add
    timeout_s: float = 120.0
    isolate: bool = True

    def __post_init__(self) -> None:
        for name in ("max_side", "max_megapixels", "max_file_mb", "max_layers", "max_nesting",
                     "max_memory_mb", "timeout_s"):
            if not getattr(self, name) > 0:
                raise PosterError(f"Import limit {name} must be a positive number.")

    @property
    def max_alloc_bytes(self) -> int:
        """psd-tools' per-allocation budget: one float32 RGBA canvas at the pixel ceiling, doubled."""
        return int(self.max_megapixels * 1e6 * 4 * 4 * 2)


@dataclass(frozen=True)
class PsdHeader:
    version: int  # 1 = PSD, 2 = PSB
    channels: int
    height: int
    width: int
    depth: int
    color_mode: int

    @property
    def color_mode_name(self) -> str:
        return COLOR_MODE_NAMES.get(self.color_mode, f"unknown ({self.color_mode})")


def check_file(path: Path, limits: ImportLimits) -> PsdHeader:
    """Refuse a file by its size and header alone, before any decoding.

    Returns the parsed header so the caller can report the colour mode and canvas.
    """
    if not path.exists():
        raise PosterError(f"The file '{path.name}' does not exist: check the path and try again.")
    if not path.is_file():
        raise PosterError(f"'{path.name}' is a folder, not a PSD file: pick the .psd file itself.")
    size = path.stat().st_size
    if size == 0:
        raise PosterError(f"The file '{path.name}' is empty (0 bytes): export the PSD again from Photoshop.")
    if size > limits.max_file_mb * 1024 * 1024:
        raise PosterError(
            f"The file '{path.name}' is {size / 1024 / 1024:.0f} MB, over the {limits.max_file_mb:.0f} MB "
            "limit: flatten unused layers or save a smaller copy, then try again."
        )
    with path.open("rb") as handle:
        head = handle.read(HEADER_BYTES)
    return check_header(head, path.name, limits)


def check_header(head: bytes, name: str, limits: ImportLimits) -> PsdHeader:
    """Validate the fixed 26-byte PSD/PSB header against the limits."""
    if head[:4] != PSD_SIGNATURE:
        kind = _sniff_kind(head)
        raise PosterError(
            f"'{name}' is not a Photoshop file{kind}: open it in Photoshop and save it as .psd or .psb."
        )
    if len(head) < HEADER_BYTES:
        raise PosterError(f"'{name}' is cut off inside its header: the file is damaged, export it again.")
    version, = struct.unpack(">H", head[4:6])
    channels, height, width, depth, mode = struct.unpack(">HIIHH", head[12:26])
    if version not in (1, 2):
        raise PosterError(f"'{name}' has an unknown Photoshop format version ({version}): save it again as .psd.")
    if depth not in (1, 8, 16, 32):
        raise PosterError(f"'{name}' claims {depth} bits per channel, which Photoshop never writes: the file is damaged.")
    if mode not in COLOR_MODE_NAMES:
        raise PosterError(f"'{name}' uses an unknown colour mode ({mode}): convert it to RGB in Photoshop.")
    if not 1 <= channels <= 56:
        raise PosterError(f"'{name}' claims {channels} channels, which is not a valid PSD: the file is damaged.")
    if width == 0 or height == 0:
        raise PosterError(f"'{name}' has an empty canvas ({width}×{height}): the file is damaged.")
    header = PsdHeader(version, channels, height, width, depth, mode)
    if max(width, height) > limits.max_side:
        raise PosterError(
            f"'{name}' is {width}×{height} pixels; the longest side may be at most {limits.max_side} px. "
            "Reduce the image size in Photoshop (Image ▸ Image Size) and try again."
        )
    megapixels = width * height / 1e6
    if megapixels > limits.max_megapixels:
        raise PosterError(
            f"'{name}' is {width}×{height} pixels ({megapixels:.0f} MP), over the {limits.max_megapixels:g} MP "
            "limit. Reduce the image size in Photoshop (Image ▸ Image Size) and try again."
        )
    return header


def check_tree(name: str, layer_count: int, nesting: int, limits: ImportLimits) -> None:
    """Refuse a layer tree that is larger or deeper than the limits allow."""
    if layer_count > limits.max_layers:
        raise PosterError(
            f"'{name}' has {layer_count} layers, over the limit of {limits.max_layers}: merge or delete "
            "layers you do not need to animate, then try again."
        )
    if nesting > limits.max_nesting:
        raise PosterError(
            f"'{name}' nests groups {nesting} deep, over the limit of {limits.max_nesting}: ungroup some "
            "nested groups in Photoshop, then try again."
        )


def memory_message(name: str, limits: ImportLimits) -> str:
    """The sentence for a file that blew the import's memory budget."""
    return (
        f"Opening '{name}' needed more than the {limits.max_memory_mb} MB of memory an import may "
        "use: reduce the image size or merge layers in Photoshop, then try again."
    )


def _sniff_kind(head: bytes) -> str:
    """A hint for the designer about what the file really is, when it is something common."""
    signatures = {
        b"\x89PNG": "PNG image",
        b"\xff\xd8\xff": "JPEG image",
        b"GIF8": "GIF image",
        b"%PDF": "PDF document",
        b"PK\x03\x04": "ZIP archive",
        b"II*\x00": "TIFF image",
        b"MM\x00*": "TIFF image",
    }
    for magic, label in signatures.items():
        if head.startswith(magic):
            return f" (it is a {label} with a .psd name)"
    return ""
