"""Start the poster-animation editor: `python app.py [--host H] [--port P] [--data-dir D]`.

Serves on 127.0.0.1:7860 by default (POSTER_HOST, POSTER_PORT, POSTER_DATA_DIR override),
never with a public share link. The work happens in app/; this file only parses options
and launches.
"""

from __future__ import annotations

import logging
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main(argv: list[str] | None = None) -> None:
    from app.config import parse_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = parse_settings(argv)
    # Gradio's copies of uploads and downloads stay inside the data folder too (set before
    # gradio is imported, which reads it once).
    os.environ.setdefault("GRADIO_TEMP_DIR", str(settings.data_dir / "gradio-cache"))
    from app.server import launch

    launch(settings)


if __name__ == "__main__":
    main(sys.argv[1:])
