"""Export options in one table each: output size, quality, frame rate and loop count.

The editor's export panel, the command line (`--size`, `--quality`, `--export-fps`,
`--plays`) and the README read these tables, so a preset named here is offered, parsed and
documented the same way everywhere.

Size rule: the poster is fitted *inside* the chosen size, never cropped (a designer's
title must not lose its edges on a story format); the leftover bars are the background
colour in the flat formats (MP4, GIF, APNG, WebP: white unless a background is given) and
transparent in the formats made for compositing (WebM, ProRes, PNG). The layered bundle
keeps the poster's own size and frame rate: its manifest places every layer in poster
pixels and timeline frames, which another tool rescales itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine.core.poster import PosterError


@dataclass(frozen=True)
class SizePreset:
    """One output size: `scale` of the poster (original, half) or a fixed `box` (w, h) to fit into."""

    key: str
    label: str
    scale: float | None = None
    box: tuple[int, int] | None = None


CUSTOM = "custom"

SIZES: tuple[SizePreset, ...] = (
    SizePreset("original", "Original (the poster's own size)", scale=1.0),
    SizePreset("half", "Half size", scale=0.5),
    SizePreset("1080x1350", "1080×1350 (portrait feed post, 4:5)", box=(1080, 1350)),
    SizePreset("1080x1920", "1080×1920 (story / reel, 9:16)", box=(1080, 1920)),
    SizePreset("1920x1080", "1920×1080 (landscape video, 16:9)", box=(1920, 1080)),
    SizePreset(CUSTOM, "Custom W×H"),
)

SIZES_BY_KEY = {s.key: s for s in SIZES}


@dataclass(frozen=True)
class Quality:
    """One quality level, mapped onto every encoder's own knob.

    x264 (preset, crf) for MP4; VP9 crf and cpu-used for WebM; libwebp quality 0–100;
    GIF palette size and paletteuse dither; APNG prediction (`none` is ~2× faster, ~16 %
    larger). ProRes 4444 and PNG are lossless or fixed and have one setting.
    """

    key: str
    label: str
    x264: tuple[str, int]
    vp9_crf: int
    vp9_cpu_used: int
    webp: int
    gif_colors: int
    gif_dither: str
    apng_pred: str
    offered: bool = True  # in the export menu; "preview" is the editor's own after-Animate video


QUALITIES: tuple[Quality, ...] = (
    # Bayer dither makes repeating patterns LZW compresses well: about half the bytes of error diffusion.
    Quality("draft", "Draft (small, fast)", ("veryfast", 26), 36, 5, 60, 64, "bayer:bayer_scale=3", "none"),
    Quality("standard", "Standard", ("medium", 18), 24, 4, 90, 256, "sierra2_4a", "mixed"),
    Quality("high", "High (large)", ("slow", 14), 16, 2, 97, 256, "floyd_steinberg", "mixed"),
    # The editor's after-Animate video, at preview size: a designer waits on it, and `ultrafast` takes about a
    # quarter less encoder time there than `veryfast` (docs/benchmarks/editor.md) for a bigger local file.
    Quality("preview", "Editor preview", ("ultrafast", 18), 24, 4, 90, 256, "sierra2_4a", "none", offered=False),
)

QUALITIES_BY_KEY = {q.key: q for q in QUALITIES}
#: Names earlier versions used; "final" was the one export quality before draft/standard/high.
QUALITY_ALIASES = {"final": "standard"}
DEFAULT_QUALITY = "standard"


def quality(key: str) -> Quality:
    """The quality called `key`; a typo is refused before any frame is encoded."""
    key = QUALITY_ALIASES.get(key, key)
    if key not in QUALITIES_BY_KEY:
        offered = ", ".join(q.key for q in QUALITIES if q.offered)
        raise PosterError(f"Unknown export quality '{key}': use one of {offered}.")
    return QUALITIES_BY_KEY[key]


#: How many times a GIF, APNG or WebP plays; 0 is forever, the web's habit.
FOREVER = 0
LOOPING_FORMATS = ("gif", "apng", "webp")


@dataclass(frozen=True)
class ExportOptions:
    """What a designer chose for one export; applies to every format of it (the bundle: quality only).

    `fps` None keeps the project's frame rate; a lower one keeps every n-th frame (frames are
    picked, never blended, so a pose the designer saw is a pose in the file). `plays` is how
    many times GIF/APNG/WebP play (0 forever).
    """

    size: str = "original"
    custom: tuple[int, int] | None = None
    quality: str = DEFAULT_QUALITY
    fps: float | None = None
    plays: int = FOREVER

    def __post_init__(self) -> None:
        if self.size not in SIZES_BY_KEY:
            raise PosterError(f"Unknown export size '{self.size}': use one of {', '.join(SIZES_BY_KEY)}.")
        if self.size == CUSTOM and self.custom is None:
            raise PosterError("A custom export size needs a width and a height, e.g. 1200x628.")
        quality(self.quality)
        if not isinstance(self.plays, (int, np.integer)) or not 0 <= int(self.plays) <= 65535:
            raise PosterError(f"Plays counts how often the animation runs (0 = forever, up to 65535); got {self.plays!r}.")

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """The file's (width, height) for a poster of width × height."""
        preset = SIZES_BY_KEY[self.size]
        if preset.scale is not None:
            return max(2, round(width * preset.scale)), max(2, round(height * preset.scale))
        return preset.box if preset.box is not None else self.custom  # type: ignore[return-value]

    def output_fps(self, project_fps: float) -> float:
        """The file's frame rate: the project's, or a lower one (never invented frames)."""
        if self.fps is None or float(self.fps) == float(project_fps):
            return float(project_fps)
        if not 0 < float(self.fps) < float(project_fps):
            raise PosterError(
                f"Export at {self.fps:g} fps is not possible from a {project_fps:g} fps animation: "
                f"pick a frame rate above 0 and at most {project_fps:g} (frames are picked, never invented)."
            )
        return float(self.fps)


def parse_size(text: str) -> tuple[str, tuple[int, int] | None]:
    """A size as typed: a preset key ("half", "1080x1920") or W×H ("1200x628", "1200×628")."""
    text = text.strip().lower()
    if text in SIZES_BY_KEY and text != CUSTOM:
        return text, None
    match = re.fullmatch(r"(\d+)\s*[x×*]\s*(\d+)", text)
    if not match:
        presets = ", ".join(s.key for s in SIZES if s.key != CUSTOM)
        raise PosterError(f"'{text}' is not an export size: use one of {presets}, or W×H such as 1200x628.")
    size = int(match.group(1)), int(match.group(2))
    if not all(16 <= side <= 8192 for side in size):
        raise PosterError(f"An export size needs sides from 16 to 8192 pixels; got {size[0]}×{size[1]}.")
    for preset in SIZES:
        if preset.box == size:
            return preset.key, None
    return CUSTOM, size


def frame_picks(count: int, fps: float, out_fps: float) -> list[int]:
    """Which of `count` frames at `fps` make the video at `out_fps` (the nearest earlier frame)."""
    if out_fps == fps:
        return list(range(count))
    out_count = max(1, round(count * out_fps / fps))
    return [min(count - 1, math.floor(i * fps / out_fps + 1e-9)) for i in range(out_count)]


@dataclass(frozen=True)
class Fit:
    """Where the poster goes inside the output frame: scaled to `inner`, placed at `offset`."""

    size: tuple[int, int]
    inner: tuple[int, int]
    offset: tuple[int, int]

    @classmethod
    def of(cls, width: int, height: int, size: tuple[int, int]) -> "Fit":
        scale = min(size[0] / width, size[1] / height)
        inner = min(size[0], max(1, round(width * scale))), min(size[1], max(1, round(height * scale)))
        return cls(size, inner, ((size[0] - inner[0]) // 2, (size[1] - inner[1]) // 2))

    @property
    def pads(self) -> bool:
        return self.inner != self.size

    def apply(self, frame: np.ndarray, pad: tuple[int, int, int, int]) -> np.ndarray:
        """The frame resized (Lanczos, premultiplied: no dark fringes at soft edges) and padded."""
        height, width = frame.shape[:2]
        if (width, height) != self.inner:
            frame = np.asarray(Image.fromarray(frame, "RGBA").resize(self.inner, Image.Resampling.LANCZOS))
        if not self.pads:
            return frame
        out = np.empty((self.size[1], self.size[0], 4), dtype=np.uint8)
        out[...] = pad
        x, y = self.offset
        out[y : y + self.inner[1], x : x + self.inner[0]] = frame
        return out


def markdown_tables() -> str:
    """The README's export options, generated from the tables above."""
    rows = ["| size | what you get |", "| --- | --- |"]
    rows += [f"| `{s.key}` | {s.label} |" for s in SIZES if s.key != CUSTOM]
    rows += ["| `W×H` (e.g. `1200x628`) | any size from 16 to 8192 px a side |", "",
             "| quality | MP4 (x264 preset, crf) | WebM VP9 crf | WebP quality | GIF colours, dither | APNG prediction |",
             "| --- | --- | --- | --- | --- | --- |"]
    for q in QUALITIES:
        if q.offered:
            rows.append(f"| `{q.key}` | {q.x264[0]}, {q.x264[1]} | {q.vp9_crf} | {q.webp} | "
                        f"{q.gif_colors}, {q.gif_dither.split(':')[0]} | {q.apng_pred} |")
    return "\n".join(rows)
