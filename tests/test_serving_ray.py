"""The i2v engine served by Ray Serve: a local Ray started here, a tiny model saved here.

With RAY_ADDRESS set, the editor's and the CLI's engine (engine.motion.service) sends the
call to a Ray Serve deployment of the engine; two designers animating at once are both
served, one generation at a time on the replica's device, and each gets exactly what the
engine makes in-process. One module-scoped cluster keeps this to one start-up.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import ray

from engine.core.poster import Box
from engine.motion.base import Cancelled, MotionRequest
from engine.motion.device_queue import waiting_message
from engine.motion.registry import get_engine, release
from engine.motion.service import get_service
from engine.psd.load import load_psd
from tests.helpers import i2v_tiny
from tests.helpers.paths import ASSETS_DIR

PROMPT = "the butterfly flaps its wings"
#: The variables the service reads; set for this module only.
ENV = ("RAY_ADDRESS", "I2V_MODEL", "I2V_DEVICE", "I2V_OFFLOAD", "POSTER_CACHE_MB")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, local_ray):
    """The session's local Ray (2 CPUs), the tiny model, and the variables pointing at both."""
    from ray import serve

    saved = {key: os.environ.get(key) for key in ENV}
    folder = i2v_tiny.ltx_i2v(tmp_path_factory.mktemp("ray-model") / "ltx")
    os.environ.update({"RAY_ADDRESS": ray.get_runtime_context().gcs_address, "I2V_MODEL": str(folder),
                       "I2V_DEVICE": "cpu", "POSTER_CACHE_MB": "0"})  # every call reaches the cluster
    os.environ.pop("I2V_OFFLOAD", None)
    try:
        yield folder
    finally:
        serve.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        release("i2v")


@pytest.fixture(scope="module")
def butterfly():
    layer = load_psd(ASSETS_DIR / "samples" / "flower.psd").layer("Butterfly")
    b = layer.box
    return layer, Box(b.x - 20, b.y - 30, b.w + 36, b.h + 50)


def test_two_concurrent_requests_are_served_by_ray_as_in_process(cluster, butterfly):
    import torch

    from engine.motion.ray_serving import RayAnimator

    layer, box = butterfly
    requests = [MotionRequest(layer=layer, box=box, prompt=PROMPT, frames=6, fps=12, seed=seed,
                              params={"resolution": i2v_tiny.TINY_RESOLUTION, "steps": 2}) for seed in (1, 2)]
    service = get_service("i2v")
    assert isinstance(service.inner, RayAnimator) and service.available()[0]
    heard: list[list[str]] = [[], []]
    results: list = [None, None]

    def call(index: int) -> None:
        try:
            results[index] = service.animate([requests[index]],
                                             progress=lambda d, t, m: heard[index].append(m))
        except Exception as error:  # noqa: BLE001 (read below)
            results[index] = error

    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    assert all(isinstance(r, list) for r in results), results
    for messages in heard:
        assert [m for m in messages if m.startswith("denoising step")] == ["denoising step 1 of 2",
                                                                            "denoising step 2 of 2"]
    assert not get_engine("i2v").loaded, "the model was loaded on the cluster, not here"

    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)  # as Ray's one-CPU replica runs
    try:
        local = get_engine("i2v").animate(requests[:1]) + get_engine("i2v").animate(requests[1:])
    finally:
        torch.set_num_threads(threads_before)
    for [served], here in zip(results, local):
        assert served.engine == "i2v" and served.box == here.box and served.layer_id == layer.id
        assert np.array_equal(served.frames, here.frames), "Ray's result equals the in-process one"
    assert not np.array_equal(results[0][0].frames, results[1][0].frames)

    # A request cancelled while the replica is busy leaves the line there.
    hold = threading.Event()
    cancel = threading.Event()
    long = MotionRequest(layer=layer, box=box, prompt=PROMPT, frames=6, fps=12, seed=3,
                         params={"resolution": i2v_tiny.TINY_RESOLUTION, "steps": 40})
    busy = threading.Thread(target=lambda: _quietly(service.animate, [long], progress=lambda *a: hold.set()),
                            daemon=True)
    busy.start()
    assert hold.wait(60)
    waited: list[str] = []

    def on_progress(_done, _total, message):
        waited.append(message)
        if message == waiting_message(1):
            cancel.set()

    with pytest.raises(Cancelled):
        service.animate([requests[0]], progress=on_progress, cancel=cancel)
    assert waited and waited[0] == waiting_message(1) and not any(m.startswith("denoising") for m in waited)
    busy.join(120)


def _quietly(function, *args, **kwargs) -> None:
    function(*args, **kwargs)
