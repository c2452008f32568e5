"""Which files the editor's origin serves: only what the editor produced, never inline script.

Gradio's file route serves three kinds of path: anything under `allowed_paths`, its own
cache (where it copies every file an event returns), and its upload folder. Inline, with
the file's real type, for the first kind. That made the upload cache a stored-XSS drop:
`POST /gradio_api/upload` an `.html` or `.svg`, then `GET /gradio_api/file=<its path>`
ran script from the editor's own origin, where the session token lives.

This gate sits in front of Gradio (an ASGI middleware) and lets a file request through
only for a path inside Gradio's cache that did not arrive as an upload: the copies Gradio
makes of every file an event returns (previews, exports, layer pictures). Those paths
carry a secret-seeded content hash, so a URL is known only to the session it was returned
to. Uploads (the editor also moves them out of the cache at once), the session folders,
`browser-secret` and remote URLs get 404. Whatever passes is sent with `nosniff` and a
sandboxing CSP, and HTML/SVG/XML types as downloads, so even a produced file can never
run as a page.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import unquote

#: The prefixes of Gradio's file route (the second is its deprecated alias).
FILE_ROUTES = ("/gradio_api/file=", "/file=")
#: Types a browser renders as a document (so script in them would run): always downloads.
ACTIVE_TYPES = (b"text/html", b"image/svg+xml", b"application/xhtml+xml", b"text/xml", b"application/xml",
                b"text/javascript", b"application/javascript")
SAFE_HEADERS = [(b"x-content-type-options", b"nosniff"),
                (b"content-security-policy", b"sandbox; default-src 'none'; media-src 'self'; img-src 'self'")]


def upload_paths(blocks: Any) -> set[str]:
    """Every path Gradio's upload route has written (uploads are never served back)."""
    return {os.path.realpath(p) for p in list(blocks.upload_file_set)}


class FileGate:
    """ASGI middleware: file requests pass only for produced files (see module docstring)."""

    def __init__(self, app: Callable, cache_dir: Path, uploads: Callable[[], Iterable[str]]) -> None:
        self.app = app
        self.cache_dir = os.path.realpath(cache_dir)
        self.uploads = uploads

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        route = next((prefix for prefix in FILE_ROUTES if path.startswith(prefix)), None)
        if route is None:
            await self.app(scope, receive, send)
            return
        wanted = unquote(path[len(route):])
        if not self.allowed(wanted):
            await _not_found(send)
            return
        await self.app(scope, receive, _safe_headers(send))

    def allowed(self, wanted: str) -> bool:
        """A produced file: inside Gradio's cache, one folder down, and not an upload."""
        if "://" in wanted or not wanted:
            return False  # the editor never proxies remote files
        real = os.path.realpath(wanted)
        if os.path.dirname(os.path.dirname(real)) != self.cache_dir:
            return False
        return os.path.isfile(real) and real not in set(self.uploads())


def _safe_headers(send: Callable) -> Callable:
    """`send` with nosniff and a sandbox CSP added, and document types turned into downloads."""

    async def wrapped(message: dict) -> None:
        if message.get("type") == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
            content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            if content_type.split(b";")[0].strip().lower() in ACTIVE_TYPES:
                headers = [(k, v) for k, v in headers if k.lower() not in (b"content-type", b"content-disposition")]
                headers += [(b"content-type", b"application/octet-stream"), (b"content-disposition", b"attachment")]
            message = {**message, "headers": headers + SAFE_HEADERS}
        await send(message)

    return wrapped


async def _not_found(send: Callable) -> None:
    body = b"Not found."
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode()),
                            *SAFE_HEADERS]})
    await send({"type": "http.response.body", "body": body})
