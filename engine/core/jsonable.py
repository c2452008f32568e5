"""Turning engine settings into JSON for manifests (project files, export bundles)."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.core.poster import Box


def json_default(value: Any) -> Any:
    """`json.dumps(default=...)` hook: numpy numbers and arrays, tuples, sets and boxes.

    Motion parameters come from engines and the editor with numpy scalars and tuples in
    them; they are stored as plain JSON numbers and lists (tuples come back as lists).
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Box):
        return list(value.as_tuple())
    raise TypeError(f"a {type(value).__name__} value is not a plain setting")
