"""Hostile inputs for the hardening tests: edited project files, raw HTTP as any visitor."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, Callable

from engine.core.poster import Poster
from engine.core.project import Project, Timeline
from engine.core.projectfile import save_project


def project_file(path: Path, poster: Poster, change: Callable[[dict[str, Any]], None],
                 extra: dict[str, bytes] | None = None) -> Path:
    """A project saved by the editor, then its project.json edited by `change` (and members added)."""
    saved = save_project(Project(poster=poster, timeline=Timeline(fps=6, frames=6)), path.with_suffix(".orig"))
    with zipfile.ZipFile(saved) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    doc = json.loads(members["project.json"])
    change(doc)
    members["project.json"] = json.dumps(doc).encode().replace(b'"NaN"', b"NaN").replace(b'"Infinity"', b"1e999")
    members.update(extra or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, b""


def upload(url: str, name: str, data: bytes) -> str:
    """POST a file to Gradio's upload route as any visitor can; returns the path it names."""
    boundary = "----hardening"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "/gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())[0]
