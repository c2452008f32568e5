"""Progress reporting shared by the command line and long engine calls.

Engine functions take an optional `progress(done, total)` callable instead of printing,
so the editor can drive its progress bar and the command line a console bar.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator

from tqdm import tqdm

ProgressCallback = Callable[[int, int], None]


@contextlib.contextmanager
def console_progress(label: str, quiet: bool = False) -> Iterator[ProgressCallback]:
    """A tqdm bar on stderr, fed by `progress(done, total)` calls; silent when quiet or piped."""
    bar: tqdm | None = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            bar = tqdm(total=total, desc=label, unit="frame", file=sys.stderr, leave=False,
                       disable=not sys.stderr.isatty())
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()
