"""Which reply may still set the status line, when replies arrive out of order.

Replies reach the page in the order their handlers finish, not the order the designer
acted: on a busy server the reply to an edit made just before pressing Export
("Timeline: 24 frames at 12 fps") can land after Export's own message and wipe it from
under the button, so the press seems to have done nothing. A background reply (an edit's
or the live preview's, which the designer did not wait for) therefore keeps its status
only if nothing has been said since its handler started; the reply to a button always
speaks, and marks the moment it did.
"""

from __future__ import annotations

import threading


class MessageOrder:
    """Tickets in the order handlers start (or buttons' replies are sent), per session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued = 0
        self._said = 0

    def ticket(self) -> int:
        """A number larger than every ticket handed out before."""
        with self._lock:
            self._issued += 1
            return self._issued

    def may_say(self, ticket: int, background: bool) -> bool:
        """Whether the reply of the handler holding `ticket` may set the status; if so, it
        counts as said. A background reply may not once a later ticket has spoken."""
        with self._lock:
            if background and ticket < self._said:
                return False
            self._said = max(self._said, ticket)
            return True
