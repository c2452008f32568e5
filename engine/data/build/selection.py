"""Stage I: a vision LLM chooses what moves and says how (paper §3, Figure 2, left).

Given the poster's thumbnail with numbered layer boxes and the layer list, the model
answers a strict JSON schema: for each layer worth animating whether it is text or an
object, an open-vocabulary motion prompt per object layer, and group prompts for objects
that should move together. It is asked through the planner's client and settings (any
OpenAI-compatible server: GPT-4o as in the paper, Qwen2.5-VL on vLLM). Whatever comes back
is checked; an answer that fails the checks is asked again (`attempts`), and the model's
raw answer and every problem are kept in the poster's record, so a bad selection is
explained rather than silently dropped. Text layers get one of the presets' closed-set
text effects (the presets render those directly, as the paper's text stage does).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict

from engine.core.poster import LayerKind, Poster, PosterError
from engine.motion.presets import PRESETS
from engine.planning.llm import LLMSettings
from engine.planning.thumbnail import annotated_thumbnail, png_data_url, poster_thumbnail

#: The presets' text effects, which text layers get instead of an I2V prompt.
TEXT_EFFECTS = tuple(sorted(name for name, preset in PRESETS.items() if preset.for_text))
PROMPT_CHARS = 300
MAX_LAYERS_SHOWN = 40

SYSTEM_PROMPT = """You select layers of a poster to animate, for a dataset of animated transparent layers.
You see the poster with layers outlined and numbered, and a JSON list of those layers (index, name, kind, box).
Answer with JSON only, following the schema:
- "layers": one entry per layer worth animating: its "index", "kind" ("text" for typography, "object" for
  anything else that could move), and for objects a short motion "prompt" saying how it moves in natural
  language ("the balloon drifts upward, swaying gently"); for text an empty prompt.
  Leave out backgrounds, frames and layers that should stay still.
- "groups": objects that should move together as one action (a flock, falling leaves), each with its
  "members" (indices of object layers, at least two, each in one group at most) and a shared "prompt".
"""


class LayerChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: int
    kind: Literal["text", "object"]
    prompt: str


class GroupChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    members: list[int]
    prompt: str


class SelectionAnswer(BaseModel):
    """The schema the model must answer (sent as a strict Structured Outputs schema)."""

    model_config = ConfigDict(extra="forbid")
    layers: list[LayerChoice]
    groups: list[GroupChoice]


@dataclass
class Selection:
    """What stage I decided for one poster, with the record of how."""

    objects: dict[int, str] = field(default_factory=dict)  # layer id -> motion prompt
    texts: dict[int, str] = field(default_factory=dict)  # layer id -> text effect (preset name)
    groups: list[tuple[list[int], str]] = field(default_factory=list)  # members, group prompt
    record: dict[str, Any] = field(default_factory=dict)  # raw answers, problems, model

    @property
    def empty(self) -> bool:
        return not (self.objects or self.texts or self.groups)


def candidates(poster: Poster) -> list[int]:
    """Layers the model is shown: visible, not empty, at most MAX_LAYERS_SHOWN (largest first)."""
    shown = [layer for layer in poster.layers if layer.visible and layer.box.w > 1 and layer.box.h > 1]
    shown.sort(key=lambda layer: layer.box.w * layer.box.h, reverse=True)
    return sorted(layer.id for layer in shown[:MAX_LAYERS_SHOWN])


def messages(poster: Poster, layer_ids: list[int]) -> list[dict[str, Any]]:
    picture = annotated_thumbnail(poster_thumbnail(poster), poster, layer_ids)
    listing = [{"index": i, "name": poster.layer(i).name, "kind": poster.layer(i).kind.value,
                "box": list(poster.layer(i).box.as_tuple())} for i in layer_ids]
    payload = {"canvas": [poster.width, poster.height], "layers": listing}
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": [
            {"type": "text", "text": json.dumps(payload, ensure_ascii=False)},
            {"type": "image_url", "image_url": {"url": png_data_url(picture), "detail": "low"}},
        ]},
    ]


def check(answer: SelectionAnswer, poster: Poster, shown: list[int]) -> Selection:
    """The answer as a Selection, or PosterError naming the first problem."""
    selection = Selection()
    seen: set[int] = set()
    for choice in answer.layers:
        if choice.index not in shown:
            raise PosterError(f"layer {choice.index} is not one of the numbered layers")
        if choice.index in seen:
            raise PosterError(f"layer {choice.index} is chosen twice")
        seen.add(choice.index)
        if choice.kind == "object":
            if not choice.prompt.strip():
                raise PosterError(f"object layer {choice.index} has no motion prompt")
            selection.objects[choice.index] = choice.prompt.strip()[:PROMPT_CHARS]
        else:
            selection.texts[choice.index] = text_effect(poster, choice.index)
    grouped: set[int] = set()
    for group in answer.groups:
        members = sorted(set(group.members))
        if len(members) < 2:
            raise PosterError("a group needs at least two members")
        if not set(members) <= set(selection.objects):
            raise PosterError(f"group members {members} must all be chosen object layers")
        if grouped & set(members):
            raise PosterError(f"a layer is in two groups ({sorted(grouped & set(members))})")
        if not group.prompt.strip():
            raise PosterError(f"group {members} has no prompt")
        grouped |= set(members)
        selection.groups.append((members, group.prompt.strip()[:PROMPT_CHARS]))
    for members, _ in selection.groups:  # grouped layers move as their group, not alone
        for member in members:
            selection.objects.pop(member)
    return selection


def text_effect(poster: Poster, layer_id: int) -> str:
    """A text effect for a text layer, deterministic per poster and layer (rebuilds agree)."""
    digest = hashlib.sha1(f"{poster.name}/{layer_id}".encode()).digest()
    return TEXT_EFFECTS[digest[0] % len(TEXT_EFFECTS)]


def select(poster: Poster, settings: LLMSettings, attempts: int = 2) -> Selection:
    """Ask the model (up to `attempts` times while its answers fail the checks).

    Transport retries and backoff are the openai client's own (`settings.max_retries`).
    Raises PosterError with every attempt's problem when no answer passes; the caller
    logs that poster as failed and goes on.
    """
    import openai  # noqa: PLC0415 (slow import)

    if not settings.enabled:
        raise PosterError("Stage I needs a vision LLM: set OPENAI_BASE_URL (and OPENAI_API_KEY for hosted APIs).")
    shown = candidates(poster)
    if not shown:
        raise PosterError(f"'{poster.name}' has no visible layers to choose from.")
    client = settings.client()
    record: dict[str, Any] = {"model": settings.model, "server": settings.host, "shown": shown, "attempts": []}
    for _ in range(max(1, attempts)):
        raw = ""
        try:
            response = client.chat.completions.parse(
                model=settings.model, messages=messages(poster, shown), response_format=SelectionAnswer
            )
            if not response.choices or response.choices[0].message.parsed is None:
                raise PosterError("the answer held no message")
            raw = response.choices[0].message.content or ""
            selection = check(response.choices[0].message.parsed, poster, shown)
        except pydantic.ValidationError as error:
            problem = f"the answer does not follow the schema ({error.errors()[0]['msg']})"
        except PosterError as error:
            problem = str(error)
        except openai.OpenAIError as error:
            problem = f"the request failed ({type(error).__name__})"
        except (ValueError, TypeError):  # a reply that is not a chat-completions answer at all
            problem = "the reply was not a chat-completions answer"
        else:
            record["attempts"].append({"answer": raw, "problem": None})
            selection.record = record
            return selection
        record["attempts"].append({"answer": raw[:4000], "problem": problem})
    raise SelectionFailed(record)


class SelectionFailed(PosterError):
    """No answer passed the checks; `record` holds every attempt and its problem."""

    def __init__(self, record: dict[str, Any]) -> None:
        problems = "; ".join(a["problem"] for a in record["attempts"])
        super().__init__(f"the vision LLM gave no usable selection ({problems})")
        self.record = record


def is_text(poster: Poster, layer_id: int) -> bool:
    return poster.layer(layer_id).kind == LayerKind.TEXT
