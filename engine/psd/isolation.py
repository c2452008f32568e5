"""Parse an untrusted PSD in a child process with a memory cap and a deadline.

The header checks stop files that announce they are huge; this stops files that lie: a
compressed channel that inflates without end, a descriptor that loops, a parser bug that
allocates wildly. The child lowers its own address-space limit (RLIMIT_AS) before it
touches the file and sends the finished Poster back through a pipe; the parent kills it
at the deadline. The child is a plain fork of the caller, which already has numpy,
Pillow and psd-tools imported, so the cost per import is a fork and a pickle, not an
interpreter start (see docs/benchmarks/fidelity.md for the measured overhead). A fork
server would avoid forking a threaded editor process, but it re-imports the caller's
__main__, which breaks every script without a main guard; the deadline below bounds
the rare fork-with-threads deadlock instead.

The cap bounds how far the parse may *grow* the address space beyond what the parent had
mapped at the fork. Heap the parent had freed but not returned is reused first, so in a
long-lived process the effective budget is the configured one plus that slack (tens of
MB, seldom more); it still stops the runaway allocations this guard exists for.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
from pathlib import Path
from typing import Callable, TypeVar

from engine.core.poster import Poster, PosterError
from engine.psd.failures import describe_failure
from engine.psd.limits import ImportLimits, PsdHeader, memory_message

T = TypeVar("T")


def _context():
    """Fork where the platform has it (Linux, macOS); spawn elsewhere."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def run_isolated(
    load: Callable[[Path, PsdHeader, ImportLimits], Poster],
    path: Path,
    header: PsdHeader,
    limits: ImportLimits,
) -> Poster:
    """Run `load(path, header, limits)` in a capped child and return its Poster.

    A daemonic process (a multiprocessing pool worker) may not start children; there the
    parse runs in-process, still behind the header checks and psd-tools' own limits.
    """
    if multiprocessing.current_process().daemon:
        return load(path, header, limits)
    _warm_imports()
    return run_capped(load, (path, header, limits), path.name, limits)


def run_capped(work: Callable[..., T], args: tuple, name: str, limits: ImportLimits) -> T:
    """`work(*args)` in a forked child capped to `limits.max_memory_mb` and `limits.timeout_s`.

    The child's result comes back pickled, so `work` should return something small (a
    Poster, or None for a check); a PosterError in the child comes back as one. `name` is
    the file's name for the sentences. Used for PSD imports and for project files
    (engine.core.projectfile), the two files a designer brings from elsewhere.
    """
    if multiprocessing.current_process().daemon:
        return work(*args)
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(sender, work, args, name, limits), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limits.timeout_s):
            raise PosterError(
                f"Opening '{name}' took longer than {limits.timeout_s:g} seconds and was stopped: "
                "the file may be damaged or far too complex; save a flattened copy and try again."
            )
        try:
            status, payload = receiver.recv()
        except (EOFError, OSError):
            child.join(timeout=5)
            raise PosterError(
                f"Opening '{name}' stopped unexpectedly (exit code {child.exitcode}); it most likely "
                f"needed more than the {limits.max_memory_mb} MB of memory an import may use. Reduce the "
                "image size or merge layers in Photoshop, then try again."
            ) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(timeout=5)
    if status == "error":
        raise PosterError(payload)
    return payload


def _warm_imports() -> None:
    """Import what the child needs here, once, so each forked child inherits it for free."""
    import psd_tools  # noqa: F401, PLC0415
    import psd_tools.composite  # noqa: F401, PLC0415
    import psd_tools.composite.adjustments  # noqa: F401, PLC0415
    from PIL import ImageCms  # noqa: F401, PLC0415


def _child_main(sender, work, args: tuple, name: str, limits: ImportLimits) -> None:
    """Cap this process, run, and send back ("ok", result) or ("error", sentence)."""
    _cap_address_space(limits.max_memory_mb * 1024 * 1024)
    try:
        result = ("ok", work(*args))
    except PosterError as error:
        result = ("error", str(error))
    except MemoryError:
        result = ("error", memory_message(name, limits))
    except BaseException as error:  # noqa: BLE001 - the parent must get a sentence, not a traceback
        result = ("error", describe_failure(name, error))
    try:
        sender.send(result)
    except MemoryError:
        sender.send(("error", memory_message(name, limits)))
    finally:
        sender.close()


def _cap_address_space(extra_bytes: int) -> None:
    """Allow this process its current address space plus `extra_bytes`, no more."""
    current = _virtual_size_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = current + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _virtual_size_bytes() -> int:
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
