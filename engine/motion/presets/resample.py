"""Sub-pixel resampling of a layer along a motion, without jaggies or dark haloes.

Every preset describes a frame as "where in the static layer does each output pixel come
from" (inverse mapping) plus optional opacity, per-pixel mask and shading. This module
turns that description into frames. Sampling is bilinear on PREMULTIPLIED colour: a half
covered edge pixel then mixes colour only with the layer's own colour, never with the
black of transparent pixels, so a white title keeps white edges after a sub-pixel move.
Colour is un-premultiplied afterwards and zeroed where the result is fully transparent.

Coordinates are continuous box pixels: pixel (i, j) covers [j, j+1) × [i, i+1), its
centre is (j + 0.5, i + 0.5). That matches grid_sample with align_corners=False.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

#: Given the indices of a chunk of frames and a pixel region (row and column slices of the
#: box, possibly strided), the source point (x, y) of every output pixel there: a float32
#: tensor (n, h, w, 2) in continuous box pixels.
SourceFn = Callable[[np.ndarray, slice, slice], torch.Tensor]
#: Same arguments, a float32 tensor (n, h, w) multiplying alpha (mask) or colour (shade).
PixelFn = Callable[[np.ndarray, slice, slice], torch.Tensor]

#: Same arguments, premultiplied RGBA (n, 4, h, w) on the 0..255 scale, drawn over the layer.
OverlayFn = Callable[[np.ndarray, slice, slice], torch.Tensor]

_CHUNK_PIXELS = 500_000  # frames are sampled in chunks of about this many pixels
_PROBE_STEP = 8  # spacing of the coarse probe that finds where the content lands


@dataclass
class FramePlan:
    """A preset's description of N frames of motion, before any pixel is touched.

    `still[i]` marks frames that are exactly the static layer (rest poses, holds): they are
    copied, not resampled, so identity is preserved bit for bit.

    `reach` holds where the content outline goes over the clip (…, 2 box pixels), at the
    strength that will play: the room the motion takes. The planner sizes motion boxes
    from it (engine.motion.presets.room), so the box it plans and the room the preset checks
    before shrinking are one computation. None means the content stays in place.
    """

    frame_count: int
    source: SourceFn | None = None
    opacity: np.ndarray | None = None
    mask: PixelFn | None = None
    shade: PixelFn | None = None
    still: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    reach: np.ndarray | None = None
    #: Drawn over the moved layer (particles): premultiplied (n, 4, h, w) on the 0..255
    #: scale for the frames and region asked; `overlay_region` (x0, y0, x1, y1) bounds it.
    overlay: "OverlayFn | None" = None
    overlay_region: tuple[float, float, float, float] | None = None
    #: A wrap-around (travel "wrap"): the box's period (px) along x and/or y. The source map
    #: is taken modulo it and sampled circularly, so the column where the picture leaves
    #: one edge and re-enters at the other blends the two edges, never transparency (no seam).
    wrap: tuple[float | None, float | None] | None = None
    #: Whether u = 0 is the rest pose, so frame 0 is the static layer (every motion of the
    #: layer's own content); pre-rolled particles drawn over it are already falling there.
    rests_at_start: bool = True
    #: Per-frame forward maps (N, 3, 3), static layer -> frame, when every frame is one
    #: affine map of the layer (the rigid presets): two such motions can then play at once
    #: by multiplying their maps (engine.motion.presets.compose). None for warps and the rest.
    forward: np.ndarray | None = None

    def still_frames(self) -> np.ndarray:
        if self.still is None:
            return np.zeros(self.frame_count, dtype=bool)
        return np.asarray(self.still, dtype=bool)


class PixelGrid:
    """Pixel-centre coordinates of any region of a box, as broadcastable torch tensors."""

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width
        self._x = torch.arange(width, dtype=torch.float32) + 0.5
        self._y = torch.arange(height, dtype=torch.float32) + 0.5

    def coords(self, rows: slice, cols: slice) -> tuple[torch.Tensor, torch.Tensor]:
        """x as (1, 1, w) and y as (1, h, 1) for the region."""
        return self._x[cols].view(1, 1, -1), self._y[rows].view(1, -1, 1)

    def affine_source(self, inverse: np.ndarray) -> SourceFn:
        """A SourceFn for per-frame affine maps `inverse` (N, 2, 3): output point -> source."""
        matrices = torch.as_tensor(inverse, dtype=torch.float32)

        def source(index: np.ndarray, rows: slice, cols: slice) -> torch.Tensor:
            x, y = self.coords(rows, cols)
            m = matrices[torch.as_tensor(index)].view(-1, 2, 3, 1, 1)
            out = torch.empty((index.size, y.shape[1], x.shape[2], 2))
            torch.add(m[:, 0, 0] * x + m[:, 0, 2], m[:, 0, 1] * y, out=out[..., 0])
            torch.add(m[:, 1, 0] * x + m[:, 1, 2], m[:, 1, 1] * y, out=out[..., 1])
            return out

        return source


def premultiplied(rgba: np.ndarray) -> torch.Tensor:
    """(H, W, 4) uint8 straight alpha -> (1, 4, H, W) float32 premultiplied, 0..255 scale.

    Keeping the 0..255 scale saves the rescaling passes after sampling: a sampled alpha is
    directly the output alpha and colour comes back with one multiply.
    """
    image = torch.from_numpy(np.ascontiguousarray(rgba)).to(torch.float32)
    image = image.permute(2, 0, 1).unsqueeze(0).contiguous()
    image[:, :3] *= image[:, 3:4] / 255.0
    return image


def write_straight_uint8(premult: torch.Tensor, out: torch.Tensor) -> None:
    """Premultiplied frames (n, 4, h, w), 0..255 scale -> straight-alpha uint8 `out` (n, h, w, 4).

    Colour is divided by alpha only where the rounded alpha is visible; fully transparent
    pixels get colour 0 so no stray colour hides behind alpha 0. Bilinear weights are a
    convex combination and premultiplied colour never exceeds alpha, so results stay in
    0..255 without clamping; rounding is half-up (+0.5, then the uint8 cast truncates).
    """
    alpha = premult[:, 3]
    to_straight = torch.where(alpha >= 0.5, 255.0 / alpha, 0.0)
    half = torch.tensor(0.5)
    channels = out.permute(0, 3, 1, 2)
    channels[:, :3].copy_(torch.addcmul(half, premult[:, :3], to_straight.unsqueeze(1)))
    channels[:, 3].copy_(alpha.add(0.5))


def render_motion(
    static: np.ndarray,
    motion: FramePlan,
    crop: bool = True,
    out: np.ndarray | None = None,
    start: int = 0,
    stop: int | None = None,
    image: torch.Tensor | None = None,
) -> np.ndarray:
    """Frames (N, H, W, 4) uint8 for `motion` applied to the placed static layer `static`.

    With `crop`, each chunk of frames is resampled only inside the region where the
    content can land (found by a coarse probe of the source map); everything outside is
    transparent anyway. `crop=False` resamples the whole box (tests compare the two).
    `start`/`stop` render only the plan's frames [start, stop) (a lazy clip renders a
    chunk at a time); `out`, if given, receives them (stop - start frames). `image` is
    `premultiplied(static)` when the caller keeps it between chunks.
    """
    height, width = static.shape[:2]
    stop = motion.frame_count if stop is None else stop
    if out is None:
        out = np.empty((stop - start, height, width, 4), dtype=np.uint8)
    out[...] = 0
    still = motion.still_frames()[start:stop]
    out[still] = static
    moving = np.flatnonzero(~still) + start
    if moving.size == 0:
        return out
    image = premultiplied(static) if image is None else image
    content = content_bounds(static)
    chunk = max(1, _CHUNK_PIXELS // max(1, height * width))
    everything = (slice(0, height), slice(0, width))

    def render_run(index: np.ndarray) -> None:
        rows, cols = _landing_region(motion, index, content, height, width) if crop else everything
        if crop and motion.overlay is not None:
            rows, cols = _with_overlay(rows, cols, motion.overlay_region or (0, 0, width, height), height, width)
        if rows.stop <= rows.start or cols.stop <= cols.start:
            return
        # a frame of a print-size box is resampled in bands, so memory stays bounded
        band = max(1, _CHUNK_PIXELS // ((cols.stop - cols.start) * index.size))
        for top in range(rows.start, rows.stop, band):
            part = slice(top, min(top + band, rows.stop))
            frames = _sample_chunk(image, motion, index, part, cols, width, height)
            target = out[index[0] - start : index[-1] + 1 - start, part, cols]  # a view: index is consecutive
            write_straight_uint8(frames, torch.from_numpy(target))

    with _frames_in_parallel() as workers, torch.no_grad():
        if workers == 1:
            for index in _runs_of_frames(moving, chunk):
                render_run(index)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(render_run, _runs_of_frames(moving, chunk)))
    return out


_THREADS_LOCK = threading.Lock()


@contextlib.contextmanager
def _frames_in_parallel() -> Iterator[int]:
    """Parallelise over frames, not inside each operation: yields the worker count.

    Each chunk is about one frame, too small for torch's intra-op threads to pay off, and
    on a busy machine those threads spin at every barrier waiting for a descheduled
    sibling (measured here: 2 intra-op threads took 3-5x the wall time of 1). So during a
    render torch runs single-threaded and a thread pool, as wide as torch's thread
    setting was, works on separate frames. The lock keeps concurrent renders from
    restoring each other's setting wrongly.
    """
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield before
        finally:
            torch.set_num_threads(before)


def _runs_of_frames(frames: np.ndarray, chunk: int) -> list[np.ndarray]:
    """Split sorted frame indices into consecutive runs of at most `chunk` frames."""
    runs = []
    for run in np.split(frames, np.flatnonzero(np.diff(frames) != 1) + 1):
        runs.extend(run[i : i + chunk] for i in range(0, run.size, chunk))
    return runs


def content_bounds(static: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the pixels with any alpha, in continuous box pixels; all 0 if none."""
    alpha = static[..., 3]
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


def _with_overlay(
    rows: slice, cols: slice, region: tuple[float, float, float, float], height: int, width: int
) -> tuple[slice, slice]:
    """The landing region grown to hold an overlay's region (clipped to the box)."""
    x0, y0, x1, y1 = region
    top, left = max(0, int(np.floor(y0))), max(0, int(np.floor(x0)))
    bottom, right = min(height, int(np.ceil(y1))), min(width, int(np.ceil(x1)))
    if rows.stop > rows.start and cols.stop > cols.start:
        top, left = min(top, rows.start), min(left, cols.start)
        bottom, right = max(bottom, rows.stop), max(right, cols.stop)
    return slice(top, bottom), slice(left, right)


def _landing_region(
    motion: FramePlan, index: np.ndarray, content: tuple[float, float, float, float], height: int, width: int
) -> tuple[slice, slice]:
    """Rows and columns of the box where these frames can show any content.

    A probe every _PROBE_STEP pixels asks where each output point samples from; points whose
    source falls near the content (with a margin generous enough for any preset's
    stretching between probe points) mark the region, grown by one probe step.
    """
    if motion.source is None:
        x0, y0, x1, y1 = content
        return slice(int(y0), int(np.ceil(y1))), slice(int(x0), int(np.ceil(x1)))
    step = _PROBE_STEP
    rows = slice(0, height, step)
    cols = slice(0, width, step)
    points = motion.source(index, rows, cols)
    reach = 2.5 * step
    x0, y0, x1, y1 = content
    near = (
        (points[..., 0] > x0 - reach) & (points[..., 0] < x1 + reach)
        & (points[..., 1] > y0 - reach) & (points[..., 1] < y1 + reach)
    ).any(dim=0)
    hit_rows = torch.nonzero(near.any(dim=1)).flatten()
    hit_cols = torch.nonzero(near.any(dim=0)).flatten()
    if hit_rows.numel() == 0:
        return slice(0, 0), slice(0, 0)
    top = max(0, int(hit_rows[0]) * step - step)
    bottom = min(height, int(hit_rows[-1]) * step + 2 * step)
    left = max(0, int(hit_cols[0]) * step - step)
    right = min(width, int(hit_cols[-1]) * step + 2 * step)
    return slice(top, bottom), slice(left, right)


def _sample_chunk(
    image: torch.Tensor, motion: FramePlan, index: np.ndarray, rows: slice, cols: slice, width: int, height: int
) -> torch.Tensor:
    """Premultiplied frames (n, 4, h, w) for the frames `index` in the region."""
    n = index.size
    if motion.source is None:
        frames = image[:, :, rows, cols].expand(n, -1, -1, -1).clone()
    else:
        to_unit = torch.tensor([2.0 / width, 2.0 / height])
        points = motion.source(index, rows, cols)
        if motion.wrap is None:
            grid = torch.addcmul(torch.tensor(-1.0), points, to_unit)
            frames = F.grid_sample(
                image.expand(n, -1, -1, -1), grid, mode="bilinear", padding_mode="zeros", align_corners=False
            )
        else:
            frames = _sample_wrapped(image.expand(n, -1, -1, -1), points, motion.wrap, to_unit)
    if motion.shade is not None:
        frames[:, :3] *= motion.shade(index, rows, cols).unsqueeze(1)
        frames[:, :3] = torch.minimum(frames[:, :3], frames[:, 3:4])
    if motion.mask is not None:
        frames *= motion.mask(index, rows, cols).unsqueeze(1)
    if motion.opacity is not None:
        frames *= torch.as_tensor(motion.opacity[index], dtype=torch.float32).view(n, 1, 1, 1)
    if motion.overlay is not None:
        top = motion.overlay(index, rows, cols)
        frames = top + frames * (1.0 - top[:, 3:4] / 255.0)  # "over", premultiplied
    return frames


def _sample_wrapped(
    image: torch.Tensor, points: torch.Tensor, periods: tuple[float | None, float | None], to_unit: torch.Tensor
) -> torch.Tensor:
    """Bilinear sampling that wraps around `periods` (x, y): circular, with no copy of the image.

    Each wrapped coordinate is brought into [0.5, P + 0.5), where only its last half pixel
    reaches past the picture (its right tap is the zero padding); sampling again one period
    back puts that tap on the picture's first row or column, with the same weight, and
    everything else on the padding. The two zero-padded samples add up to the circular one.
    Travel wraps along one axis; both at once would also need the corner's sample.
    """
    points = points.clone()
    shifted = []
    for axis, period in enumerate(periods):
        if period:
            points[..., axis] = torch.remainder(points[..., axis] - 0.5, period) + 0.5
            back = points.clone()
            back[..., axis] -= period
            shifted.append(back)
    frames = F.grid_sample(image, torch.addcmul(torch.tensor(-1.0), points, to_unit),
                           mode="bilinear", padding_mode="zeros", align_corners=False)
    for back in shifted:
        frames += F.grid_sample(image, torch.addcmul(torch.tensor(-1.0), back, to_unit),
                                mode="bilinear", padding_mode="zeros", align_corners=False)
    return frames
