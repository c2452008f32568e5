"""Build the Gradio app for a data folder and serve it: queue, limits, file access, cleanup.

Separate from app.py so tests start the very same server in a thread on a free port.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from app.config import Settings
from app.filegate import FileGate, upload_paths
from app.persist import restore
from app.session import SessionStore
from app.ui import build
from app.theme import CSS, editor_theme
from engine.motion.result_cache import set_data_dir

log = logging.getLogger(__name__)

CLEANUP_EVERY_S = 3600
MAX_UPLOAD = "500mb"


def warm_up() -> None:
    """Import the engine now, so the first designer's page does not wait for it."""
    import engine.render.compositor  # noqa: F401
    import engine.export  # noqa: F401
    import engine.motion.presets  # noqa: F401
    import engine.planning  # noqa: F401
    import engine.psd.load  # noqa: F401


def create(settings: Settings) -> tuple[gr.Blocks, SessionStore]:
    """The editor app and its session store, ready to launch."""
    warm_up()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    set_data_dir(settings.data_dir)  # generated clips are cached under it (unless POSTER_CACHE_DIR)
    store = SessionStore(settings.data_dir, restore=restore, upload_cache=upload_cache(),
                         max_live=settings.max_sessions, new_per_minute=settings.new_sessions_per_minute)
    swept = store.sweep_leftovers()
    if swept:
        log.info("removed %d file(s) left half-written by an earlier run", len(swept))
    store.cleanup()
    demo = build(store)
    # Each event has its own queue slot pool; heavy work shares one small pool (see ui.HEAVY).
    demo.queue(default_concurrency_limit=4)
    return demo, store


def upload_cache() -> Path:
    """Gradio's upload and output cache (app.py points GRADIO_TEMP_DIR into the data folder)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def _cleanup_loop(store: SessionStore, stop: threading.Event) -> None:
    while not stop.wait(CLEANUP_EVERY_S):
        deleted = store.cleanup()
        if deleted:
            log.info("removed %d idle session folder(s)", len(deleted))


def launch(settings: Settings, block: bool = True) -> tuple[gr.Blocks, SessionStore]:
    """Serve the editor. share is never on: the editor is for this machine unless --host says otherwise."""
    demo, store = create(settings)
    stop = threading.Event()
    threading.Thread(target=_cleanup_loop, args=(store, stop), daemon=True, name="session-cleanup").start()
    # Outputs are copied from the session folders into Gradio's cache, which is what the
    # page fetches; the gate (app.filegate) serves only those copies, never uploads, the
    # session folders or the browser secret.
    gate = Middleware(FileGate, cache_dir=upload_cache(), uploads=lambda: upload_paths(demo))
    demo.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        allowed_paths=[str(store.root)],
        blocked_paths=[str(settings.data_dir / "browser-secret")],
        app_kwargs={"middleware": [gate]},
        max_file_size=MAX_UPLOAD,
        footer_links=[],
        prevent_thread_lock=not block,
        show_error=True,
        theme=editor_theme(),
        css=CSS,
        # Gradio probes its own page once with a 3 s limit and exits when the probe times
        # out (it assumes localhost is unreachable and a share link is needed). share is never
        # on here, and a busy machine answers slowly, not never: the probe is all this skips.
        _frontend=False,
    )
    return demo, store
