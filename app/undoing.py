"""Undo and Redo: step the session's history (app.history) and show the result.

The project goes back to the snapshot (app.persist.restore_snapshot); the layer the step
touched becomes the one being edited, so the panel shows what changed back; the poster
preview is composited again from the clips when the step changed a clip (undoing an
Animate shows the previous take at once).
"""

from __future__ import annotations

from app import history
from app.animating import poster_preview
from app.persist import restore_snapshot
from app.replies import View, guarded, ok, require_poster
from app.session import Session
from app.views import selection_view


@guarded
def undo(session: Session) -> View:
    """The ↶ button and Ctrl+Z: back one step."""
    return _step(session, back=True)


@guarded
def redo(session: Session) -> View:
    """The ↷ button, Ctrl+Shift+Z and Ctrl+Y: forward one step."""
    return _step(session, back=False)


def _step(session: Session, back: bool) -> View:
    state = session.state
    require_poster(state)
    before = dict(state.history.current or {})
    moved = state.history.undo() if back else state.history.redo()
    if moved is None:
        return {"status": "Nothing to undo." if back else "Nothing to redo."}
    label, snapshot = moved
    try:
        restore_snapshot(session, snapshot)
    except BaseException:  # the project is as it was: so is the history
        (state.history.redo if back else state.history.undo)()
        raise
    touched = history.touched_layers(before, snapshot)
    if touched and state.active not in touched:
        layer_id = touched[0]
        if layer_id not in state.selection:
            state.selection.append(layer_id)
        state.active = layer_id
    view = selection_view(session)
    view["timeline"] = (state.fps, state.duration_s)
    view["status"] = ok(f"{'Undid' if back else 'Redid'} the {label}.")
    if history.clips_changed(before, snapshot):
        view["preview"] = poster_preview(session)
        view["layer_preview"] = None
    return view
