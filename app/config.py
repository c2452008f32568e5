"""Where the editor listens and keeps its files: flags first, then environment, then defaults.

Kept apart from app.py so tests can check the precedence without starting a server.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_DATA_DIR = "./data"


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    data_dir: Path
    max_sessions: int = 64  # POSTER_MAX_SESSIONS: live sessions in memory (app.session)
    new_sessions_per_minute: int = 20  # POSTER_NEW_SESSIONS_PER_MINUTE: per client address


def parse_settings(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Flags win over POSTER_* variables, which win over the defaults (localhost only)."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="Poster Animator: the poster-animation editor in your browser.",
    )
    parser.add_argument("--host", default=environ.get("POSTER_HOST", DEFAULT_HOST),
                        help="address to listen on (POSTER_HOST; default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=None,
                        help="port to listen on (POSTER_PORT; default 7860)")
    parser.add_argument("--data-dir", default=environ.get("POSTER_DATA_DIR", DEFAULT_DATA_DIR),
                        help="folder for session files, uploads and exports (POSTER_DATA_DIR; default ./data)")
    args = parser.parse_args(argv)
    port = args.port
    if port is None:
        raw = environ.get("POSTER_PORT", str(DEFAULT_PORT))
        try:
            port = int(raw)
        except ValueError:
            parser.error(f"POSTER_PORT must be a port number, got {raw!r}.")
    if not 0 < port < 65536:
        parser.error(f"The port must be between 1 and 65535, got {port}.")
    limits = {}
    for name, field_name in (("POSTER_MAX_SESSIONS", "max_sessions"),
                             ("POSTER_NEW_SESSIONS_PER_MINUTE", "new_sessions_per_minute")):
        raw = environ.get(name)
        if raw is not None:
            if not raw.strip().isdigit() or int(raw) < 1:
                parser.error(f"{name} must be a whole number of at least 1, got {raw!r}.")
            limits[field_name] = int(raw)
    return Settings(host=args.host, port=port, data_dir=Path(args.data_dir).expanduser().resolve(), **limits)
