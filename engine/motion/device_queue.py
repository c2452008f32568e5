"""One generative job at a time per device, first come first served, the wait made visible.

Two generations on one GPU do not finish sooner than one after the other; they run out
of memory or thrash it. So every generative engine call takes a turn on its device's
queue (the preset engine never does: it is CPU work that never waits behind a GPU job).
While a request waits, its progress callback hears "waiting: 2 ahead of you" whenever
the number changes, and a cancel while waiting takes the request out of the line at once.

The same queue runs in the editor's process and inside a Ray Serve replica
(engine.motion.ray_serving), so the position a designer sees is the device's own line.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from engine.motion.base import Cancelled, CancelToken, Progress

#: How often a waiting request looks at its cancel token (a queue has no event for it).
CANCEL_POLL_S = 0.05


def waiting_message(ahead: int) -> str:
    """The status a waiting request shows (the one wording, used by the editor and the tests)."""
    return f"waiting: {ahead} ahead of you"


class DeviceQueue:
    """A first-come-first-served line of engine calls for one device; the head one runs."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._cond = threading.Condition()
        self._line: list[object] = []

    def __len__(self) -> int:
        """Calls in line, the running one included."""
        with self._cond:
            return len(self._line)

    @contextmanager
    def turn(self, progress: Progress | None = None, cancel: CancelToken | None = None) -> Iterator[None]:
        """Wait for this call's turn (reporting the position), run the body, leave the line."""
        ticket = object()
        with self._cond:
            self._line.append(ticket)
        try:
            told: int | None = None
            while True:
                with self._cond:
                    ahead = self._line.index(ticket)
                    if ahead and ahead == told and not (cancel is not None and cancel.is_set()):
                        self._cond.wait(CANCEL_POLL_S)
                        ahead = self._line.index(ticket)
                if ahead == 0:
                    break
                if cancel is not None and cancel.is_set():
                    raise Cancelled(
                        "Cancelled while waiting for the GPU: the request left the queue and the layers "
                        "keep their previous clips."
                    )
                if ahead != told:
                    told = ahead
                    if progress is not None:
                        progress(0, 1, waiting_message(ahead))
            yield
        finally:
            with self._cond:
                self._line.remove(ticket)
                self._cond.notify_all()


_queues: dict[str, DeviceQueue] = {}
_lock = threading.Lock()


def device_key(device: str | None) -> str:
    """One name per physical device: "cuda" and "cuda:0" are the same GPU."""
    name = (device or "cpu").strip().lower()
    return "cuda:0" if name == "cuda" else name


def device_queue(device: str | None) -> DeviceQueue:
    """The one queue of `device` in this process."""
    key = device_key(device)
    with _lock:
        queue = _queues.get(key)
        if queue is None:
            queue = _queues[key] = DeviceQueue(key)
        return queue


__all__ = ["CANCEL_POLL_S", "DeviceQueue", "device_key", "device_queue", "waiting_message"]
