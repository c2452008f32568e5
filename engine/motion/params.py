"""Engine parameters, declared once by each engine and read by every surface.

A `ParamSpec` says what one parameter is (kind, default, range or choices, label, help)
and checks a value against it. The editor builds its motion panel from an engine's specs,
the command line validates `--param name=value` with them and the planners describe them
to the LLM, so a new parameter is added in one place: where the engine declares it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from engine.core.poster import PosterError

KINDS = ("float", "int", "choice", "bool", "text")
_TRUE, _FALSE = ("true", "yes", "on"), ("false", "no", "off")


@dataclass(frozen=True)
class ParamSpec:
    """One engine parameter: its kind, default, allowed range or choices, label and help text.

    `name` and `label` may be left empty where a spec is written before its name is known
    (a shared helper such as `amplitude()`); `named` fills them in. `choices` are canonical
    lowercase ids; the choice "auto" means "chosen from the prompt" (the editor re-suggests
    the other parameters when the prompt changes). A `text` parameter takes any string up
    to `max` characters.
    """

    kind: str  # "float" | "int" | "choice" | "bool" | "text"
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    name: str = ""
    label: str = ""
    choice_labels: tuple[str, ...] = ()  # what a menu shows for each choice (default: the ids)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"ParamSpec kind must be one of {KINDS}, not {self.kind!r}")
        if self.kind in ("float", "int") and (self.min is None or self.max is None):
            raise ValueError(f"A {self.kind} ParamSpec needs min and max")
        if self.kind == "choice" and not self.choices:
            raise ValueError("A choice ParamSpec needs choices")
        if self.choice_labels and len(self.choice_labels) != len(self.choices):
            raise ValueError("A ParamSpec needs one choice label per choice")

    def menu(self) -> list[tuple[str, str]]:
        """(label, value) per choice, as a dropdown lists them."""
        return list(zip(self.choice_labels or self.choices, self.choices))

    def check(self, value: Any, owner: str = "") -> Any:
        """The value in canonical form, or a PosterError naming the parameter and its range.

        `owner` says whose parameter it is in the message ("preset 'bob'", "the dmdl engine").
        """
        where = f"Parameter '{self.name}'" + (f" of {owner}" if owner else "")
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
                return value.strip().lower() in _TRUE
            if isinstance(value, (int, np.integer)) and value in (0, 1):
                return bool(value)
            raise PosterError(f"{where} must be true or false; got {value!r}.")
        if self.kind == "choice":
            text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
            if text not in self.choices:
                raise PosterError(f"{where} must be one of {', '.join(self.choices)}; got {value!r}.")
            return text
        if self.kind == "text":
            if not isinstance(value, str):
                raise PosterError(f"{where} must be text; got {value!r}.")
            if self.max is not None and len(value) > self.max:
                raise PosterError(f"{where} must be at most {self.max:g} characters long; got {len(value)}.")
            return value
        number = self._number(where, value)
        if self.kind == "int":
            if number != int(number):
                raise PosterError(f"{where} must be a whole number from {self.min:g} to {self.max:g}; got {value!r}.")
            number = int(number)
        if not self.min <= number <= self.max:
            unit = "a whole number" if self.kind == "int" else "a number"
            raise PosterError(f"{where} must be {unit} from {self.min:g} to {self.max:g}; got {value!r}.")
        return number

    def describe(self) -> str:
        """One line for people and LLM prompts: name, kind, range or choices, default."""
        if self.kind in ("float", "int"):
            allowed = f"{self.kind} {self.min:g}..{self.max:g}"
        elif self.kind == "choice":
            allowed = "|".join(self.choices)
        else:
            allowed = self.kind
        return f"{self.name} ({allowed}, default {self.default!r})"

    def _number(self, where: str, value: Any) -> float:
        if isinstance(value, (bool, np.bool_)):
            raise PosterError(f"{where} must be a number from {self.min:g} to {self.max:g}; got {value!r}.")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise PosterError(f"{where} must be a number from {self.min:g} to {self.max:g}; got {value!r}.") from None
        if not math.isfinite(number):
            raise PosterError(f"{where} must be a finite number from {self.min:g} to {self.max:g}; got {value!r}.")
        return number


def default_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def named(specs: Mapping[str, ParamSpec], labels: Mapping[str, str] | None = None) -> dict[str, ParamSpec]:
    """The specs keyed by name with `name` (and a `label`, unless set) filled in from the key."""
    labels = labels or {}
    return {
        key: dataclasses.replace(spec, name=key, label=spec.label or labels.get(key) or default_label(key))
        for key, spec in specs.items()
    }


def validate(specs: Iterable[ParamSpec], values: Mapping[str, Any] | None, owner: str) -> dict[str, Any]:
    """Defaults filled in, every value checked; an unknown name is an error, never ignored."""
    by_name = {spec.name: spec for spec in specs}
    values = dict(values or {})
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise PosterError(
            f"{owner[:1].upper()}{owner[1:]} has no parameter '{unknown[0]}'. "
            f"Its parameters are: {', '.join(by_name)}."
        )
    result = {name: spec.default for name, spec in by_name.items()}
    for name, value in values.items():
        result[name] = by_name[name].check(value, owner)
    return result


__all__ = ["KINDS", "ParamSpec", "default_label", "named", "validate"]
