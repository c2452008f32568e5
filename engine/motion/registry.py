"""The engine registry: one long-lived instance per engine per process, shared by all sessions.

A generative engine holds gigabytes of weights, so it is created on first use, kept for
every later call from any browser session or thread, and dropped only when asked
(`release`). Engines are declared in one table and imported only when first asked for,
so choosing the CPU preset engine never imports the diffusion model's dependencies.
"""

from __future__ import annotations

import importlib
import threading

from engine.core.poster import PosterError
from engine.motion.base import Animator

#: Engine name -> (module, class). The first one is the default that works everywhere.
ENGINES: dict[str, tuple[str, str]] = {
    "presets": ("engine.motion.presets", "PresetAnimator"),
    "dmdl": ("engine.motion.dmdl_engine", "DMDLAnimator"),
    "i2v": ("engine.motion.i2v", "I2VAnimator"),
}
DEFAULT_ENGINE = next(iter(ENGINES))

_instances: dict[str, Animator] = {}
_lock = threading.Lock()  # guards _instances; engines guard their own model loading


def _key(name: str) -> str:
    key = (name or "").strip().lower()
    if key not in ENGINES:
        raise PosterError(f"There is no motion engine called '{name}'. Engines: {', '.join(ENGINES)}.")
    return key


def _engine_class(name: str) -> type:
    module_name, class_name = ENGINES[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise PosterError(f"The '{name}' motion engine is not part of this installation.") from None
        raise PosterError(
            f"The '{name}' motion engine cannot start because '{error.name}' is not installed: "
            "install the requirements, or use the 'presets' engine."
        ) from None
    return getattr(module, class_name)


def get_engine(name: str) -> Animator:
    """The one instance of engine `name` in this process, created on first use; a clear
    PosterError for an unknown or uninstallable engine."""
    key = _key(name)
    with _lock:
        engine = _instances.get(key)
        if engine is None:
            engine = _instances[key] = _engine_class(key)()
        return engine


def release(name: str | None = None) -> None:
    """Drop engine `name` (every engine when None) and its loaded models; the next
    `get_engine` makes a fresh one."""
    keys = list(ENGINES) if name is None else [_key(name)]
    with _lock:
        dropped = [_instances.pop(key) for key in keys if key in _instances]
    for engine in dropped:
        engine.release()


def is_loaded(name: str) -> bool:
    """Whether engine `name` has an instance in this process (its models may still be unloaded)."""
    return _key(name) in _instances


def available_engines() -> dict[str, tuple[bool, str]]:
    """For each engine in the table: whether it can run here and a sentence saying why (not)."""
    result: dict[str, tuple[bool, str]] = {}
    for name in ENGINES:
        try:
            result[name] = get_engine(name).available()
        except PosterError as error:
            result[name] = (False, str(error))
    return result


def engine_label(name: str) -> str:
    """What the editor's engine picker shows for `name` (the name itself if it cannot load)."""
    try:
        return get_engine(name).label
    except PosterError:
        return name


__all__ = ["DEFAULT_ENGINE", "ENGINES", "available_engines", "engine_label", "get_engine", "is_loaded", "release"]
