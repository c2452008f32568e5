"""Render once, encode many: one export of several formats draws each frame once.

The poster stream is read once, in this thread; every frame goes, through a small
bounded queue, to one thread per format, which runs that format's ordinary writer on a
stream made of its queue. The encoders (separate ffmpeg processes, or the PNG and
bundle writers) therefore run side by side, each at its own pace within a few frames of
the others, and memory stays at a few frames per format: no whole video in RAM and
nothing uncompressed on disk. The tee serves every writer as it is (PNG, the bundle, the
alpha formats' own conversions); for flat formats alone, one ffmpeg with several outputs
encoded as fast as one format after another on the 2-core machine and the tee was slower
(docs/benchmarks/export.md, "Render once, encode many"): its gain is the render it saves.

Formats that want the same picture (same size, frame rate and padding) share one resized
frame; the layered bundle takes the poster's own frames. Only frames some format keeps
are drawn (a 12 fps GIF from a 24 fps animation draws half of them).
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from engine.core.atomic import check_output_folder
from engine.core.clip import LayerClip
from engine.core.poster import Poster, PosterError
from engine.core.stream import FrameStream
from engine.export.bundle import Frames, write_bundle
from engine.export.formats import ExportFormat
from engine.export.frames import Progress, as_stream, check_fps, has_transparency, parse_color
from engine.export.options import ExportOptions, Fit, frame_picks

Color = tuple[int, int, int] | str | None

#: Bytes of frames waiting per format: enough that an encoder pausing (x264's lookahead, a
#: GIF palette) does not stall the others, few enough to stay small: 11 frames of the
#: 1080×1350 sample, 2 of a 26 MP print poster.
QUEUE_BYTES = 64_000_000


def queue_frames(width: int, height: int) -> int:
    return max(2, min(12, QUEUE_BYTES // (width * height * 4)))

_END = object()


@dataclass(frozen=True)
class View:
    """The picture one or more formats want: the poster's frames `picks`, fitted by `fit`
    (None: as drawn) onto `pad` (RGBA of the bars)."""

    picks: tuple[int, ...]
    fit: Fit | None
    pad: tuple[int, int, int, int]
    fps: float

    def size(self, source: FrameStream) -> tuple[int, int]:
        return self.fit.size if self.fit is not None else (source.width, source.height)

    def opaque(self, source: FrameStream) -> bool | None:
        """Opaque when the poster is and the bars are (or there are none)."""
        if self.fit is not None and self.fit.pads and self.pad[3] < 255:
            return False
        return source.opaque

    def convert(self, frame: np.ndarray) -> np.ndarray:
        return frame if self.fit is None else self.fit.apply(frame, self.pad)

    def stream(self, source: FrameStream) -> FrameStream:
        """This view read straight from the source (one format: no threads)."""
        picked = source.pick(self.picks, self.fps)
        width, height = self.size(source)
        return FrameStream(lambda: (self.convert(f) for f in picked), len(self.picks), width, height, self.fps,
                           opaque=self.opaque(source))


def view_for(
    export_format: ExportFormat, source: FrameStream, fps: float, options: ExportOptions, background: Color
) -> View:
    """What `export_format` is written from under `options` (the bundle: the poster as drawn)."""
    every = tuple(range(len(source)))
    if export_format.layered:
        return View(every, None, (0, 0, 0, 0), fps)
    out_fps = options.output_fps(fps)
    size = options.output_size(source.width, source.height)
    fit = None if size == (source.width, source.height) else Fit.of(source.width, source.height, size)
    # Flat formats pad with the background they are laid on; compositing formats with nothing.
    pad = (*parse_color(background), 255) if export_format.background else (0, 0, 0, 0)
    return View(tuple(frame_picks(len(source), fps, out_fps)), fit, pad, out_fps)


def write_format(
    export_format: ExportFormat,
    path: Path,
    frames: FrameStream,
    fps: float,
    options: ExportOptions,
    *,
    poster: Poster | None,
    clips: Mapping[int, LayerClip] | None,
    background: Color,
    progress: Progress | None,
) -> Path:
    """One format's writer with the options it takes, from the table (engine.export.formats)."""
    if export_format.layered:
        if poster is None:
            raise PosterError("The layered bundle is made from the poster's layers: pass poster= (and clips=).")
        return write_bundle(path, poster, clips or {}, frames, fps, background=background,
                            quality=options.quality, progress=progress)
    kwargs: dict = {}
    if export_format.background:
        kwargs["background"] = background
    if export_format.quality:
        kwargs["quality"] = options.quality
    if export_format.loops:
        kwargs["plays"] = int(options.plays)
    return export_format.writer(path, frames, fps, progress=progress, **kwargs)


def export_many(
    targets: Sequence[tuple[str | os.PathLike, ExportFormat]],
    frames: Frames,
    fps: float = 24,
    *,
    options: ExportOptions | None = None,
    poster: Poster | None = None,
    clips: Mapping[int, LayerClip] | None = None,
    background: Color = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Write every (path, format) of `targets` from one pass over `frames`; returns the paths.

    Folders, options and the frame rate are checked before the first frame is drawn. If one
    format fails the others stop too (their files are left as they were) and its error is raised.
    """
    options = options or ExportOptions()
    fps = check_fps(fps)
    if clips and poster is None:
        raise PosterError("Exporting animated layers needs their poster too: pass poster= with clips=.")
    targets = [(Path(path), export_format) for path, export_format in targets]
    if not targets:
        raise PosterError("Choose at least one export format.")
    for path, export_format in targets:
        if export_format.layered and poster is None:
            raise PosterError("The layered bundle is made from the poster's layers: pass poster= (and clips=).")
        if export_format.download:
            check_output_folder(path)  # before rendering: a wrong folder should not cost a render
    source = as_stream(frames)
    views = [view_for(export_format, source, fps, options, background) for _, export_format in targets]
    progress_of = _shared_progress(progress, len(targets))

    def write(index: int, stream: FrameStream) -> Path:
        path, export_format = targets[index]
        return write_format(export_format, path, stream, views[index].fps, options, poster=poster, clips=clips,
                            background=background, progress=progress_of(index))

    if len(targets) == 1:
        return [write(0, views[0].stream(source))]
    return _Tee(_knowing_opacity(source), views).run(write)


def _knowing_opacity(source: FrameStream) -> FrameStream:
    """The source with its opacity known: encoders fed by the tee cannot scan it themselves.
    The compositor always knows; an in-memory array is scanned here (cheap)."""
    if source.opaque is not None:
        return source
    opaque = not has_transparency(source)
    return FrameStream(lambda: iter(source), len(source), source.width, source.height, source.fps, opaque=opaque,
                       pick=lambda indices: iter(source.pick(indices)))


def _shared_progress(progress: Progress | None, parts: int) -> Callable[[int], Progress | None]:
    """Each format's progress as its share of one bar (formats report from their threads)."""
    if progress is None:
        return lambda index: None
    if parts == 1:
        return lambda index: progress
    fractions = [0.0] * parts
    lock = threading.Lock()
    scale = 1000

    def part(index: int) -> Progress:
        def report(done: int, total: int) -> None:
            with lock:
                fractions[index] = done / max(total, 1)
                progress(round(scale * sum(fractions) / parts), scale)

        return report

    return part


class _Stopped(Exception):
    """A format's feed was stopped because another format (or the render) failed."""


class _Tee:
    """One pass over `source`, each frame handed to every view's consumers."""

    def __init__(self, source: FrameStream, views: Sequence[View]) -> None:
        self.source, self.views = source, list(views)
        self.queues: list[queue.Queue] = [
            queue.Queue(maxsize=queue_frames(*view.size(source))) for view in views]
        self.failed = threading.Event()
        self.errors: list[BaseException | None] = [None] * len(views)
        self.finished = [False] * len(views)

    def _feed(self, index: int) -> Iterator[np.ndarray]:
        while True:
            item = self.queues[index].get()
            if item is _END:
                return
            if item is None:
                raise _Stopped
            yield item

    def _consumer(self, index: int, write: Callable[[int, FrameStream], Path], results: list) -> None:
        view = self.views[index]
        width, height = view.size(self.source)
        fed = [False]

        def frames() -> Iterator[np.ndarray]:
            if fed[0]:
                raise PosterError("Internal error: a format fed by a shared render read its frames twice.")
            fed[0] = True
            return self._feed(index)

        stream = FrameStream(frames, len(view.picks), width, height, view.fps, opaque=view.opaque(self.source))
        try:
            results[index] = write(index, stream)
        except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread
            self.errors[index] = error
            self.failed.set()
        finally:
            self.finished[index] = True
            _drain(self.queues[index])  # never leave the feeding thread blocked on a full queue

    def _put(self, index: int, item: object) -> None:
        """Hand `item` to consumer `index` unless it has stopped; wait while its queue is full."""
        while not self.finished[index]:
            try:
                self.queues[index].put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def run(self, write: Callable[[int, FrameStream], Path]) -> list[Path]:
        results: list = [None] * len(self.views)
        threads = [threading.Thread(target=self._consumer, args=(i, write, results), daemon=True,
                                    name=f"export-{i}") for i in range(len(self.views))]
        for thread in threads:
            thread.start()
        wanted = sorted({i for view in self.views for i in view.picks})
        # Views that want the same picture share one converted frame (picks never repeat a frame:
        # a format's rate is at most the animation's).
        groups: dict[View, list[int]] = {}
        for index, view in enumerate(self.views):
            groups.setdefault(view, []).append(index)
        kept = {view: frozenset(view.picks) for view in groups}
        render_error: BaseException | None = None
        try:
            for position, frame in zip(wanted, self.source.pick(wanted)):
                if self.failed.is_set():
                    break
                frame = frame.copy()  # the compositor draws the next frame into the same buffer
                frame.flags.writeable = False
                for view, members in groups.items():
                    if position in kept[view]:
                        shown = view.convert(frame)
                        for index in members:
                            self._put(index, shown)
        except BaseException as error:  # noqa: BLE001 - stop the encoders, then raise
            render_error = error
        ending = None if render_error is not None or self.failed.is_set() else _END
        for index in range(len(self.views)):
            self._put(index, ending)
        for thread in threads:
            thread.join()
        if render_error is not None:
            raise render_error
        errors = [e for e in self.errors if e is not None and not isinstance(e, _Stopped)]
        if errors:
            raise next((e for e in errors if isinstance(e, PosterError)), errors[0])
        return results


def _drain(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
