"""Linked layers: a shadow, glow or outline that belongs to another layer and moves with it.

Designers draw a title's shadow, a balloon's shadow or a sun's glow as a layer of its own.
Animating the title alone would leave its shadow behind as a dark ghost, so each such
layer (a *follower*) is linked to the layer it belongs to (its *owner*), and animating the
owner animates the follower with the same motion (engine.motion.follow).

A link is found from three clues, and each link says which ones it rests on:

- **name**: the layer is *named* as an effect of another: "Title Shadow", "shadow of
  title", "Title copy glow", "Balloon_shadow 2". The effect word must be what the name is
  about (its last word, or followed by "of"): "Shadow Box" is a box, not a shadow.
- **group**: the follower sits in the same group as the owner, next to it in the stack.
- **geometry**: their boxes overlap with a similar size and a small offset.

A named link needs nothing more ("Fish Shadow" lies on the sand, far below the fish). A
layer named only by its role ("Shadow", "Glow") needs both the group and the geometry
clue. Two unrelated layers that merely overlap are never linked: a follower always names
its role. The project keeps the links it detected and the designer's unlinks
(engine.core.project.Project.links / unlinked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from engine.core.poster import Box, Layer, Poster

#: Words that make a layer an effect of another one (singular forms).
EFFECT_WORDS = ("shadow", "glow", "outline", "stroke", "highlight", "reflection")
#: Words that may qualify an effect word without changing what the layer is.
_QUALIFIERS = {"drop", "outer", "inner", "soft", "cast", "long", "copy", "the", "a"}
_PREPOSITIONS = {"of", "for", "under", "behind", "on"}
#: A follower's clip carries its owner's id in its params under this key (the rest of its
#: params are the owner's), so files and bundles say which clips follow which layer.
FOLLOWS_PARAM = "follows"


@dataclass(frozen=True)
class Link:
    """`follower` moves with `owner`; `reasons` are the clues, for the designer to read."""

    follower: int
    owner: int
    reasons: tuple[str, ...]


def _words(name: str) -> list[str]:
    """Lower-case words of a layer name without numbers or "copy" ("Title copy 2" -> title)."""
    words = re.findall(r"[a-z]+", name.lower().replace("_", " "))
    return [w[:-1] if w.endswith("s") and w[:-1] in EFFECT_WORDS else w for w in words if w != "copy"]


def effect_role(name: str) -> tuple[str, str] | None:
    """(effect word, the base name it belongs to) when `name` names an effect layer.

    "Title Shadow" -> ("shadow", "title"); "shadow of the title" -> ("shadow", "title");
    "Glow" -> ("glow", ""); "Shadow Box" -> None (the name is about a box).
    """
    words = _words(name)
    meaningful = [w for w in words if w not in _QUALIFIERS]
    if not meaningful:
        return None
    if meaningful[-1] in EFFECT_WORDS:
        base = [w for w in meaningful[:-1] if w not in EFFECT_WORDS]
        return meaningful[-1], " ".join(base)
    for i, word in enumerate(words[:-1]):
        if word in EFFECT_WORDS and words[i + 1] in _PREPOSITIONS:
            base = [w for w in words[i + 2:] if w not in _QUALIFIERS and w not in EFFECT_WORDS]
            return word, " ".join(base)
    return None


def _key(name: str) -> str:
    return " ".join(_words(name))


def centroid(layer: Layer) -> tuple[float, float]:
    """The layer's alpha-weighted centre in poster pixels (its box centre when empty)."""
    alpha = layer.pixels[..., 3].astype(np.float64)
    total = alpha.sum()
    if total <= 0:
        return layer.box.x + layer.box.w / 2, layer.box.y + layer.box.h / 2
    ys, xs = np.indices(alpha.shape, dtype=np.float64)
    return (layer.box.x + float((alpha * (xs + 0.5)).sum() / total),
            layer.box.y + float((alpha * (ys + 0.5)).sum() / total))


def _geometry_close(a: Box, b: Box) -> bool:
    """Overlapping boxes of similar size whose centres are close (a shadow's small offset)."""
    if a.intersection(b).is_empty:
        return False
    ratio_w, ratio_h = a.w / max(b.w, 1), a.h / max(b.h, 1)
    if not (0.5 <= ratio_w <= 2.0 and 0.5 <= ratio_h <= 2.0):
        return False
    dx = abs((a.x + a.w / 2) - (b.x + b.w / 2))
    dy = abs((a.y + a.h / 2) - (b.y + b.h / 2))
    return dx <= 0.35 * max(a.w, b.w) and dy <= 0.35 * max(a.h, b.h)


def _distance(a: Box, b: Box) -> float:
    return float(np.hypot((a.x + a.w / 2) - (b.x + b.w / 2), (a.y + a.h / 2) - (b.y + b.h / 2)))


def _owner_by_name(follower: Layer, base: str, layers: list[Layer], index: dict[int, int]) -> tuple[Layer, list[str]] | None:
    """The layer (or the member of the group) the follower's name points at."""
    named = [layer for layer in layers if _key(layer.name) == base]
    if named:
        # the same group first, then the nearest in the stack
        named.sort(key=lambda l: (l.group_path != follower.group_path, abs(index[l.id] - index[follower.id])))
        return named[0], [f"its name says it belongs to '{named[0].name}'"]
    group_members = [layer for layer in layers if layer.group_path and _key(layer.group_path[-1]) == base]
    if group_members:  # "Flower Shadow" in the group "Flower": the member it lies under
        best = min(group_members, key=lambda l: _distance(l.box, follower.box) / max(l.box.w * l.box.h, 1) ** 0.5)
        return best, [f"its name says it belongs to the group '{best.group_path[-1]}'",
                      f"'{best.name}' is the member it overlaps most closely"]
    return None


def _beside(owner: Layer) -> str:
    where = f"in the group '{owner.group_path[-1]}'" if owner.group_path else "in the stack"
    return f"it sits right next to it {where}"


def detect_links(poster: Poster) -> dict[int, Link]:
    """Every follower of the poster (by layer id) with its owner and the clues found."""
    layers = list(poster.layers)
    index = {layer.id: i for i, layer in enumerate(layers)}
    roles = {layer.id: effect_role(layer.name) for layer in layers}
    owners_allowed = [layer for layer in layers if roles[layer.id] is None]
    links: dict[int, Link] = {}
    for follower in layers:
        role = roles[follower.id]
        if role is None:
            continue
        _effect, base = role
        candidates = [layer for layer in owners_allowed if layer.id != follower.id]
        found = _owner_by_name(follower, base, candidates, index) if base else None
        if found is not None:
            owner, reasons = found
            if owner.group_path == follower.group_path and abs(index[owner.id] - index[follower.id]) == 1:
                reasons.append(_beside(owner))
            if _geometry_close(owner.box, follower.box):
                reasons.append("their boxes overlap with a small offset")
            links[follower.id] = Link(follower.id, owner.id, tuple(reasons))
            continue
        if base:
            continue  # named after a layer this poster does not have: not a guess
        neighbours = [layer for layer in candidates
                      if layer.group_path == follower.group_path and abs(index[layer.id] - index[follower.id]) == 1
                      and _geometry_close(layer.box, follower.box)]
        if neighbours:  # a bare "Shadow" sits under what casts it: prefer the layer above
            owner = max(neighbours, key=lambda l: index[l.id])
            links[follower.id] = Link(follower.id, owner.id, (
                _beside(owner), "their boxes overlap with a small offset"))
    return links


def active_followers(links: dict[int, int], unlinked: set[int] | list[int]) -> dict[int, list[int]]:
    """owner -> its followers that still follow it (the designer's unlinks removed)."""
    out: dict[int, list[int]] = {}
    skip = set(unlinked)
    for follower, owner in sorted(links.items()):
        if follower not in skip:
            out.setdefault(owner, []).append(follower)
    return out


def describe(link_owner: str, follower: str) -> str:
    """The one sentence the editor uses for a link."""
    return f"{follower} moves with {link_owner}"
