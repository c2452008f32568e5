"""Generative engines as Ray Serve deployments, and the client Animator that calls them.

With `RAY_ADDRESS` set, engine.motion.service hands the editor and the CLI a `RayAnimator`
instead of the in-process engine. It has the engine's own name, parameters and
availability (read here, where the designer's settings are), and forwards `animate` to a
Ray Serve application running the same engine on the cluster:

- one application per engine and model (its name carries a digest of the model's
  identity and the engine's variables), deployed on first use and found again by name
  by every later editor or CLI process; the replica asks for a GPU when the cluster has
  one, and gets this checkout's `engine` package (runtime_env py_modules), so the
  cluster runs the code the editor runs; the model folder must be readable there;
- inside the replica the engine runs behind its device queue (engine.motion.queued):
  requests from every editor wait in one line, one generation at a time;
- the call streams ("progress", done, total, message) events back, the queue position
  included, and finally ("clips", clips); a cancel on this side cancels the Serve request,
  which stops the replica's engine within a step or takes the request out of the line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from pathlib import Path
from typing import Any, Sequence

from engine.core.clip import LayerClip
from engine.core.poster import PosterError
from engine.motion.base import Animator, Cancelled, CancelToken, MotionRequest, Progress
from engine.motion.device_queue import CANCEL_POLL_S
from engine.motion.queued import ForwardingAnimator, QueuedAnimator

APP_PREFIX = "poster-"
#: Requests a replica accepts at once: they wait in its device queue (where their position
#: is reported), not in Ray's router (where it is not).
MAX_ONGOING_REQUESTS = 64
#: This checkout's `engine` package, shipped to the replicas.
ENGINE_PACKAGE = Path(__file__).resolve().parents[1]


class EngineReplica:
    """What runs in the Ray Serve replica: the engine behind its device queue, progress streamed."""

    def __init__(self, engine_name: str) -> None:
        from engine.motion.registry import get_engine

        self.engine = QueuedAnimator(get_engine(engine_name))

    async def animate(self, requests: list[MotionRequest], group_prompt: str | None):
        """Yields ("progress", done, total, message)… then ("clips", clips), ("cancelled", why)
        or ("error", sentence). A cancelled Serve request cancels the engine call."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        cancel = threading.Event()

        def progress(done: int, total: int, message: str) -> None:
            loop.call_soon_threadsafe(events.put_nowait, ("progress", done, total, message))

        def work() -> tuple[Any, ...]:
            try:
                return ("clips", self.engine.animate(requests, group_prompt=group_prompt, progress=progress,
                                                     cancel=cancel))
            except Cancelled as stopped:
                return ("cancelled", str(stopped))
            except PosterError as error:
                return ("error", str(error))

        result = loop.run_in_executor(None, work)
        try:
            while True:
                getter = asyncio.ensure_future(events.get())
                await asyncio.wait({getter, result}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield getter.result()
                    continue
                getter.cancel()
                while not events.empty():
                    yield events.get_nowait()
                yield await result
                return
        finally:
            cancel.set()  # the request was cancelled (or the stream dropped): stop the engine too


def app_name(engine: str, env: dict[str, str], model: str) -> str:
    """The Serve application of `engine` with this model and these settings."""
    digest = hashlib.blake2b(json.dumps([engine, sorted(env.items()), model]).encode(), digest_size=6).hexdigest()
    return f"{APP_PREFIX}{engine}-{digest}"


_handles: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()  # one deployment at a time from this process


def _connect(address: str) -> None:
    """Join the cluster as a job that ships this checkout's `engine` package (py_modules):
    the replicas Serve starts for this job inherit it, so the cluster runs the editor's code."""
    import ray

    if ray.is_initialized():
        return
    try:
        ray.init(address=address, log_to_driver=False, runtime_env={"py_modules": [str(ENGINE_PACKAGE)]})
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise PosterError(
            f"No Ray cluster answers at RAY_ADDRESS={address} ({_first_line(error)}): start it, or unset "
            "RAY_ADDRESS to run the engine in this process."
        ) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def deployment_handle(engine: str, env: dict[str, str], model: str, address: str):
    """A handle to the engine's application on the cluster, deployed on first use."""
    import ray
    from ray import serve
    from ray.serve.exceptions import RayServeException

    name = app_name(engine, env, model)
    with _lock:
        handle = _handles.get((address, name))
        if handle is not None:
            return handle
        _connect(address)
        state = serve.status().applications.get(name)
        if state is not None and state.status in ("RUNNING", "DEPLOYING"):
            handle = serve.get_app_handle(name)  # another editor deployed it: share its replica
        else:
            if state is not None:
                serve.delete(name)  # failed or unhealthy: deploy it again
            resources: dict[str, Any] = {"num_cpus": 1, "runtime_env": {"env_vars": env}}
            if ray.cluster_resources().get("GPU", 0) >= 1:
                resources["num_gpus"] = 1
            deployment = serve.deployment(EngineReplica).options(
                name=engine, num_replicas=1, max_ongoing_requests=MAX_ONGOING_REQUESTS, ray_actor_options=resources,
            )
            try:
                serve.start(proxy_location="Disabled")  # handles only: no HTTP port opened on the cluster
                handle = serve.run(deployment.bind(engine), name=name, route_prefix=None)
            except (RayServeException, RuntimeError, ValueError) as error:
                raise PosterError(
                    f"The Ray cluster could not start the {engine} engine ({_first_line(error)}): check that "
                    "the model folder and the requirements are there on its workers, or unset RAY_ADDRESS."
                ) from None
        _handles[(address, name)] = handle
        return handle


class RayAnimator(ForwardingAnimator):
    """The engine's client: parameters and availability from the local engine, `animate`
    on the cluster, progress and cancel carried across."""

    def __init__(self, engine: Animator, env: dict[str, str], model: str, address: str) -> None:
        super().__init__(engine)
        self.env, self.model, self.address = dict(env), model, address

    def animate(
        self,
        requests: Sequence[MotionRequest],
        *,
        group_prompt: str | None = None,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> list[LayerClip]:
        from ray.exceptions import RayError
        from ray.serve.exceptions import RayServeException, RequestCancelledError

        try:
            handle = deployment_handle(self.name, self.env, self.model, self.address)
            stream = handle.options(stream=True).animate.remote(list(requests), group_prompt)
        except (RayError, RayServeException) as error:
            raise self._unreachable(error) from None
        done = threading.Event()
        if cancel is not None:
            def watch() -> None:
                while not done.wait(CANCEL_POLL_S):
                    if cancel.is_set():
                        stream.cancel()
                        return

            threading.Thread(target=watch, daemon=True, name="ray-cancel").start()
        try:
            for event in stream:
                kind = event[0]
                if kind == "progress":
                    if progress is not None:
                        progress(*event[1:])
                elif kind == "clips":
                    return event[1]
                elif kind == "cancelled":
                    raise Cancelled(event[1])
                else:
                    raise PosterError(event[1])
        except RequestCancelledError:
            raise Cancelled() from None
        except (RayError, RayServeException) as error:
            if cancel is not None and cancel.is_set():
                raise Cancelled() from None
            raise self._unreachable(error) from None
        finally:
            done.set()
        raise PosterError(f"The Ray cluster's {self.name} engine ended without a result: animate again.")

    def _unreachable(self, error: Exception) -> PosterError:
        return PosterError(
            f"The {self.name} engine on the Ray cluster at {self.address} failed ({_first_line(error)}): check "
            "the cluster's "
            "logs, or unset RAY_ADDRESS to run it in this process."
        )


__all__ = ["APP_PREFIX", "EngineReplica", "MAX_ONGOING_REQUESTS", "RayAnimator", "app_name", "deployment_handle"]
