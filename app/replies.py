"""What every handler returns, and the guard that turns failures into messages.

A handler returns a `View`: a dict naming only the panels that changed (app/ui.py maps
the keys onto components). It never raises to the page: designer mistakes and engine
failures come back as a sentence in "status", with "error" set, and the work is kept.
"""

from __future__ import annotations

import functools
import logging
import traceback
from typing import Any, Callable

from app.session import Session
from app.state import EditorState
from engine.core.poster import Poster, PosterError

log = logging.getLogger(__name__)

View = dict[str, Any]
Report = Callable[[float, str], None]


def quiet(_fraction: float, _desc: str = "") -> None:
    return None


def ok(text: str) -> str:
    return f"✓ {text}"


def problem(text: str) -> str:
    return f"⚠ {text}"


def guarded(handler: Callable[..., View] | None = None, *, lock: bool = True):
    """Turn any failure into a message for the page and keep the designer's work.

    PosterError messages are written for designers and shown as they are. Anything else
    is a bug or an engine crash: logged with its traceback for us, summarised for them.
    With lock=True the whole handler runs under the session lock; long handlers pass
    lock=False and lock only around their reads and writes of the state.
    """
    if handler is None:
        return functools.partial(guarded, lock=lock)

    @functools.wraps(handler)
    def wrapper(session: Session, *args: Any, **kwargs: Any) -> View:
        try:
            if lock:
                with session.lock:
                    return handler(session, *args, **kwargs)
            return handler(session, *args, **kwargs)
        except PosterError as error:
            return {"status": problem(str(error)), "error": True}
        except Exception as error:  # noqa: BLE001 - the page must get a sentence, not a 500
            log.error("handler %s failed:\n%s", handler.__name__, traceback.format_exc())
            return {"status": problem(
                f"Something went wrong ({type(error).__name__}: {error}). Your work is kept; "
                "try again, and if it repeats, save the project and report it."
            ), "error": True}

    return wrapper


def require_poster(state: EditorState) -> Poster:
    if state.poster is None:
        raise PosterError("Open a poster first.")
    return state.poster
