"""One schema for every manifest the product writes: project files, autosave, bundles.

A project file's `project.json`, the editor's autosave `editor.json` and a layered
bundle's `manifest.json` are all described here, as pydantic models, and written and read
only through `dump` and `load`. The models are built from the engine's own dataclasses
(`Layer`, `Motion`, `Timeline`, `Box`), so a new field of a layer or a motion is added in
one place, its dataclass, and every file carries it from then on.

Every document names its `format` and its `schema_version`. Older versions are brought up
to date by `MIGRATIONS` (pure functions of the JSON, one per version step) before
validation; a newer version is refused with a sentence saying to update the editor.
Pixels never live in a manifest: entries name the archive members that hold them.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, Callable, Literal, Mapping, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from engine.core.jsonable import json_default
from engine.core.poster import Box, Layer, PosterError
from engine.core.project import AUTO_PRESET, Motion, Timeline

#: Bump when a manifest changes meaning, and add the step to MIGRATIONS.
SCHEMA_VERSION = 5

PROJECT_FORMAT = "poster-animator-project"
AUTOSAVE_FORMAT = "poster-animator-autosave"
BUNDLE_FORMAT = "poster-animator-bundle"

#: What a document is called in a sentence to the designer.
_KIND_NAMES = {PROJECT_FORMAT: "project", AUTOSAVE_FORMAT: "autosave", BUNDLE_FORMAT: "bundle manifest"}


class _Entry(BaseModel):
    """Strict by default: a key this version does not know means a damaged or foreign file."""

    model_config = ConfigDict(extra="forbid")


def _fields_of(cls: type, skip: set[str]) -> dict[str, Any]:
    """A dataclass's fields as pydantic field definitions (type, default), minus `skip`."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=f.default_factory)
        else:
            default = ...
        out[f.name] = (hints[f.name], default)
    return out


# ------------------------------------------------------------------ shared entries

#: A layer as manifests describe it: every field of `Layer` except its pixels, which a
#: project file keeps in the archive member named by `pixels`.
LayerFields = _fields_of(Layer, skip={"pixels"})
LayerEntry = create_model("LayerEntry", __base__=_Entry, **LayerFields, pixels=(str, ...))


class StepEntry(_Entry):
    """One step of a sequence clip as it played (engine.core.clip.SequenceStep)."""

    preset: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    #: A fade played with the step's motion over the same span.
    fade: Literal["", "in", "out"] = ""
    #: A second motion played at the same time ("bobs and spins"), and its settings; optional,
    #: so files written before it still read the same.
    together: str = ""
    together_params: dict[str, Any] = Field(default_factory=dict)
    phase: Literal["in", "loop", "out"] = "loop"
    start: int = Field(0, ge=0)
    duration: int | None = Field(None, ge=1)


class ClipEntry(_Entry):
    """A generated clip: who made it and how, and the member holding its frames."""

    layer_id: int
    box: Box
    engine: str = "presets"
    preset: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    messages: list[str] = Field(default_factory=list)
    frames: str
    frame_count: int = Field(ge=1)
    #: How the frames are stored (engine.core.clipstore.ENCODING: one deflated member per
    #: frame under the folder `frames`); None: one .npy array, as schema 1 and 2 wrote.
    encoding: str | None = None
    loop_mode: str = "loop"
    #: When the motion plays on the timeline (engine.core.clip.Timing), as it was rendered.
    phase: Literal["in", "loop", "out"] = "loop"
    start: int = Field(0, ge=0)
    duration: int | None = Field(None, ge=1)
    #: A sequence's steps ("pops in, then floats"); empty for one motion. Then preset,
    #: params and phase are the first step's and the timing spans the whole sequence.
    steps: list[StepEntry] = Field(default_factory=list)


class PosterEntry(_Entry):
    name: str
    width: int
    height: int
    unsupported: list[str] = Field(default_factory=list)
    layers: list[LayerEntry]  # type: ignore[valid-type]


# ------------------------------------------------------------------ the three documents


class ProjectManifest(_Entry):
    """`project.json` of a `.posterproj`: the whole editing session, pixels in members."""

    format: Literal["poster-animator-project"] = PROJECT_FORMAT
    schema_version: int = SCHEMA_VERSION
    source: str | None = None
    timeline: Timeline
    poster: PosterEntry
    motions: list[Motion] = Field(default_factory=list)
    clips: list[ClipEntry] = Field(default_factory=list)
    #: Linked layers (engine.core.links), follower id -> owner id; absent in files written
    #: before links existed: then they are detected again from the poster.
    links: dict[int, int] | None = None
    unlinked: list[int] = Field(default_factory=list)


class AutosaveManifest(_Entry):
    """The editor's `editor.json`: a project without pixels (the poster is re-read from
    `source`) plus what the designer had selected."""

    format: Literal["poster-animator-autosave"] = AUTOSAVE_FORMAT
    schema_version: int = SCHEMA_VERSION
    source: str
    timeline: Timeline
    motions: list[Motion] = Field(default_factory=list)
    clips: list[ClipEntry] = Field(default_factory=list)
    selection: list[int] = Field(default_factory=list)
    active: int | None = None
    links: dict[int, int] | None = None  # as in ProjectManifest
    unlinked: list[int] = Field(default_factory=list)


class BundleMotion(_Entry):
    engine: str
    preset: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    clip_frames: int
    loop_mode: str = "loop"
    #: When the motion plays: "in" ends on the layer's still image, "loop" and "out" start
    #: on it; from frame `start` for `duration` frames (None: a loop to the end).
    phase: Literal["in", "loop", "out"] = "loop"
    start: int = Field(0, ge=0)
    duration: int | None = Field(None, ge=1)
    #: A sequence's steps, each with its preset and timing; absent for one motion.
    steps: list[StepEntry] = Field(default_factory=list)


class Size(_Entry):
    w: int
    h: int


#: One layer of a bundle: the layer's own fields (its box in poster pixels) plus where it
#: sits in the stack, its files, and for an animated layer its motion box and motion.
BundleLayer = create_model(
    "BundleLayer", __base__=_Entry, **LayerFields,
    z=(int, ...), animated=(bool, ...), files=(dict[str, str], ...),
    motion_box=(Box | None, None), webm_size=(Size | None, None), motion=(BundleMotion | None, None),
)


class Canvas(_Entry):
    width: int
    height: int


class BundleGroup(_Entry):
    path: list[str]
    layer_ids: list[int]


class BundleManifest(_Entry):
    """`manifest.json` of a layered bundle: enough for another tool to rebuild the poster."""

    format: Literal["poster-animator-bundle"] = BUNDLE_FORMAT
    schema_version: int = SCHEMA_VERSION
    poster: str
    canvas: Canvas
    fps: int | float
    frames: int
    duration_seconds: float
    background: str
    preview: str
    layers: list[BundleLayer]  # type: ignore[valid-type]
    groups: list[BundleGroup] = Field(default_factory=list)
    #: Animated layers that move with another one (a title's shadow): follower id -> owner id.
    links: dict[int, int] = Field(default_factory=dict)


Document = TypeVar("Document", ProjectManifest, AutosaveManifest, BundleManifest)


# ------------------------------------------------------------------ migrations

#: Reads what an old document kept outside its JSON (schema-1 autosaves kept each clip's
#: settings inside the clip file): member name -> that member's settings.
LegacyReader = Callable[[str], Mapping[str, Any]]


def _box_dict(value: Any) -> Any:
    """Schema 1 wrote boxes as [x, y, w, h]; schema 2 writes {"x", "y", "w", "h"}."""
    if isinstance(value, (list, tuple)) and len(value) == 4:
        return dict(zip(("x", "y", "w", "h"), value))
    return value


def _motion_v1(entry: dict[str, Any]) -> dict[str, Any]:
    """The preset moves into the engine parameters (`params["preset"]`); Auto is absent."""
    entry = dict(entry)
    preset = entry.pop("preset", None)
    params = dict(entry.get("params") or {})
    if preset not in (None, AUTO_PRESET):
        params["preset"] = preset
    entry["params"] = params
    entry["box"] = _box_dict(entry.get("box"))
    return entry


def _clip_v1(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "box": _box_dict(entry["box"])}


def _project_v1(doc: dict[str, Any], _legacy: LegacyReader | None) -> dict[str, Any]:
    poster = dict(doc["poster"])
    poster["layers"] = [{**layer, "box": _box_dict(layer["box"])} for layer in poster["layers"]]
    return {
        **doc, "schema_version": 2, "poster": poster,
        "motions": [_motion_v1(m) for m in doc["motions"]],
        "clips": [_clip_v1(c) for c in doc["clips"]],
    }


def _autosave_v1(doc: dict[str, Any], legacy: LegacyReader | None) -> dict[str, Any]:
    """Schema-1 autosaves: per-layer motions keyed by id, a duration in seconds, clip
    settings inside each `clip-<id>.npz`."""
    fps = int(doc["fps"])
    motions = [_motion_v1({**m, "layer_ids": [int(k)]}) for k, m in doc.get("motions", {}).items()]
    clips = []
    for layer_id in doc.get("clips", []):
        member = f"clip-{int(layer_id)}.npz"
        if legacy is None:
            raise ValueError("a schema-1 autosave needs its clip files to be read")
        try:
            meta = dict(legacy(member))
        except FileNotFoundError:
            continue  # the clip file never made it to disk: that layer is animated again
        clips.append(_clip_v1({**meta, "layer_id": int(layer_id), "frames": member}))
    return {
        "format": AUTOSAVE_FORMAT, "schema_version": 2, "source": doc["source"],
        "timeline": {"fps": fps, "frames": max(1, int(round(fps * float(doc["duration_s"]))))},
        "motions": motions, "clips": clips,
        "selection": doc.get("selection", []), "active": doc.get("active"),
    }


def _bundle_v1(doc: dict[str, Any], _legacy: LegacyReader | None) -> dict[str, Any]:
    doc = {key: value for key, value in doc.items() if key != "version"}
    return {**doc, "schema_version": 2}


def _v2(doc: dict[str, Any], _legacy: LegacyReader | None) -> dict[str, Any]:
    """Schema 3 adds a clip's `encoding` (frames stored one per member) and `loop_mode`;
    a schema-2 clip is one .npy array that loops, which is what their defaults say."""
    return {**doc, "schema_version": 3}


def _motion_v3(entry: dict[str, Any]) -> dict[str, Any]:
    """A schema-3 motion held the static layer for `start_offset` frames and then looped:
    that is phase "loop" from `start` (the one name for when a motion begins)."""
    entry = dict(entry)
    start = entry.pop("start_offset", 0)
    return {**entry, "phase": entry.get("phase", "loop"), "start": int(start or 0)}


def _v3(doc: dict[str, Any], _legacy: LegacyReader | None) -> dict[str, Any]:
    """Schema 4 gives motions a phase, start and duration (start_offset becomes start) and
    clips and bundle layers the timing they played with (a schema-3 clip: a loop from 0)."""
    out = {**doc, "schema_version": 4}
    if "motions" in doc:
        out["motions"] = [_motion_v3(m) for m in doc["motions"]]
    return out


def _v4(doc: dict[str, Any], _legacy: LegacyReader | None) -> dict[str, Any]:
    """Schema 5 lets a clip list the steps of a sequence; a schema-4 clip is one motion."""
    return {**doc, "schema_version": 5}


#: format -> {version: the step from that version to the next}.
MIGRATIONS: dict[str, dict[int, Callable[[dict[str, Any], LegacyReader | None], dict[str, Any]]]] = {
    PROJECT_FORMAT: {1: _project_v1, 2: _v2, 3: _v3, 4: _v4},
    AUTOSAVE_FORMAT: {1: _autosave_v1, 2: _v2, 3: _v3, 4: _v4},
    BUNDLE_FORMAT: {1: _bundle_v1, 2: _v2, 3: _v3, 4: _v4},
}

_MODELS: dict[str, type[BaseModel]] = {
    PROJECT_FORMAT: ProjectManifest, AUTOSAVE_FORMAT: AutosaveManifest, BUNDLE_FORMAT: BundleManifest,
}


def _identify(doc: Any) -> tuple[str, int]:
    """The document's format and version; schema-1 autosaves and bundles said it differently."""
    if not isinstance(doc, dict):
        raise ValueError("a manifest is a JSON object")
    fmt = doc.get("format")
    if fmt is None and "duration_s" in doc and "version" in doc:
        fmt = AUTOSAVE_FORMAT  # schema-1 autosaves carried no format name
    version = doc.get("schema_version", doc.get("version"))
    if fmt not in _MODELS:
        raise _Foreign()
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("schema_version")
    return fmt, version


class _Foreign(ValueError):
    """Not one of our documents at all (a different message than damaged)."""


def migrate(doc: Any, legacy: LegacyReader | None = None) -> dict[str, Any]:
    """`doc` brought to SCHEMA_VERSION; PosterError for a newer one, ValueError for junk."""
    fmt, version = _identify(doc)
    if version > SCHEMA_VERSION:
        raise PosterError(
            f"This {_KIND_NAMES[fmt]} was saved by a newer version of the editor (format {version}; "
            f"this one reads up to {SCHEMA_VERSION}): update the editor to open it."
        )
    while version < SCHEMA_VERSION:
        doc = MIGRATIONS[fmt][version](doc, legacy)
        version += 1
    return doc


def load(data: bytes | str, model: type[Document], legacy: LegacyReader | None = None,
         name: str = "this file") -> Document:
    """Parse, migrate and validate one manifest as `model`.

    Raises PosterError: "not a poster project" for foreign JSON, "newer version" for a
    future schema, "damaged" for anything that does not validate. Nothing is built from a
    document that has not validated as a whole.
    """
    fmt = model.model_fields["format"].default
    what = _KIND_NAMES[fmt]
    try:
        doc = json.loads(data, parse_constant=_not_a_number, parse_float=_finite)
        if isinstance(doc, dict) and doc.get("format", fmt) != fmt:
            raise _Foreign()
        return model.model_validate(migrate(doc, legacy))  # type: ignore[return-value]
    except _Foreign:
        article = "an" if what[0] in "aeiou" else "a"
        raise PosterError(f"'{name}' is not {article} poster {what} saved by this editor.") from None
    except PosterError:
        raise
    except (ValueError, ValidationError, KeyError, TypeError, AttributeError, IndexError):
        # json.JSONDecodeError is a ValueError; ValidationError names fields, not a sentence
        raise PosterError(
            f"The {what} '{name}' is damaged or incomplete and cannot be opened; "
            "use an earlier copy or start again from the PSD."
        ) from None


def _not_a_number(text: str) -> float:
    """NaN and ±Infinity are not JSON; Python's reader accepts them unless told not to."""
    raise ValueError(f"{text} is not a number")


def _finite(text: str) -> float:
    """A JSON number as a float, refusing ones too large to be finite (1e999)."""
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is not a finite number")
    return value


def dump(document: BaseModel, *, indent: int | None = 1) -> str:
    """The manifest as JSON text; PosterError when a setting is not a plain JSON value.

    Engine parameters come with numpy scalars and tuples in them; they are stored as plain
    numbers and lists. Fields left unset in a bundle layer (no motion box on a static
    layer) are left out rather than written as null.
    """
    exclude_unset = isinstance(document, BundleManifest)
    try:
        data = document.model_dump(mode="python", exclude_unset=exclude_unset)
        if exclude_unset:  # the top-level identity is always written
            data = {"format": document.format, "schema_version": document.schema_version, **data}
        return json.dumps(data, indent=indent, allow_nan=False, default=_plain)
    except (TypeError, ValueError) as error:
        raise PosterError(f"{_UNSAVEABLE[document.format]} ({error}).") from None


_UNSAVEABLE = {
    PROJECT_FORMAT: "This project holds a setting that cannot be saved",
    AUTOSAVE_FORMAT: "This session holds a setting that cannot be saved",
    BUNDLE_FORMAT: "A motion setting cannot be written to the bundle",
}


def _plain(value: Any) -> Any:
    if isinstance(value, Box):
        return dataclasses.asdict(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    return json_default(value)
