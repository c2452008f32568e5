"""Every export format in one table: the editor's menu, the command line and the README read it.

A format is chosen by its key ("mp4", "layered", ...), never by a file-name ending: the
command line maps an extension to a key once (`format_for_path`), and the editor asks
for a key and names the file from the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.core.poster import PosterError
from engine.export.bundle import write_bundle
from engine.export.sequence import write_png_folder, write_png_zip
from engine.export.video import write_apng, write_gif, write_mp4, write_prores, write_webm, write_webp


@dataclass(frozen=True)
class ExportFormat:
    """One output format.

    `suffix` is the extension of the file written ("" for a folder) and `extensions`
    every ending the command line accepts for it. `tag` goes between the poster's name
    and the suffix where two formats share a suffix (both zips). `alpha`: the file keeps
    transparency; `layered`: it holds every layer separately (writer takes the poster and
    clips); `background`: the writer lays transparency over a colour; `download`: a single
    file the editor can offer (a folder is not). `quality`: the writer takes a quality level
    (engine.export.options.QUALITIES); `loops`: it takes `plays` (how often it runs, 0 forever).
    """

    key: str
    label: str
    suffix: str
    writer: Callable[..., Path]
    alpha: bool
    layered: bool = False
    background: bool = False
    download: bool = True
    extensions: tuple[str, ...] = ()
    tag: str = ""
    quality: bool = True
    loops: bool = False

    def file_name(self, stem: str) -> str:
        return f"{stem}{self.tag}{self.suffix}"

    @property
    def endings(self) -> tuple[str, ...]:
        return self.extensions or (self.suffix,)


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("mp4", "MP4 video (H.264, plays everywhere)", ".mp4", write_mp4, alpha=False, background=True),
    ExportFormat("gif", "GIF (1-bit transparency)", ".gif", write_gif, alpha=True, background=True, loops=True),
    ExportFormat("apng", "Animated PNG (lossless, transparency)", ".png", write_apng, alpha=True, background=True,
                 extensions=(".png", ".apng"), loops=True),
    ExportFormat("webp", "Animated WebP (transparency)", ".webp", write_webp, alpha=True, background=True,
                 loops=True),
    ExportFormat("webm", "WebM VP9 with alpha", ".webm", write_webm, alpha=True),
    ExportFormat("mov", "ProRes 4444 .mov with alpha", ".mov", write_prores, alpha=True, quality=False),
    ExportFormat("png-seq", "PNG sequence (zip of frames)", ".zip", write_png_zip, alpha=True, tag="-frames",
                 quality=False),
    ExportFormat("png-folder", "PNG sequence (a folder of frames)", "", write_png_folder, alpha=True,
                 download=False, quality=False),
    ExportFormat("layered", "Layered bundle (zip: every layer as a transparent clip)", ".zip", write_bundle,
                 alpha=True, layered=True, background=True, tag="-layers"),
)

FORMATS_BY_KEY: dict[str, ExportFormat] = {f.key: f for f in FORMATS}


def export_format(key: str) -> ExportFormat:
    """The format called `key`; a PosterError naming the real ones for anything else."""
    try:
        return FORMATS_BY_KEY[key]
    except KeyError:
        raise PosterError(f"'{key}' is not an export format; use one of {', '.join(FORMATS_BY_KEY)}.") from None


def format_for_path(path: str | Path, layered: bool) -> ExportFormat:
    """The format a file name asks for, by extension. `.zip` is the layered bundle when there
    is a poster to take the layers from (`layered`), else a zip of PNG frames."""
    suffix = Path(path).suffix.lower()
    matches = [f for f in FORMATS if suffix in f.endings]
    if not matches:
        endings = sorted({e for f in FORMATS for e in f.endings if e})
        raise PosterError(
            f"Cannot export to '{Path(path).name}': the extension '{suffix}' is not a format we write. "
            f"Use one of {', '.join(endings)}, or no extension for a folder of PNG frames."
        )
    preferred = [f for f in matches if f.layered == layered]
    return (preferred or matches)[0]


def extensions_help() -> str:
    """One line for `--help`: which extension writes what."""
    parts = []
    for f in FORMATS:
        ending = "/".join(f.endings) if f.suffix else "no extension"
        parts.append(f"{ending} {f.key}")
    return "format from the extension: " + ", ".join(parts) + " (.zip is the layered bundle)"


def markdown_table() -> str:
    """The README's format list, generated so it can never disagree with the code."""
    rows = ["| key | format | file | transparency | layers |", "| --- | --- | --- | --- | --- |"]
    for f in FORMATS:
        ending = " or ".join(f"`{e}`" for e in f.endings) if f.suffix else "a folder (no extension)"
        rows.append(f"| `{f.key}` | {f.label} | {ending} | {'yes' if f.alpha else 'no'} | "
                    f"{'each layer' if f.layered else 'flat'} |")
    return "\n".join(rows)
