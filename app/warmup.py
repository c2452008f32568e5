"""The poster preview made ready while the designer is still choosing what to animate.

The first Animate of a poster used to scale its layers to preview size and composite the
static ones before drawing its first frame (a quarter of a one-layer Animate on the
sample poster). Those depend only on the poster and on which layer moves lowest, which
is known once a poster is open and a layer selected, seconds before Animate is pressed.
So opening a poster and changing the selection queue that work on one background
thread (engine.render.compositor.prepare_preview); Animate then finds it kept, or waits
for the part still being made instead of making it twice. A newer request replaces one
that has not started yet.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from app.animating import PREVIEW_MAX_SIDE
from app.session import Session
from app.state import EditorState
from engine.render.compositor import prepare_preview
from engine.render.scale import preview_scale

log = logging.getLogger(__name__)

_pool = ThreadPoolExecutor(1, thread_name_prefix="preview-warmup")
_pending: list[Future] = []
_lock = threading.Lock()


def animated_next(state: EditorState) -> list[int]:
    """The layers that move in the next Animate's preview: every layer with a clip, the
    selection and the layers linked to a selected one (shadows follow their owner)."""
    ids = set(state.clips) | set(state.selection)
    if state.project is not None:
        followers = state.project.followers()
        for layer_id in state.selection:
            ids.update(followers.get(layer_id, ()))
    return sorted(ids)


def warm_preview(session: Session) -> None:
    """Queue the preview's layers and static composites for the session's poster (called
    under the session lock by the handlers that open a poster or change the selection)."""
    poster = session.state.poster
    if poster is None:
        return
    animated = animated_next(session.state)
    scale = preview_scale(poster.width, poster.height, PREVIEW_MAX_SIDE)

    def prepare() -> None:
        try:
            prepare_preview(poster, animated, scale)
        except Exception:  # noqa: BLE001 - a warm-up never fails a click; Animate makes it again
            log.exception("preparing the preview of %s failed", poster.name)

    with _lock:
        for older in _pending:
            older.cancel()  # not started yet: this request supersedes it
        _pending[:] = [future for future in _pending if not future.done()]
        _pending.append(_pool.submit(prepare))


def wait() -> None:
    """Block until every queued warm-up has finished (benchmarks and tests)."""
    with _lock:
        pending = list(_pending)
    for future in pending:
        if not future.cancelled():
            future.result()
