"""Dynamic Region Planner (paper section 4.3): a motion box, preset and parameters per prompt.

This is the package's public face (`plan`, `planner_status`, `boxes_for_preset`); the
pieces behind it are modules with one job each: how a motion sweeps a box (`geometry`,
also home of the one box-fitting rule every surface applies), the offline planner that
sizes a box for the preset engine's own reading of the prompt and checks plan parameters
against the preset registry (`heuristic`), and the LLM planner speaking any
OpenAI-compatible server (`llm`, `thumbnail`).

Given a poster and requests - one layer, or a group of layers sharing one prompt - each
plan says where every layer may move (its motion box, in poster pixels, on the 16-pixel
token grid, inside the canvas, containing the layer), which preset fits and with what
parameters, and why in one line.

When an OpenAI-compatible server is configured (OPENAI_API_KEY and/or OPENAI_BASE_URL)
an LLM plans each request, and the offline heuristic takes over for any request whose
answer is late, failed or implausible, saying so in the plan's `message`. With nothing
configured the heuristic plans everything: deterministic, instant, no network.

    plans = engine.plan(poster, [("Bird 1", "flies away to the right"),
                                 (["Bird 2", "Bird 3"], "the birds fly together")])
    plans[0].boxes   # {"Bird 1": (x, y, w, h)}
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence, Union

from engine.planning.heuristic import (HeuristicPlan, boxes_for_motion, checked_params, plan_heuristically,
                                       reads_as_sequence, with_placement_defaults)
from engine.planning.llm import LLMPlan, LLMSettings, PlanRejected, ask_llm
from engine.planning.thumbnail import annotated_thumbnail, png_data_url, poster_thumbnail
from engine.core.poster import Box, Poster, PosterError
from engine.core.progress import ProgressCallback

__all__ = ["Plan", "PlanRequest", "LLMSettings", "plan", "planner_status", "boxes_for_preset"]

#: Several requests are asked concurrently: a designer planning five layers waits for one answer, not five.
MAX_PARALLEL_REQUESTS = 4
#: LLM requests run on their own small pool, shared by every caller in the process, so a
#: slow server ties up these threads and nothing else (animation and export have theirs).
_LLM_POOL = ThreadPoolExecutor(MAX_PARALLEL_REQUESTS, thread_name_prefix="llm-planner")

LayerKey = Union[int, str]


@dataclass(frozen=True)
class PlanRequest:
    """Layers (ids or names) that move under one prompt."""

    layers: tuple[LayerKey, ...]
    prompt: str

    @classmethod
    def from_any(cls, value: "PlanRequest | Sequence | Mapping") -> "PlanRequest":
        """Accept a PlanRequest, (layers, prompt) or {"layers": ..., "prompt": ...}.

        `layers` is one id or name, or a list of them for a group.
        """
        if isinstance(value, PlanRequest):
            return value
        if isinstance(value, Mapping):
            layers, prompt = value.get("layers"), value.get("prompt")
        elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            layers, prompt = value
        else:
            raise PosterError(
                f"A planning request is (layers, prompt), e.g. ('Sun', 'spins slowly'); got {value!r}."
            )
        if isinstance(layers, (str, int)):
            layers = (layers,)
        if not isinstance(layers, Iterable) or not isinstance(prompt, str):
            raise PosterError(f"A planning request is (layers, prompt) with a text prompt; got {value!r}.")
        return cls(tuple(layers), prompt)


@dataclass
class Plan:
    """One request's plan: motion box per layer, preset, parameters, and why.

    `source` is 'llm' or 'heuristic'; `message` says why the heuristic stood in for the
    LLM (None when nothing went wrong).
    """

    layer_ids: tuple[int, ...]
    layer_names: tuple[str, ...]
    prompt: str
    layer_boxes: dict[int, Box]
    preset: str
    params: dict[str, Any]
    rationale: str
    source: str
    message: str | None = None
    #: A sequence prompt's step presets in order (or the one step of two motions played at
    #: once); empty for one motion. Then `preset` is the first step's only: leave the
    #: preset on Auto so every motion plays.
    steps: tuple[str, ...] = ()

    @property
    def boxes(self) -> dict[str, tuple[int, int, int, int]]:
        """{layer name: (x, y, w, h)}; a name shared by two planned layers gets its id appended."""
        names = list(self.layer_names)
        keys = [f"{n} #{i}" if names.count(n) > 1 else n for n, i in zip(names, self.layer_ids)]
        return {key: self.layer_boxes[i].as_tuple() for key, i in zip(keys, self.layer_ids)}


@dataclass
class _Resolved:
    request: PlanRequest
    layer_ids: tuple[int, ...] = field(default_factory=tuple)


def plan(
    poster: Poster,
    requests: Iterable[PlanRequest | Sequence | Mapping],
    *,
    settings: LLMSettings | None = None,
    use_llm: bool = True,
    progress: ProgressCallback | None = None,
) -> list[Plan]:
    """Plan every request, in order. The LLM is used when configured and `use_llm`.

    `progress(done, total)` is called as each request's plan is ready (LLM answers take
    seconds, so the editor can show how many are in).
    """
    resolved = [_resolve(poster, PlanRequest.from_any(r)) for r in _as_list(requests)]
    settings = LLMSettings.from_env() if settings is None else settings
    report = progress or (lambda done, total: None)
    if not (use_llm and settings.enabled) or not resolved:
        plans = []
        for item in resolved:
            plans.append(_heuristic_plan(poster, item))
            report(len(plans), len(resolved))
        return plans
    base = poster_thumbnail(poster)
    with settings.client() as client:
        futures = [_LLM_POOL.submit(_llm_plan, poster, item, client, settings, base) for item in resolved]
        try:
            for done, _ in enumerate(as_completed(futures, timeout=settings.deadline), start=1):
                report(done, len(resolved))
        except FuturesTimeout:
            pass  # the client's transport ends the stragglers; their requests are planned offline
        late = f"did not answer within {settings.deadline:g} s"
        return [future.result() if future.done() else _heuristic_plan(poster, item, _llm_note(settings, late))
                for future, item in zip(futures, resolved)]


def planner_status(settings: LLMSettings | None = None) -> tuple[str, str]:
    """Which planner is active, as (name, sentence) for the editor's status line."""
    settings = LLMSettings.from_env() if settings is None else settings
    if settings.enabled:
        name = settings.display_name
        return name, f"{name} plans motion boxes; the offline heuristic stands in when it fails."
    return "offline heuristic", "offline heuristic: set OPENAI_API_KEY to use an LLM"


def boxes_for_preset(poster: Poster, layers: Sequence[LayerKey] | LayerKey, preset: str, params: Mapping[str, Any] | None = None,
                     together: tuple[str, Mapping[str, Any]] | None = None) -> dict[int, Box]:
    """Motion boxes for a preset the designer picked by hand (no prompt, no LLM).

    `params` are the preset's (amplitude, pivot, direction...); unknown presets or
    out-of-range values get the preset registry's own sentence. `together` (preset,
    settings) is a motion played at the same time: the boxes hold both.
    """
    keys = (layers,) if isinstance(layers, (str, int)) else tuple(layers)
    ids = _layer_ids(poster, keys)
    chosen = with_placement_defaults(preset, checked_params(preset, dict(params or {})))
    statics = [poster.layer(i).box for i in ids]
    also = (together[0], dict(together[1])) if together else None
    return dict(zip(ids, boxes_for_motion(statics, poster.canvas, preset, chosen, also)))


def _as_list(requests: Any) -> list[Any]:
    if isinstance(requests, (str, PlanRequest)) or isinstance(requests, Mapping):
        raise PosterError("Pass a list of planning requests, e.g. [('Sun', 'spins slowly')].")
    return list(requests)


def _resolve(poster: Poster, request: PlanRequest) -> _Resolved:
    """Layer ids for the request's names, with designer-readable errors for every mistake."""
    if not request.prompt.strip():
        raise PosterError("Type a motion prompt (e.g. 'sways gently') before planning its box.")
    return _Resolved(request, _layer_ids(poster, request.layers))


def _layer_ids(poster: Poster, keys: Sequence[LayerKey]) -> tuple[int, ...]:
    """Ids for layer names or ids, refusing none, empty layers and repeats with a sentence."""
    if not keys:
        raise PosterError("A planning request needs at least one layer.")
    ids: list[int] = []
    for key in keys:
        layer = poster.layer(key)
        if layer.box.is_empty:
            raise PosterError(f"Layer '{layer.name}' is empty, so there is nothing to animate.")
        if layer.id in ids:
            raise PosterError(f"Layer '{layer.name}' is listed twice in one request.")
        ids.append(layer.id)
    return tuple(ids)


def _heuristic_plan(poster: Poster, item: _Resolved, message: str | None = None) -> Plan:
    layers = [poster.layer(i) for i in item.layer_ids]
    result = plan_heuristically(layers, item.request.prompt, poster.canvas)
    return _plan_from(poster, item, result, "heuristic", message)


def _llm_plan(poster: Poster, item: _Resolved, client: Any, settings: LLMSettings, base: Any) -> Plan:
    if reads_as_sequence([poster.layer(i) for i in item.layer_ids], item.request.prompt, poster.canvas):
        # an LLM plan names one preset; the heuristic sizes the box for every motion the prompt names
        return _heuristic_plan(poster, item, "The prompt names several motions (one after another or at "
                                             "the same time), so the offline planner sized the box for all of them.")
    picture = annotated_thumbnail(base, poster, item.layer_ids)
    try:
        answer = ask_llm(client, settings, poster, item.layer_ids, item.request.prompt, png_data_url(picture), picture.size)
    except PlanRejected as reason:
        return _heuristic_plan(poster, item, _llm_note(settings, str(reason)))
    answer, note = _with_room_for_motion(poster, item.layer_ids, answer)
    return _plan_from(poster, item, answer, "llm", note)


def _llm_note(settings: LLMSettings, reason: str) -> str:
    return (f"The LLM planner ({settings.display_name}) could not plan this: {reason}; "
            "the offline heuristic planned it instead.")


def _with_room_for_motion(poster: Poster, layer_ids: Sequence[int], answer: LLMPlan) -> tuple[LLMPlan, str | None]:
    """Grow LLM boxes that are smaller than their preset's motion needs.

    The LLM judges room by eye; the preset engine knows exactly what its motion sweeps and
    would otherwise shrink the motion to fit. A box at least that large keeps the
    animation at the strength the plan promises, and the plan says which boxes grew.
    """
    static = [poster.layer(i).box for i in layer_ids]
    needed = boxes_for_motion(static, poster.canvas, answer.preset, answer.params)
    boxes = [given.union(need) for given, need in zip(answer.boxes, needed)]
    grown = [poster.layer(i).name for i, given, box in zip(layer_ids, answer.boxes, boxes) if box != given]
    if not grown:
        return answer, None
    names = ", ".join(f"'{name}'" for name in grown)
    note = f"The LLM's box for {names} was too small for its {answer.preset} motion, so it was widened to fit."
    return replace(answer, boxes=boxes), note


def _plan_from(poster: Poster, item: _Resolved, result: HeuristicPlan | LLMPlan, source: str, message: str | None) -> Plan:
    return Plan(
        layer_ids=item.layer_ids,
        layer_names=tuple(poster.layer(i).name for i in item.layer_ids),
        prompt=item.request.prompt,
        layer_boxes=dict(zip(item.layer_ids, result.boxes)),
        preset=result.preset,
        params=result.params,
        rationale=result.rationale,
        source=source,
        message=message,
        steps=getattr(result, "steps", ()),
    )
