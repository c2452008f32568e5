"""What the editor says about linked layers and hidden layers: plain functions of the state.

A linked layer (a title's shadow) moves with the layer it belongs to (engine.core.links,
engine.motion.follow). The layer list marks it, the motion panel says so and offers to
unlink it or link it again, and Animate's status names who moved with whom.
"""

from __future__ import annotations

from typing import Iterable

from engine.core.links import describe
from app.state import EditorState


def follows_label(state: EditorState, layer_id: int) -> str:
    """The layer list's suffix: " ↳ follows Title", " (unlinked from Title)", or ""."""
    project = state.project
    if project is None or layer_id not in (project.links or {}):
        return ""
    owner = state.layer(project.links[layer_id]).name
    return f" (unlinked from {owner})" if layer_id in project.unlinked else f" ↳ follows {owner}"


def link_note(state: EditorState, layer_id: int | None) -> tuple[str, str | None]:
    """The motion panel's sentence about the layer's links, and the button's label (None: no button)."""
    project = state.project
    if project is None or layer_id is None:
        return "", None
    layer_id = int(layer_id)
    name = state.layer(layer_id).name
    links = project.links or {}
    if layer_id in links:
        owner = state.layer(links[layer_id]).name
        if layer_id in project.unlinked:
            return (f"{name} is unlinked from {owner}: it stays still when {owner} moves.", "Link again")
        return (f"{describe(owner, name)}: animating {owner} animates it with the same motion.",
                f"Unlink from {owner}")
    followers = project.followers().get(layer_id, [])
    if followers:
        names = ", ".join(state.layer(f).name for f in followers)
        verb = "moves" if len(followers) == 1 else "move"
        return f"{names} {verb} with {name}.", None
    return "", None


def hidden_warnings(state: EditorState, ids: Iterable[int]) -> list[str]:
    """A sentence for each animated layer that the PSD hides.

    Hidden layers are not drawn by the compositor (the preview and the flat videos leave
    them out) but their clips are written to the layered bundle, marked hidden.
    """
    out = []
    for layer_id in ids:
        layer = state.layer(layer_id)
        if not layer.visible:
            out.append(f"'{layer.name}' is hidden in the PSD: it is animated, but the preview and the flat "
                       "video leave it out (the layered bundle keeps its clip, marked hidden); make it "
                       "visible in the PSD and open it again to see it.")
    return out
